package explain_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
	"github.com/candorhq/candor/internal/redistest"
)

// pendingFixture is a case store over the test's Redis, with one answer of
// one customer to ask about.
type pendingFixture struct {
	*storeFixture
	reviews  *explain.Reviews
	customer features.Pseudonym
	answer   *explain.Answer
}

func newPendingFixture(t *testing.T) *pendingFixture {
	t.Helper()
	f := newStore(t)
	return &pendingFixture{
		storeFixture: f,
		reviews:      explain.NewReviews(f.r.Client, f.keys, f.codec),
		customer:     features.Pseudonym("cccccccccccccccccccccccccccccccc"),
		answer:       sampleAnswer(t, reviewTime(0), explain.DefaultRetention),
	}
}

// marker is the key of the marker of kind about the fixture's answer.
func (f *pendingFixture) marker(kind string) string {
	return f.keys.ReviewPending(explain.PendingHandle(f.codec, f.customer, f.answer.ID, kind))
}

// openConcurrently opens n cases of kind about the answer at once.
func (f *pendingFixture) openConcurrently(kind string, n int) ([]*explain.Case, []error) {
	cases, errs := make([]*explain.Case, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			cases[i], errs[i] = f.reviews.Open(context.Background(), f.customer, f.answer, kind, fmt.Sprintf("request %d", i), reviewTime(1))
		})
	}
	close(start)
	wg.Wait()
	return cases, errs
}

// openOnce opens n cases of kind at once and checks that exactly one
// request opened a case, the others being refused with ErrReviewExists
// (AlreadyExists) carrying it; it returns the case.
func (f *pendingFixture) openOnce(t *testing.T, what, kind string, n int) *explain.Case {
	t.Helper()
	cases, errs := f.openConcurrently(kind, n)
	var won *explain.Case
	for i, c := range cases {
		if errs[i] == nil {
			if won != nil {
				t.Fatalf("%s: cases %s and %s both opened", what, won.ID, c.ID)
			}
			won = c
		}
	}
	if won == nil {
		t.Fatalf("%s: no request opened a case: %v", what, errs)
	}
	for _, err := range errs {
		if err == nil {
			continue
		}
		if !errors.Is(err, explain.ErrReviewExists) || fault.CodeOf(err) != fault.AlreadyExists {
			t.Fatalf("%s: refused with %v (code %s), want ErrReviewExists", what, err, fault.CodeOf(err))
		}
		if c, ok := fault.DetailOf(err).(*explain.Case); !ok || c.ID != won.ID || c.Message != won.Message {
			t.Errorf("%s: the refusal carries %+v, want case %s", what, fault.DetailOf(err), won.ID)
		}
	}
	return won
}

// TestReviewsOpenOnce: of sixteen concurrent requests of one kind about one
// answer, exactly one opens a case; the others are refused carrying it, and
// wrote nothing. A request of the other kind, or by another customer, is
// its own; once a case is answered its kind may be asked again.
func TestReviewsOpenOnce(t *testing.T) {
	t.Parallel()
	f := newPendingFixture(t)
	ctx := context.Background()
	const n = 16

	contest := f.openOnce(t, "contest", explain.ReviewContest, n)
	mine, err := f.reviews.Customer(ctx, f.customer)
	if err != nil || len(mine) != 1 || mine[0].ID != contest.ID {
		t.Fatalf("the customer's cases after %d concurrent contests: %d (%v), want the one opened", n, len(mine), err)
	}
	if queued, total, err := f.reviews.Queue(ctx, explain.ReviewOpen, 0, 100); err != nil || total != 1 || queued[0].ID != contest.ID {
		t.Fatalf("the open queue after %d concurrent contests: %d (%v), want the one opened", n, total, err)
	}

	// A refusal writes nothing, anywhere.
	before := f.r.Snapshot(t)
	_, err = f.reviews.Open(ctx, f.customer, f.answer, explain.ReviewContest, "again", reviewTime(2))
	if !errors.Is(err, explain.ErrReviewExists) {
		t.Fatalf("a second contest: %v, want ErrReviewExists", err)
	}
	if after := f.r.Snapshot(t); !slices.EqualFunc(before, after, sameKey) {
		t.Error("a refused request changed what Redis holds")
	}

	// The other kind, and another customer (the marker is per customer).
	human := f.openOnce(t, "human_review", explain.ReviewHumanReview, n)
	if _, err := f.reviews.Open(ctx, "dddddddddddddddddddddddddddddddd", f.answer, explain.ReviewContest, "mine", reviewTime(2)); err != nil {
		t.Fatalf("another customer's contest: %v", err)
	}

	// In review, a case still counts; answered, it frees its kind.
	if _, err := f.reviews.Update(ctx, contest.ID, explain.ReviewInReview, "", reviewTime(3)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reviews.Open(ctx, f.customer, f.answer, explain.ReviewContest, "still?", reviewTime(3)); !errors.Is(err, explain.ErrReviewExists) {
		t.Fatalf("a contest while the first is in review: %v, want ErrReviewExists", err)
	}
	if _, err := f.reviews.Update(ctx, contest.ID, explain.ReviewResolved, "Checked.", reviewTime(4)); err != nil {
		t.Fatal(err)
	}
	if n := f.r.Client.Exists(ctx, f.marker(explain.ReviewContest)).Val(); n != 0 {
		t.Error("a resolved case keeps its marker")
	}
	again := f.openOnce(t, "contest after the first was resolved", explain.ReviewContest, n)
	if _, err := f.reviews.Update(ctx, human.ID, explain.ReviewRejected, "No.", reviewTime(5)); err != nil {
		t.Fatal(err)
	}
	f.openOnce(t, "human_review after the first was rejected", explain.ReviewHumanReview, n)

	// Reopening the resolved contest is refused while the new one waits,
	// and allowed (taking the marker back) once it is answered.
	_, err = f.reviews.Update(ctx, contest.ID, explain.ReviewOpen, "", reviewTime(6))
	if c, ok := fault.DetailOf(err).(*explain.Case); !errors.Is(err, explain.ErrReviewExists) || !ok || c.ID != again.ID {
		t.Fatalf("reopening a case while another of its kind waits: %v, want ErrReviewExists naming %s", err, again.ID)
	}
	if c, _ := f.reviews.Get(ctx, contest.ID); c.Status != explain.ReviewResolved {
		t.Errorf("a refused reopening moved the case to %s", c.Status)
	}
	if _, err := f.reviews.Update(ctx, again.ID, explain.ReviewRejected, "No.", reviewTime(7)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reviews.Update(ctx, contest.ID, explain.ReviewOpen, "", reviewTime(8)); err != nil {
		t.Fatalf("reopening a case once no other of its kind waits: %v", err)
	}
	_, err = f.reviews.Open(ctx, f.customer, f.answer, explain.ReviewContest, "and again", reviewTime(9))
	if c, ok := fault.DetailOf(err).(*explain.Case); !ok || c.ID != contest.ID {
		t.Fatalf("a contest while the reopened one waits: %v, want ErrReviewExists naming %s", err, contest.ID)
	}
}

// sameKey compares two keys of snapshots.
func sameKey(a, b redistest.Key) bool {
	return a.Name == b.Name && a.Type == b.Type && slices.Equal(a.Items, b.Items)
}

// TestReviewsStaleMarker: a marker that names a case gone, or answered,
// counts as free (and is taken over).
func TestReviewsStaleMarker(t *testing.T) {
	t.Parallel()
	f := newPendingFixture(t)
	ctx := context.Background()
	marker := f.marker(explain.ReviewContest)
	if err := f.r.Client.Set(ctx, marker, explain.CaseHandle(f.codec, "case_"+"gonegonegonegonegonegone"), 0).Err(); err != nil {
		t.Fatal(err)
	}
	c, err := f.reviews.Open(ctx, f.customer, f.answer, explain.ReviewContest, "first", reviewTime(1))
	if err != nil {
		t.Fatalf("a contest over a marker naming no case: %v", err)
	}
	if got := f.r.Client.Get(ctx, marker).Val(); got != explain.CaseHandle(f.codec, c.ID) {
		t.Fatalf("the marker holds %q, want the new case's handle", got)
	}
	// A marker left on an answered case (as no update leaves it).
	if _, err := f.reviews.Update(ctx, c.ID, explain.ReviewResolved, "Checked.", reviewTime(2)); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Client.Set(ctx, marker, explain.CaseHandle(f.codec, c.ID), 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reviews.Open(ctx, f.customer, f.answer, explain.ReviewContest, "second", reviewTime(3)); err != nil {
		t.Fatalf("a contest over a marker naming a resolved case: %v", err)
	}
}

// TestReviewsDeleteMarkers: erasing cases deletes the markers that name
// them, and only those: erasing an answered case leaves the marker of the
// pending case of its kind, and erasing both deletes it.
func TestReviewsDeleteMarkers(t *testing.T) {
	t.Parallel()
	f := newPendingFixture(t)
	ctx := context.Background()
	open := func(kind, message string, k int) *explain.Case {
		t.Helper()
		c, err := f.reviews.Open(ctx, f.customer, f.answer, kind, message, reviewTime(k))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	resolve := func(c *explain.Case, k int) {
		t.Helper()
		if _, err := f.reviews.Update(ctx, c.ID, explain.ReviewResolved, "Checked.", reviewTime(k)); err != nil {
			t.Fatal(err)
		}
	}
	first := open(explain.ReviewContest, "first", 1)
	resolve(first, 2)
	second := open(explain.ReviewContest, "second", 3)
	human := open(explain.ReviewHumanReview, "a person", 4)
	if err := f.reviews.DeleteAll(ctx, f.customer, []string{first.ID, human.ID}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{f.marker(explain.ReviewContest): explain.CaseHandle(f.codec, second.ID)}
	if got := pendingMarkers(t, f.storeFixture); !maps.Equal(got, want) {
		t.Fatalf("markers after erasing an answered contest and the human review: %v, want %v", got, want)
	}
	resolve(second, 5)
	third := open(explain.ReviewContest, "third", 6)
	if err := f.reviews.DeleteAll(ctx, f.customer, []string{third.ID, second.ID}); err != nil {
		t.Fatal(err)
	}
	if got := pendingMarkers(t, f.storeFixture); len(got) != 0 {
		t.Fatalf("markers after erasing every case: %v", got)
	}
}

// TestReviewsPendingUnderRace: whatever mix of requests and updates lands
// concurrently, at most one case of a kind about an answer is pending, and
// the marker names it (or, with none pending, is gone).
func TestReviewsPendingUnderRace(t *testing.T) {
	t.Parallel()
	f := newPendingFixture(t)
	ctx := context.Background()
	var mu sync.Mutex
	var opened []string
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range 30 {
				if rng.IntN(2) == 0 {
					c, err := f.reviews.Open(ctx, f.customer, f.answer, explain.ReviewContest, "m", reviewTime(i))
					switch {
					case err == nil:
						mu.Lock()
						opened = append(opened, c.ID)
						mu.Unlock()
					case !errors.Is(err, explain.ErrReviewExists):
						t.Error(err)
						return
					}
					continue
				}
				mu.Lock()
				if len(opened) == 0 {
					mu.Unlock()
					continue
				}
				id := opened[rng.IntN(len(opened))]
				mu.Unlock()
				st := explain.ReviewStatuses[rng.IntN(len(explain.ReviewStatuses))]
				_, err := f.reviews.Update(ctx, id, st, "r", reviewTime(i))
				if err != nil && !errors.Is(err, explain.ErrReviewExists) && fault.CodeOf(err) != fault.Conflict {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var pending []string
	for _, id := range opened {
		c, err := f.reviews.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if explain.ReviewPending(c.Status) {
			pending = append(pending, c.ID)
		}
	}
	if len(pending) > 1 {
		t.Fatalf("%d contests of one answer pending at once: %v", len(pending), pending)
	}
	want := map[string]string{}
	if len(pending) == 1 {
		want[f.marker(explain.ReviewContest)] = explain.CaseHandle(f.codec, pending[0])
	}
	if got := pendingMarkers(t, f.storeFixture); !maps.Equal(got, want) {
		t.Fatalf("markers %v, want %v (of %d cases opened)", got, want, len(opened))
	}
}

// failIndex is a hook that fails every write to a customer's index (HSET),
// as a connection lost at that moment would.
type failIndex struct{}

func (failIndex) DialHook(next redis.DialHook) redis.DialHook { return next }
func (failIndex) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (failIndex) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "hset" {
			cmd.SetErr(errors.New("connection lost"))
			return cmd.Err()
		}
		return next(ctx, cmd)
	}
}

// TestReviewsOpenWithdrawn: when the customer's index cannot be written,
// no case, queue entry or marker is written either (no case may exist that
// an erasure cannot find), and the kind is free again.
func TestReviewsOpenWithdrawn(t *testing.T) {
	t.Parallel()
	f := newPendingFixture(t)
	ctx := context.Background()
	client := redis.NewClient(f.r.Client.(*redis.Client).Options())
	t.Cleanup(func() { _ = client.Close() })
	client.AddHook(failIndex{})
	failing := explain.NewReviews(client, f.keys, f.codec)

	seq := f.keys.ReviewSeq()
	before := slices.DeleteFunc(f.r.Snapshot(t), func(k redistest.Key) bool { return k.Name == seq })
	if _, err := failing.Open(ctx, f.customer, f.answer, explain.ReviewContest, "lost", reviewTime(1)); err == nil || errors.Is(err, explain.ErrReviewExists) {
		t.Fatalf("Open with the index unwritable: %v, want the write's error", err)
	}
	// Only the counter moved (a number drawn is not given back).
	after := slices.DeleteFunc(f.r.Snapshot(t), func(k redistest.Key) bool { return k.Name == seq })
	if !slices.EqualFunc(before, after, sameKey) {
		t.Errorf("a failed Open left %d keys, had %d: %v", len(after), len(before), after)
	}
	if _, err := f.reviews.Open(ctx, f.customer, f.answer, explain.ReviewContest, "again", reviewTime(2)); err != nil {
		t.Fatalf("Open after a withdrawn case: %v", err)
	}
}

// failCaseWrite is a hook that fails the transaction that writes a case
// (its MULTI/EXEC pipeline), as a connection lost at that moment would.
type failCaseWrite struct{}

func (failCaseWrite) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (failCaseWrite) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (failCaseWrite) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := errors.New("connection lost")
		for _, cmd := range cmds {
			cmd.SetErr(err)
		}
		return err
	}
}

// TestReviewsIndexedBeforeWritten: the customer's index entry is written
// before the case, so that an erasure always finds a case that exists; when
// the case's own write then fails, the entry is taken back and nothing is
// left.
func TestReviewsIndexedBeforeWritten(t *testing.T) {
	t.Parallel()
	f := newPendingFixture(t)
	ctx := context.Background()
	client := redis.NewClient(f.r.Client.(*redis.Client).Options())
	t.Cleanup(func() { _ = client.Close() })
	client.AddHook(failCaseWrite{})
	failing := explain.NewReviews(client, f.keys, f.codec)

	seq := f.keys.ReviewSeq()
	before := slices.DeleteFunc(f.r.Snapshot(t), func(k redistest.Key) bool { return k.Name == seq })
	if _, err := failing.Open(ctx, f.customer, f.answer, explain.ReviewContest, "lost", reviewTime(1)); err == nil {
		t.Fatal("Open with the case's write failing succeeded")
	}
	after := slices.DeleteFunc(f.r.Snapshot(t), func(k redistest.Key) bool { return k.Name == seq })
	if !slices.EqualFunc(before, after, sameKey) {
		t.Errorf("a failed Open left %d keys, had %d: %v", len(after), len(before), after)
	}
}
