package app

import (
	"context"
	"time"

	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// Requests in flight when a customer is erased. A recommendation or a
// review request that read the customer's data before the erasure may
// write its answer or case after it (they are written under shared keys,
// found through an index in the customer's slot that the write itself
// re-creates). So every erasure is followed up once every request that
// could have started before it has ended (the request timeout, and a
// margin): what such requests wrote, answers and cases created before the
// erasure, is deleted too. What the customer does after the erasure (a new
// consent, a new answer) is theirs again and is left alone.
//
// The follow-up lives in the core's memory: if the server stops before it
// is due, a record left this way is sealed, listed in no export, and
// expires with the explanation retention (answers); an erasure can also
// simply be run again, which finds it through the re-created index.
//
// Every time here is on the core's clock (Options.Now and Options.After).

// ErasureFollowUpMargin is added to the request timeout.
const ErasureFollowUpMargin = 2 * time.Second

// maxPendingFollowUps bounds the erasures waiting for their follow-up.
const maxPendingFollowUps = 4096

// erasureFollowUp is one erasure waiting for its follow-up.
type erasureFollowUp struct {
	customer features.Pseudonym
	erasedAt time.Time
	due      time.Time
}

// scheduleFollowUp queues the follow-up of an erasure.
func (a *App) scheduleFollowUp(p features.Pseudonym, erasedAt time.Time) {
	f := erasureFollowUp{customer: p, erasedAt: erasedAt, due: erasedAt.Add(a.cfg.RequestTimeout + ErasureFollowUpMargin)}
	select {
	case a.followUps <- f:
	default:
		a.log.Warn("erasure follow-up queue full; records written by requests in flight during an erasure expire with their retention", "pending", maxPendingFollowUps)
	}
}

// RunFollowUps deletes, when due, what requests in flight during each
// erasure wrote, until ctx ends. (Run runs it; tests may run it alone.)
func (a *App) RunFollowUps(ctx context.Context) {
	for {
		var f erasureFollowUp
		select {
		case <-ctx.Done():
			return
		case f = <-a.followUps:
		}
		select {
		case <-ctx.Done():
			return
		case <-a.after(f.due.Sub(a.now())):
		}
		if err := a.followUp(ctx, f.customer, f.erasedAt); err != nil && ctx.Err() == nil {
			a.log.ErrorContext(ctx, "erasure follow-up failed; run the erasure again", "err", err)
		}
	}
}

// followUp deletes the customer's answers created at or before erasedAt,
// and the review cases opened then or about such answers.
func (a *App) followUp(ctx context.Context, p features.Pseudonym, erasedAt time.Time) error {
	var answers []string
	err := a.explanations.Each(ctx, p, a.now(), func(ans *explain.Answer) error {
		if !ans.CreatedAt.After(erasedAt) {
			answers = append(answers, ans.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := a.explanations.DeleteAll(ctx, p, answers); err != nil {
		return err
	}
	cases, err := a.reviews.Customer(ctx, p)
	if err != nil {
		return err
	}
	// A case is stale when it was opened before the erasure, or is about
	// an answer made before it (a request may read the answer, then stamp
	// the case after the erasure ran).
	var stale []string
	for _, c := range cases {
		answer, err := c.Recommendation()
		if err != nil {
			return err
		}
		if !c.CreatedAt.After(erasedAt) || !answer.CreatedAt.After(erasedAt) {
			stale = append(stale, c.ID)
		}
	}
	return a.reviews.DeleteAll(ctx, p, stale)
}
