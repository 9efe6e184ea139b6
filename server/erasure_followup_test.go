package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// TestErasureFollowUp: an answer and a review case written after an
// erasure by requests that read the customer's data before it (in flight
// when it ran) are deleted by the erasure's follow-up, once every such
// request has ended; what the customer does after the erasure is kept.
func TestErasureFollowUp(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	ctx := context.Background()
	_, answer, err := f.s.core.Explanations().Get(ctx, f.recID, f.now)
	if err != nil {
		t.Fatal(err)
	}
	readAt := f.now // when the in-flight requests read alice's data

	// A minute on the core's clock: the follow-up (due the request timeout
	// and a margin after the erasure, on that clock) is due at once.
	f.now = f.now.Add(time.Minute)
	if _, err := f.s.core.EraseCustomer(ctx, storefront, "alice"); err != nil {
		t.Fatal(err)
	}
	erasedAt := f.now

	// The in-flight requests land: an answer and a review case stamped
	// before the erasure.
	late := *answer
	late.ID, late.CreatedAt = explain.NewID(), readAt
	if err := f.s.core.Explanations().Save(ctx, f.alice, &late); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.core.Reviews().Open(ctx, f.alice, &late, explain.ReviewContest, "Why this?", readAt); err != nil {
		t.Fatal(err)
	}
	// A case stamped after the erasure, about an answer read before it.
	if _, err := f.s.core.Reviews().Open(ctx, f.alice, &late, explain.ReviewHumanReview, "A person, please.", erasedAt.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// And alice comes back afterwards: a new answer, hers to keep.
	f.now = f.now.Add(time.Minute)
	after := f.recommend(t, "alice")

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { f.s.core.RunFollowUps(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	// Wait (bounded) for the follow-up's whole work: the late answer and
	// every late case gone (it deletes the answers first, then the cases).
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, err := f.s.core.Explanations().Get(ctx, late.ID, f.now)
		if err != nil && !errors.Is(err, features.ErrNotFound) {
			t.Fatal(err)
		}
		cases, cerr := f.s.core.Reviews().Customer(ctx, f.alice)
		if cerr != nil {
			t.Fatal(cerr)
		}
		if err != nil && len(cases) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the follow-up did not delete the late answer and cases (answer: %v, %d cases left)", err, len(cases))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, kept, err := f.s.core.Explanations().Get(ctx, after.GetRecommendationId(), f.now); err != nil || kept.CreatedAt.Before(erasedAt) {
		t.Errorf("the answer made after the erasure: %v", err)
	}
	// Nothing of the late writes is left anywhere: the only key under
	// alice's tag is the index of her new answer.
	keys := f.r.Keyspace()
	tag := keys.Customer(f.alice)
	var left []string
	for _, k := range f.r.Keys(t) {
		if strings.Contains(k, string(f.alice)) || strings.Contains(k, late.ID) {
			left = append(left, k)
		}
	}
	if len(left) != 1 || left[0] != tag.Recommendations {
		t.Errorf("keys of alice's after the follow-up: %v; want only %s", left, tag.Recommendations)
	}
	// Nor the markers of the late cases (which name neither her nor the
	// answer in the clear).
	codec := f.s.core.Codec()
	for _, kind := range []string{explain.ReviewContest, explain.ReviewHumanReview} {
		marker := keys.ReviewPending(explain.PendingHandle(codec, f.alice, late.ID, kind))
		if n := f.r.Client.Exists(ctx, marker).Val(); n != 0 {
			t.Errorf("the marker of the late %s case is left after the follow-up", kind)
		}
	}
}
