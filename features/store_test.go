package features_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

func TestTrackWithoutConsentStoresNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.customer("customer-1")
	res := f.track(t, p, t0,
		view("sku-1", t0.Add(-time.Hour), consent.Personalization),
		features.SignalInput{Type: "purchase", ItemID: "sku-2", Purposes: purposes(consent.Support, consent.ModelTraining)},
	)
	wantNamed := [][]string{{"personalization (never asked)"}, {"support (never asked)", "model_training (never asked)"}}
	for i, r := range res {
		if r.Stored || r.SignalID != "" || !r.StoredPurposes.Empty() {
			t.Errorf("result %d = %+v, want dropped", i, r)
		}
		if !strings.HasPrefix(r.Reason, "not stored: no consent for ") {
			t.Errorf("result %d reason = %q", i, r.Reason)
		}
		for _, name := range wantNamed[i] {
			if !strings.Contains(r.Reason, name) {
				t.Errorf("result %d reason %q does not name %q", i, r.Reason, name)
			}
		}
	}
	if res[1].RefusedPurposes != consent.NewPurposeSet(consent.Support, consent.ModelTraining) {
		t.Errorf("refused purposes = %v", res[1].RefusedPurposes.Names())
	}
	if keys := f.r.Keys(t); len(keys) != 0 {
		t.Errorf("signals without consent created keys: %v", keys)
	}

	// A refusal and a withdrawal are named as such.
	f.apply(t, p, t0.Add(-2*time.Hour), grant(consent.Support), revoke(consent.Personalization))
	f.apply(t, p, t0.Add(-time.Hour), revoke(consent.Support))
	res = f.track(t, p, t0, features.SignalInput{Type: "purchase", ItemID: "sku-2", Purposes: purposes(consent.Personalization, consent.Support)})
	if res[0].Stored || !strings.Contains(res[0].Reason, "personalization (refused)") || !strings.Contains(res[0].Reason, "support (withdrawn)") {
		t.Errorf("result = %+v, want dropped naming refused and withdrawn", res[0])
	}
	if n := len(f.signals(t, p)); n != 0 {
		t.Errorf("%d signals stored without consent", n)
	}
}

func TestTrackStoresOnlyConsentedPurposes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.customer("customer-1")
	f.apply(t, p, t0.Add(-day), grant(consent.Personalization))
	occurred := t0.Add(-3*time.Hour + 123456789*time.Nanosecond)
	res := f.track(t, p, t0,
		view("sku-1", occurred, consent.Personalization, consent.ModelTraining),
		features.SignalInput{Type: "rating", ItemID: "sku-2", Purposes: purposes(consent.Personalization), OccurredAt: occurred, Value: 4},
	)

	narrowed := res[0]
	if !narrowed.Stored || narrowed.StoredPurposes != consent.NewPurposeSet(consent.Personalization) ||
		narrowed.RefusedPurposes != consent.NewPurposeSet(consent.ModelTraining) {
		t.Fatalf("result = %+v, want stored for personalization only", narrowed)
	}
	if want := "stored for personalization only; no consent for model_training (never asked)"; narrowed.Reason != want {
		t.Errorf("reason = %q, want %q", narrowed.Reason, want)
	}
	if asked := res[1]; !asked.Stored || asked.Reason != "" || !asked.RefusedPurposes.Empty() {
		t.Errorf("a signal stored as asked: %+v, want no reason", asked)
	}

	stored := f.signals(t, p)
	if len(stored) != 2 {
		t.Fatalf("stored %d signals, want 2", len(stored))
	}
	wantAt := occurred.Truncate(time.Millisecond)
	for i, r := range res {
		if !strings.HasPrefix(r.SignalID, "sig_") || !features.ValidID("sig_", r.SignalID) {
			t.Errorf("result %d: signal id %q", i, r.SignalID)
		}
		s, ok := stored[r.SignalID]
		if !ok {
			t.Fatalf("result %d: signal %s is not stored", i, r.SignalID)
		}
		retention := s.Type.Retention()
		if !s.OccurredAt.Equal(wantAt) || !s.ExpiresAt.Equal(wantAt.Add(retention)) || !r.ExpiresAt.Equal(s.ExpiresAt) {
			t.Errorf("result %d: occurred %s, expires %s (result %s); want %s and %s", i, s.OccurredAt, s.ExpiresAt, r.ExpiresAt, wantAt, wantAt.Add(retention))
		}
		if s.Purposes != consent.NewPurposeSet(consent.Personalization) {
			t.Errorf("result %d: stored with %v, want personalization only", i, s.Purposes.Names())
		}
	}
	if s := stored[res[1].SignalID]; s.Type != consent.Rating || s.ItemID != "sku-2" || s.Value != 4 {
		t.Errorf("rating stored as %+v", s)
	}

	// The key's expiry covers every signal, rounded up to a whole day so it
	// does not give away when the customer acted.
	keys := f.keys.Customer(p)
	at, err := f.rdb.PExpireTime(context.Background(), keys.Signals).Result()
	if err != nil {
		t.Fatal(err)
	}
	expiry := time.UnixMilli(int64(at / time.Millisecond)).UTC()
	latest := res[0].ExpiresAt
	for _, r := range res {
		if r.ExpiresAt.After(latest) {
			latest = r.ExpiresAt
		}
	}
	// (The embedded server keeps TTLs as durations, so its answer can be a
	// millisecond or two off.)
	if want := features.CeilDay(latest); want.Truncate(day) != want || expiry.Sub(want).Abs() > time.Second {
		t.Errorf("signals key expires at %s; want %s, a midnight on or after the last signal's expiry %s", expiry, want, latest)
	}
	// Signals are sealed: no item id, purpose or type name in their keys,
	// and no raw customer id anywhere.
	for k, v := range f.r.Dump(t) {
		if strings.Contains(k+v, "customer-1") {
			t.Errorf("key %s holds the raw customer id", k)
		}
		if k == keys.Consent {
			continue // its fields are purpose names; its values are sealed
		}
		for _, plain := range []string{"sku-1", "sku-2", "personalization", "rating", "view"} {
			if strings.Contains(v, plain) || strings.Contains(k, plain) {
				t.Errorf("key %s holds %q in the clear", k, plain)
			}
		}
	}
}

func TestTrackDropsExpiredSignals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.customer("customer-1")
	f.apply(t, p, t0.Add(-800*day), grant(consent.Personalization))
	res := f.track(t, p, t0,
		features.SignalInput{Type: "search", ItemID: "sku-old", Purposes: purposes(consent.Personalization), OccurredAt: t0.Add(-31 * day)},
		features.SignalInput{Type: "search", ItemID: "sku-edge", Purposes: purposes(consent.Personalization), OccurredAt: t0.Add(-30 * day)},
		features.SignalInput{Type: "purchase", ItemID: "sku-kept", Purposes: purposes(consent.Personalization), OccurredAt: t0.Add(-31 * day)},
	)
	for i, want := range []bool{false, false, true} {
		if res[i].Stored != want {
			t.Errorf("result %d stored = %v, want %v: %+v", i, res[i].Stored, want, res[i])
		}
	}
	for _, r := range res[:2] {
		if r.SignalID != "" || !strings.HasPrefix(r.Reason, "expired: search signals are kept for 30 days") {
			t.Errorf("expired result = %+v", r)
		}
	}
	stored := f.signals(t, p)
	if len(stored) != 1 || stored[res[2].SignalID].ItemID != "sku-kept" {
		t.Errorf("stored = %+v, want only sku-kept", stored)
	}
}

// TestSweepDeletesExpiredSignals checks that signals whose retention ended
// are deleted by the sweep, on every customer, and nothing else is.
func TestSweepDeletesExpiredSignals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	p, q := f.customer("customer-1"), f.customer("customer-2")
	for _, c := range []features.Pseudonym{p, q} {
		f.apply(t, c, t0.Add(-day), grant(consent.Personalization))
	}
	old := f.track(t, p, t0, features.SignalInput{Type: "search", ItemID: "sku-1", Purposes: purposes(consent.Personalization)})
	kept := f.track(t, p, t0, view("sku-2", t0, consent.Personalization))
	other := f.track(t, q, t0, features.SignalInput{Type: "search", ItemID: "sku-3", Purposes: purposes(consent.Personalization)})

	if n, err := f.store.SweepExpired(ctx, t0.Add(29*day)); err != nil || n != 0 {
		t.Fatalf("sweep before any retention ended deleted %d (%v)", n, err)
	}
	n, err := f.store.SweepExpired(ctx, t0.Add(30*day))
	if err != nil || n != 2 {
		t.Fatalf("sweep deleted %d (%v), want the two searches", n, err)
	}
	for _, r := range []features.TrackResult{old[0], other[0]} {
		for _, c := range []features.Pseudonym{p, q} {
			if ok, _ := f.rdb.HExists(ctx, f.keys.Customer(c).Signals, r.SignalID).Result(); ok {
				t.Errorf("expired signal %s is still stored", r.SignalID)
			}
		}
	}
	if s := f.signals(t, p); len(s) != 1 || s[kept[0].SignalID].ItemID != "sku-2" {
		t.Errorf("after the sweep customer 1 holds %+v; want the view only", s)
	}
}

func TestApplyConsentWritesStateAndLedger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	p := f.customer("customer-1")
	at := t0.Add(-time.Hour)
	res, err := f.store.ApplyConsent(ctx, p, consent.Change{
		Choices:       []consent.Choice{{Purpose: consent.Personalization, Granted: true, Sensitive: true}, revoke(consent.MarketingEmail)},
		NoticeVersion: " notice-v9 ",
		Method:        consent.MethodAPI,
		ActorRole:     "support_agent",
		At:            at,
	})
	if err != nil {
		t.Fatalf("ApplyConsent: %v", err)
	}
	if len(res.Recorded) != 2 || res.SignalsDeleted != 0 || res.SignalsNarrowed != 0 {
		t.Errorf("result = %+v", res)
	}
	// Another server reads the same state.
	other := f.otherServer(t)
	state, err := other.store.Consent(ctx, p)
	if err != nil {
		t.Fatalf("Consent: %v", err)
	}
	if state != res.State {
		t.Errorf("stored state = %+v, want %+v", state, res.State)
	}
	d := state.Decisions[consent.Personalization]
	if d.Status != consent.StatusGiven || !d.SensitiveGranted || !d.UpdatedAt.Equal(at) || d.NoticeVersion != "notice-v9" || d.Method != consent.MethodAPI {
		t.Errorf("personalization decision = %+v", d)
	}
	if st := state.Decisions[consent.MarketingEmail].Status; st != consent.StatusRefused {
		t.Errorf("marketing status = %s, want refused", st)
	}
	if st := state.Decisions[consent.Support].Status; st != consent.StatusUnknown {
		t.Errorf("support status = %s, want unknown", st)
	}
	entries, total, err := other.store.Ledger(ctx, p, 0, 10)
	if err != nil || total != 2 || len(entries) != 2 {
		t.Fatalf("Ledger = %d entries of %d, %v; want 2", len(entries), total, err)
	}
	want := consent.LedgerEntry{RecordedAt: at, Purpose: "personalization", Granted: true, Sensitive: true, NoticeVersion: "notice-v9", Method: "api", ActorRole: "support_agent"}
	if !entries[0].RecordedAt.Equal(want.RecordedAt) {
		t.Errorf("recorded at %s, want %s", entries[0].RecordedAt, want.RecordedAt)
	}
	entries[0].RecordedAt = want.RecordedAt
	if entries[0] != want {
		t.Errorf("ledger entry 0 = %+v, want %+v", entries[0], want)
	}
	if e := entries[1]; e.Purpose != "marketing_email" || e.Granted || e.Sensitive {
		t.Errorf("ledger entry 1 = %+v", e)
	}

	// An invalid change writes nothing.
	before := f.r.Dump(t)
	if _, err := f.store.ApplyConsent(ctx, p, consent.Change{Choices: []consent.Choice{grant(consent.Support)}, Method: consent.MethodUI, At: at}); !errors.Is(err, features.ErrInvalid) {
		t.Fatalf("ApplyConsent without notice version = %v, want ErrInvalid", err)
	}
	after := f.r.Dump(t)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("an invalid change modified %s", k)
		}
	}
	if len(after) != len(before) {
		t.Errorf("an invalid change created keys")
	}
}

func TestLedgerPaging(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	p := f.customer("customer-1")
	// Seven entries, each recognisable by its time.
	for i := range 7 {
		ch := grant(consent.Purpose(i % consent.NumPurposes))
		if i%2 == 1 {
			ch = revoke(ch.Purpose)
		}
		f.apply(t, p, t0.Add(time.Duration(i)*time.Minute), ch)
	}
	tests := []struct {
		offset, limit int64
		want          []int // entry numbers
	}{
		{0, 3, []int{0, 1, 2}},
		{3, 3, []int{3, 4, 5}},
		{6, 3, []int{6}},
		{7, 3, nil},
		{100, 3, nil},
		{0, 100, []int{0, 1, 2, 3, 4, 5, 6}},
		{2, 1, []int{2}},
		{0, 0, nil},
	}
	for _, tt := range tests {
		entries, total, err := f.store.Ledger(ctx, p, tt.offset, tt.limit)
		if err != nil {
			t.Fatalf("Ledger(%d, %d): %v", tt.offset, tt.limit, err)
		}
		if total != 7 {
			t.Errorf("Ledger(%d, %d) total = %d, want 7", tt.offset, tt.limit, total)
		}
		var got []int
		for _, e := range entries {
			got = append(got, int(e.RecordedAt.Sub(t0)/time.Minute))
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Ledger(%d, %d) = entries %v, want %v", tt.offset, tt.limit, got, tt.want)
		}
	}
	if entries, total, err := f.store.Ledger(ctx, f.customer("nobody"), 0, 10); err != nil || total != 0 || len(entries) != 0 {
		t.Errorf("Ledger of an unknown customer = %v, %d, %v", entries, total, err)
	}
}

func TestRevokeWithDeleteData(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.customer("customer-1")
	bystander := f.customer("customer-2")
	all := []consent.Choice{grant(consent.Personalization), grant(consent.Support), grant(consent.ModelTraining)}
	f.apply(t, p, t0.Add(-day), all...)
	f.apply(t, bystander, t0.Add(-day), all...)
	at := t0.Add(-time.Hour)
	res := f.track(t, p, t0,
		view("only-personalization", at, consent.Personalization),
		view("personalization-and-training", at, consent.Personalization, consent.ModelTraining),
		view("only-training", at, consent.ModelTraining),
		features.SignalInput{Type: "purchase", ItemID: "personalization-and-support", OccurredAt: at, Purposes: purposes(consent.Support, consent.Personalization)},
		view("only-personalization-2", at, consent.Personalization),
	)
	f.track(t, bystander, t0, view("bystander", at, consent.Personalization))
	byItem := map[string]string{}
	for i, r := range res {
		if !r.Stored {
			t.Fatalf("signal %d not stored: %+v", i, r)
		}
		byItem[[]string{"only-personalization", "personalization-and-training", "only-training", "personalization-and-support", "only-personalization-2"}[i]] = r.SignalID
	}

	cr := f.apply(t, p, t0, consent.Choice{Purpose: consent.Personalization, DeleteData: true})
	if cr.SignalsDeleted != 2 || cr.SignalsNarrowed != 2 {
		t.Errorf("deleted %d, narrowed %d; want 2 and 2", cr.SignalsDeleted, cr.SignalsNarrowed)
	}
	if cr.State.Decisions[consent.Personalization].Status != consent.StatusWithdrawn || !cr.State.Granted(consent.ModelTraining) {
		t.Errorf("state after revocation = %+v", cr.State)
	}
	if len(cr.Recorded) != 1 || !cr.Recorded[0].DeleteData || cr.Recorded[0].Granted {
		t.Errorf("recorded = %+v, want one delete_data revocation", cr.Recorded)
	}

	stored := f.signals(t, p)
	want := map[string]consent.PurposeSet{
		"personalization-and-training": consent.NewPurposeSet(consent.ModelTraining),
		"only-training":                consent.NewPurposeSet(consent.ModelTraining),
		"personalization-and-support":  consent.NewPurposeSet(consent.Support),
	}
	if len(stored) != len(want) {
		t.Errorf("%d signals left, want %d: %+v", len(stored), len(want), stored)
	}
	for item, ps := range want {
		s, ok := stored[byItem[item]]
		if !ok {
			t.Errorf("%s was deleted", item)
			continue
		}
		if s.Purposes != ps || s.ItemID != item {
			t.Errorf("%s: purposes %v, want %v", item, s.Purposes.Names(), ps.Names())
		}
	}
	for _, item := range []string{"only-personalization", "only-personalization-2"} {
		if _, ok := stored[byItem[item]]; ok {
			t.Errorf("%s is still stored", item)
		}
	}
	if n := len(f.signals(t, bystander)); n != 1 {
		t.Errorf("another customer's revocation deleted their signals: %d left", n)
	}

	// A revocation without DeleteData keeps the data.
	cr = f.apply(t, p, t0, revoke(consent.ModelTraining))
	if cr.SignalsDeleted != 0 || cr.SignalsNarrowed != 0 || len(f.signals(t, p)) != 3 {
		t.Errorf("a revocation without delete_data changed signals: %+v", cr)
	}
}

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
