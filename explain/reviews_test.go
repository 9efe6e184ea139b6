package explain_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/redistest"
)

// reviewTimes are exact, to the millisecond, and far apart, so that a time
// stored in the clear in any form would be recognised.
func reviewTime(k int) time.Time {
	return time.Date(2026, 3, 1, 12, 34, 56, 789_000_000, time.UTC).Add(time.Duration(k) * (7*time.Hour + 1234*time.Millisecond))
}

// TestReviewsAtRest: what Redis holds about review cases, read raw, names
// no case id, holds no exact time, and does not link a customer's index to
// their cases or to the queues (invariant 6); and the cases still work: the
// queue lists oldest first with paging, a status move keeps a case's place,
// the officer reads a case by id, and erasure deletes one customer's cases
// only, their pending markers with them.
func TestReviewsAtRest(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	ctx := context.Background()
	reviews := explain.NewReviews(f.r.Client, f.keys, f.codec)
	alice := features.Pseudonym("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	bob := features.Pseudonym("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
	answer := sampleAnswer(t, reviewTime(0), explain.DefaultRetention)

	// Each case about an answer of its own (a second contest of one answer
	// would wait for the first).
	var ids, aliceIDs, recIDs []string
	var times []time.Time
	for k, p := range []features.Pseudonym{alice, bob, alice, bob, alice} {
		at := reviewTime(k + 1)
		about := *answer
		about.ID = explain.NewID()
		c, err := reviews.Open(ctx, p, &about, explain.ReviewContest, fmt.Sprintf("case %d", k), at)
		if err != nil {
			t.Fatal(err)
		}
		ids, times, recIDs = append(ids, c.ID), append(times, at), append(recIDs, about.ID)
		if p == alice {
			aliceIDs = append(aliceIDs, c.ID)
		}
	}
	updatedAt := reviewTime(10)
	times = append(times, updatedAt)
	if _, err := reviews.Update(ctx, ids[1], explain.ReviewInReview, "looking", updatedAt); err != nil {
		t.Fatal(err)
	}

	snap := f.r.Snapshot(t)
	checkReviewsAtRest(t, f, snap, ids, recIDs, times, []features.Pseudonym{alice, bob})
	// Every case is pending: each holds the marker of its kind about its
	// answer, and nothing else does.
	if got, want := pendingMarkers(t, f), markersOf(f, ids, recIDs, []features.Pseudonym{alice, bob, alice, bob, alice}); !maps.Equal(got, want) {
		t.Errorf("pending markers %v, want %v", got, want)
	}

	// The queue: oldest first, paged; a moved case leaves it, and keeps its
	// place when it comes back.
	queue := func(status string, offset, limit int64) ([]string, int64) {
		t.Helper()
		cases, total, err := reviews.Queue(ctx, status, offset, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cases {
			out = append(out, c.ID)
		}
		return out, total
	}
	open := []string{ids[0], ids[2], ids[3], ids[4]}
	if got, total := queue(explain.ReviewOpen, 0, 10); !slices.Equal(got, open) || total != 4 {
		t.Errorf("open queue %v (%d), want %v (4)", got, total, open)
	}
	if got, total := queue(explain.ReviewOpen, 1, 2); !slices.Equal(got, open[1:3]) || total != 4 {
		t.Errorf("open queue from 1, 2 of them: %v (%d), want %v (4)", got, total, open[1:3])
	}
	if got, _ := queue(explain.ReviewInReview, 0, 10); !slices.Equal(got, ids[1:2]) {
		t.Errorf("in_review queue %v, want %v", got, ids[1:2])
	}
	if _, err := reviews.Update(ctx, ids[1], explain.ReviewOpen, "", reviewTime(11)); err != nil {
		t.Fatal(err)
	}
	if got, _ := queue(explain.ReviewOpen, 0, 10); !slices.Equal(got, ids) {
		t.Errorf("open queue after the case came back %v, want %v", got, ids)
	}

	// The officer reads a case by its id.
	c, err := reviews.Get(ctx, ids[3])
	if err != nil || c.ID != ids[3] || c.Pseudonym != bob || !c.CreatedAt.Equal(times[3]) || c.Message != "case 3" {
		t.Fatalf("Get(%s) = %+v, %v", ids[3], c, err)
	}

	// A customer's cases, newest first; nobody else's.
	mine, err := reviews.Customer(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range mine {
		got = append(got, c.ID)
	}
	if want := []string{aliceIDs[2], aliceIDs[1], aliceIDs[0]}; !slices.Equal(got, want) {
		t.Errorf("alice's cases %v, want %v", got, want)
	}
	// Without the secret the index opens to nothing.
	foreign := explain.NewReviews(f.r.Client, f.keys, features.NewCodec(features.GenerateSecret()))
	if cases, err := foreign.Customer(ctx, alice); !errors.Is(err, features.ErrCorrupt) || len(cases) != 0 {
		t.Errorf("Customer with another secret: %d cases, %v; want features.ErrCorrupt", len(cases), err)
	}

	// Erasure: alice's cases go, from the queues and her index; bob's stay.
	if err := reviews.DeleteAll(ctx, alice, aliceIDs); err != nil {
		t.Fatal(err)
	}
	for _, id := range aliceIDs {
		if _, err := reviews.Get(ctx, id); !errors.Is(err, features.ErrNotFound) {
			t.Errorf("Get(%s) after erasure: %v, want features.ErrNotFound", id, err)
		}
	}
	if n := f.r.Client.HLen(ctx, f.keys.Customer(alice).Reviews).Val(); n != 0 {
		t.Errorf("alice's index holds %d entries after erasure", n)
	}
	if got, total := queue(explain.ReviewOpen, 0, 10); !slices.Equal(got, []string{ids[1], ids[3]}) || total != 2 {
		t.Errorf("open queue after alice's erasure %v (%d), want %v (2)", got, total, []string{ids[1], ids[3]})
	}
	if theirs, err := reviews.Customer(ctx, bob); err != nil || len(theirs) != 2 {
		t.Errorf("bob's cases after alice's erasure: %d, %v", len(theirs), err)
	}
	// Alice's markers went with her cases; bob's stay.
	if got, want := pendingMarkers(t, f), markersOf(f, []string{ids[1], ids[3]}, []string{recIDs[1], recIDs[3]}, []features.Pseudonym{bob, bob}); !maps.Equal(got, want) {
		t.Errorf("pending markers after alice's erasure %v, want bob's only, %v", got, want)
	}
}

// pendingMarkers reads every pending marker of the namespace raw: key ->
// the handle it holds.
func pendingMarkers(t *testing.T, f *storeFixture) map[string]string {
	t.Helper()
	out := map[string]string{}
	prefix := f.keys.ReviewPending("")
	for _, k := range f.r.Snapshot(t) {
		if !strings.HasPrefix(k.Name, prefix) {
			continue
		}
		if k.Type != "string" || len(k.Items) != 1 {
			t.Fatalf("marker %s: a %s of %d items, want a string", k.Name, k.Type, len(k.Items))
		}
		out[k.Name] = k.Items[0].Value
	}
	return out
}

// markersOf are the markers contests ids about recIDs by customers hold.
func markersOf(f *storeFixture, ids, recIDs []string, customers []features.Pseudonym) map[string]string {
	out := map[string]string{}
	for i, id := range ids {
		out[f.keys.ReviewPending(explain.PendingHandle(f.codec, customers[i], recIDs[i], explain.ReviewContest))] = explain.CaseHandle(f.codec, id)
	}
	return out
}

// checkReviewsAtRest reads every key of the namespace raw.
func checkReviewsAtRest(t *testing.T, f *storeFixture, snap []redistest.Key, ids, recIDs []string, times []time.Time, customers []features.Pseudonym) {
	t.Helper()
	reviewsTag := f.keys.Namespace() + ":{reviews}:"
	var indexes, global []redistest.Key
	for _, k := range snap {
		for _, p := range customers {
			if k.Name == f.keys.Customer(p).Reviews {
				indexes = append(indexes, k)
			}
		}
		if strings.HasPrefix(k.Name, reviewsTag) {
			global = append(global, k)
		}
	}
	if len(indexes) != len(customers) || len(global) < len(ids)+2 {
		t.Fatalf("found %d customer indexes and %d {reviews} keys; the test reads less than it claims", len(indexes), len(global))
	}

	// No case id, recommendation id or customer in the clear under
	// {reviews} (the markers included), and no case id anywhere.
	for _, k := range snap {
		for _, id := range ids {
			if k.Contains(id) {
				t.Errorf("%s shows case id %s in the clear", k.Name, id)
			}
		}
	}
	for _, k := range global {
		for _, id := range recIDs {
			if k.Contains(id) {
				t.Errorf("%s shows recommendation id %s in the clear", k.Name, id)
			}
		}
		for _, p := range customers {
			if k.Contains(string(p)) {
				t.Errorf("%s shows pseudonym %s in the clear", k.Name, p)
			}
		}
	}

	// No exact time in the clear: no key name, field or value spells one
	// (unix seconds or milliseconds, or RFC 3339), and every sorted-set
	// score that could be a time is a whole day.
	for _, k := range snap {
		for _, at := range times {
			for _, spelled := range []string{strconv.FormatInt(at.Unix(), 10), strconv.FormatInt(at.UnixMilli(), 10), at.Format("2006-01-02T15:04")} {
				if k.Contains(spelled) {
					t.Errorf("%s spells the time %s (%s)", k.Name, at.Format(time.RFC3339Nano), spelled)
				}
			}
		}
		if k.Type != "zset" {
			continue
		}
		for _, it := range k.Items {
			score, err := strconv.ParseFloat(it.Field, 64)
			if err != nil {
				t.Fatalf("%s: score %q", k.Name, it.Field)
			}
			if finerThanADay(score, times) {
				t.Errorf("%s: score %v of %s is a time finer than a day", k.Name, score, it.Value)
			}
		}
	}

	// The customer's index shares nothing with the cases or the queues:
	// none of its fields or values is a handle, a case key or a queue
	// member, or appears in one.
	for _, idx := range indexes {
		if idx.Type != "hash" || len(idx.Items) == 0 {
			t.Fatalf("%s: a %s of %d entries, want a hash naming the customer's cases", idx.Name, idx.Type, len(idx.Items))
		}
		for _, it := range idx.Items {
			for _, g := range global {
				if g.Contains(it.Field) || g.Contains(it.Value) {
					t.Errorf("%s entry %q links to %s", idx.Name, it.Field, g.Name)
				}
			}
		}
	}
	for _, id := range ids {
		handle := explain.CaseHandle(f.codec, id)
		for _, idx := range indexes {
			if idx.Contains(handle) {
				t.Errorf("%s holds the handle of case %s", idx.Name, id)
			}
		}
	}
}

// finerThanADay reports whether score reads as a time near one of times
// (unix seconds or milliseconds) that is not a whole day.
func finerThanADay(score float64, times []time.Time) bool {
	for _, unit := range []float64{1, 1000} { // seconds, milliseconds
		day := 86400 * unit
		for _, at := range times {
			if exact := float64(at.UnixMilli()) / 1000 * unit; math.Abs(score-exact) < 400*day {
				return math.Mod(score, day) != 0
			}
		}
	}
	return false
}
