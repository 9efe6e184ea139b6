package features_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// TestTrackConcurrentWithRevocation revokes model_training with deletion
// while signals offered for it are being tracked on another server. Every
// revocation deletes the model_training data collected so far; a Track that
// read the consent before a revocation and wrote after it would leave a
// model_training signal behind. After the last revocation no signal may hold
// it, and every reported result must match what is stored.
func TestTrackConcurrentWithRevocation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	tracker := f.otherServer(t)
	p := f.customer("customer-1")
	f.apply(t, p, t0.Add(-day), grant(consent.Personalization))

	const (
		rounds    = 20
		maxTracks = 3000 // bounds the test if revocations keep conflicting
	)
	var (
		results  []features.TrackResult
		trackErr error
		done     = make(chan struct{})
		finished = make(chan struct{})
	)
	go func() {
		defer close(finished)
		for n := 0; n < maxTracks; n++ {
			select {
			case <-done:
				return
			default:
			}
			res, err := tracker.store.Track(ctx, p, []features.SignalInput{
				view(fmt.Sprintf("sku-%d", n), t0.Add(-time.Minute), consent.Personalization, consent.ModelTraining),
			}, t0)
			if errors.Is(err, features.ErrConflict) {
				continue // nothing was stored; a caller would retry
			}
			if err != nil {
				trackErr = err
				return
			}
			results = append(results, res...)
		}
	}()
	// change applies one choice, retrying on ErrConflict as a caller would
	// (the tracker's bounded loop guarantees it eventually succeeds).
	change := func(at time.Time, ch consent.Choice) error {
		for {
			_, err := f.store.ApplyConsent(ctx, p, consent.Change{Choices: []consent.Choice{ch}, NoticeVersion: "v", Method: consent.MethodUI, At: at})
			if !errors.Is(err, features.ErrConflict) {
				return err
			}
		}
	}
	var applyErr error
	for i := range rounds {
		at := t0.Add(-day + time.Duration(i)*time.Minute)
		if applyErr = change(at, grant(consent.ModelTraining)); applyErr != nil {
			break
		}
		if applyErr = change(at.Add(time.Second), consent.Choice{Purpose: consent.ModelTraining, DeleteData: true}); applyErr != nil {
			break
		}
	}
	close(done)
	<-finished
	if applyErr != nil || trackErr != nil {
		t.Fatalf("ApplyConsent: %v; Track: %v", applyErr, trackErr)
	}

	stored := f.signals(t, p)
	var withTraining int
	for _, r := range results {
		if !r.Stored {
			t.Fatalf("a signal with personalization granted was dropped: %+v", r)
		}
		s, ok := stored[r.SignalID]
		if !ok {
			t.Fatalf("signal %s was reported stored but is not", r.SignalID)
		}
		if r.StoredPurposes.Has(consent.ModelTraining) {
			withTraining++
		}
		if s.Purposes.Has(consent.ModelTraining) {
			t.Errorf("signal %s holds model_training after its revocation with deletion (reported %v)", s.ID, r.StoredPurposes.Names())
		}
		if !s.Purposes.Has(consent.Personalization) {
			t.Errorf("signal %s lost personalization", s.ID)
		}
	}
	if len(stored) != len(results) {
		t.Errorf("%d signals stored, %d reported", len(stored), len(results))
	}
	t.Logf("%d signals tracked, %d of them while model_training was granted", len(results), withTraining)
}

// TestTrackConcurrentKeepsLatestExpiry interleaves two Tracks of one
// customer on two servers deterministically: server A reads, then server B
// tracks a signal with a later expiry and commits, then A commits. The keys'
// TTL must still cover B's signal, or Redis deletes it before its retention
// ends.
func TestTrackConcurrentKeepsLatestExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	p := f.customer("customer-1")
	f.apply(t, p, t0.Add(-day), grant(consent.Personalization))

	opts, err := redis.ParseURL(f.r.URL)
	if err != nil {
		t.Fatal(err)
	}
	paused := redis.NewClient(opts)
	t.Cleanup(func() { _ = paused.Close() })
	hook := &pauseWrite{reached: make(chan struct{}), release: make(chan struct{})}
	paused.AddHook(hook)
	a := newServer(t, f.r, paused)
	b := f.otherServer(t)

	var resA []features.TrackResult
	var errA error
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		resA, errA = a.store.Track(ctx, p, []features.SignalInput{view("sku-a", t0, consent.Personalization)}, t0)
	}()
	select {
	case <-hook.reached:
	case <-finished:
		t.Fatalf("Track on server A finished without writing: %v", errA)
	}
	resB := b.track(t, p, t0, features.SignalInput{Type: "purchase", ItemID: "sku-b", OccurredAt: t0, Purposes: purposes(consent.Personalization)})
	close(hook.release)
	<-finished
	if errA != nil {
		t.Fatalf("Track on server A: %v", errA)
	}
	if !resA[0].Stored || !resB[0].Stored {
		t.Fatalf("results %+v, %+v; want both stored", resA, resB)
	}
	keys := f.keys.Customer(p)
	for _, k := range []string{keys.Signals} {
		at, err := f.rdb.PExpireTime(ctx, k).Result()
		if err != nil {
			t.Fatalf("PEXPIRETIME %s: %v", k, err)
		}
		if at > 0 && at < time.Duration(resB[0].ExpiresAt.UnixMilli())*time.Millisecond {
			t.Errorf("%s expires at %s, before the signal it holds that expires at %s", k,
				time.UnixMilli(int64(at/time.Millisecond)).UTC(), resB[0].ExpiresAt)
		}
	}
}

// pauseWrite holds the first transaction that sets a TTL until released.
type pauseWrite struct {
	once             sync.Once
	reached, release chan struct{}
}

func (h *pauseWrite) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *pauseWrite) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *pauseWrite) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			if c.Name() == "pexpireat" {
				h.once.Do(func() {
					close(h.reached)
					<-h.release
				})
				break
			}
		}
		return next(ctx, cmds)
	}
}

// TestApplyConsentNotAbortedBySignalWrites records a consent change (without
// deletion, so it does not depend on the customer's signals) while another
// server stores a signal of the customer between every read and write of the
// change. The change must still be recorded: signal writes must not be able
// to keep a customer from changing their consent.
func TestApplyConsentNotAbortedBySignalWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	p := f.customer("customer-1")
	f.apply(t, p, t0.Add(-day), grant(consent.Personalization))
	writer := f.otherServer(t)

	opts, err := redis.ParseURL(f.r.URL)
	if err != nil {
		t.Fatal(err)
	}
	hooked := redis.NewClient(opts)
	t.Cleanup(func() { _ = hooked.Close() })
	hook := &trackBeforeWrite{tb: t, f: writer, p: p, max: 20}
	hooked.AddHook(hook)
	s := newServer(t, f.r, hooked)

	res, err := s.store.ApplyConsent(ctx, p, consent.Change{
		Choices:       []consent.Choice{revoke(consent.MarketingEmail)},
		NoticeVersion: "v", Method: consent.MethodUI, At: t0,
	})
	if err != nil {
		t.Fatalf("ApplyConsent with %d concurrent signal writes: %v", hook.n, err)
	}
	if res.State.Decisions[consent.MarketingEmail].Status != consent.StatusRefused {
		t.Errorf("state = %+v", res.State)
	}
	if st, err := f.store.Consent(ctx, p); err != nil || st.Decisions[consent.MarketingEmail].Status != consent.StatusRefused {
		t.Errorf("stored consent = %+v, %v", st, err)
	}
}

// trackBeforeWrite stores a signal through another server just before each
// transaction that appends to the consent ledger.
type trackBeforeWrite struct {
	tb  testing.TB
	f   *fixture
	p   features.Pseudonym
	max int
	n   int
}

func (h *trackBeforeWrite) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *trackBeforeWrite) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *trackBeforeWrite) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			if c.Name() == "rpush" && h.n < h.max {
				h.n++
				if _, err := h.f.store.Track(ctx, h.p, []features.SignalInput{view(fmt.Sprintf("sku-%d", h.n), t0, consent.Personalization)}, t0); err != nil {
					h.tb.Errorf("Track in hook: %v", err)
				}
				break
			}
		}
		return next(ctx, cmds)
	}
}
