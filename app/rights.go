package app

import (
	"context"
	"slices"
	"time"

	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// Receipt is an erasure receipt, with whether a model in use may still
// reflect the erased customer.
type Receipt struct {
	features.Receipt
	ModelPending bool
}

// EraseCustomer deletes everything held about a customer: first the
// records under global keys (found through the customer's indexes), then
// every key of the customer's slot in one transaction, so that an
// interrupted erasure can be run again. The receipt names no one. The
// request's GPC signal is not applied first (whose, not customer): an
// opt-out recorded now would be personal data written only to be deleted,
// and counted in the receipt of a customer of whom nothing was held.
func (a *App) EraseCustomer(ctx context.Context, who Actor, customerID string) (Receipt, error) {
	p, err := a.whose(OpEraseCustomer, who, customerID)
	if err != nil {
		return Receipt{}, err
	}
	held, err := a.store.Held(ctx, p)
	if err != nil {
		return Receipt{}, err
	}
	if err := a.explanations.DeleteAll(ctx, p, held.RecommendationIDs); err != nil {
		return Receipt{}, err
	}
	if err := a.reviews.DeleteAll(ctx, p, held.ReviewIDs); err != nil {
		return Receipt{}, err
	}
	if err := a.store.EraseCustomerKeys(ctx, p); err != nil {
		return Receipt{}, err
	}
	now := a.now().UTC()
	r := features.Receipt{ID: features.NewID("erasure_"), ErasedAt: now, Counts: held.Counts()}
	// Every server rebuilds its co-occurrence model from the store within
	// a refresh interval; the ALS model is replaced by the next `candor
	// train`, and servers refuse it once older than the maximum model age.
	r.ReflectedAtMostUntil = now.Add(a.cfg.ModelRefresh)
	models := a.models.Models()
	if models.Cooc != nil {
		r.ModelTrainedAt = models.Cooc.BuiltAt
	}
	if m := models.ALS; m != nil {
		r.ModelTrainedAt = m.Info.TrainedAt
		r.ReflectedAtMostUntil = maxTime(r.ReflectedAtMostUntil, m.Info.TrainedAt.Add(a.cfg.ModelMaxAge))
	}
	if err := a.store.SaveReceipt(ctx, r); err != nil {
		return Receipt{}, err
	}
	a.scheduleFollowUp(p, now)
	return Receipt{Receipt: r, ModelPending: a.modelPending(r)}, nil
}

// Receipts is a page of erasure receipts.
type Receipts struct {
	Receipts      []Receipt
	NextPageToken string
	// LongestPendingSeconds is how long the oldest erasure a model in use
	// may still reflect has been waiting, over every receipt.
	LongestPendingSeconds int64
}

// ListErasureReceipts returns a page of erasure receipts, newest first.
func (a *App) ListErasureReceipts(ctx context.Context, who Actor, page Page) (Receipts, error) {
	if err := authorize(OpListErasureReceipts, who); err != nil {
		return Receipts{}, err
	}
	offset, size, err := page.bounds()
	if err != nil {
		return Receipts{}, err
	}
	receipts, total, err := a.store.Receipts(ctx, offset, size)
	if err != nil {
		return Receipts{}, err
	}
	out := Receipts{NextPageToken: nextPageToken(offset, int64(len(receipts)), total)}
	for _, r := range receipts {
		out.Receipts = append(out.Receipts, Receipt{Receipt: r, ModelPending: a.modelPending(r)})
	}
	if out.LongestPendingSeconds, err = a.longestPending(ctx); err != nil {
		return Receipts{}, err
	}
	return out, nil
}

// modelPending reports whether a model in use was trained before the
// erasure, so may still reflect the erased customer.
func (a *App) modelPending(r features.Receipt) bool {
	models := a.models.Models()
	if m := models.ALS; m != nil && !m.Info.TrainedAt.After(r.ErasedAt) {
		return true
	}
	return models.Cooc != nil && !models.Cooc.BuiltAt.After(r.ErasedAt)
}

// longestPending is how long the oldest erasure a model in use may still
// reflect has been waiting, in seconds, over every receipt (not one page).
// Receipts are newest first and pending is "erased after the models were
// trained", so the pending ones are the newest: the walk stops at the first
// receipt that is not.
func (a *App) longestPending(ctx context.Context) (int64, error) {
	const page = 500
	var oldest *features.Receipt
	for offset := int64(0); ; offset += page {
		receipts, _, err := a.store.Receipts(ctx, offset, page)
		if err != nil {
			return 0, err
		}
		for i := range receipts {
			if !a.modelPending(receipts[i]) {
				return pendingSeconds(oldest, a.now()), nil
			}
			oldest = &receipts[i]
		}
		if len(receipts) < page {
			return pendingSeconds(oldest, a.now()), nil
		}
	}
}

func pendingSeconds(r *features.Receipt, now time.Time) int64 {
	if r == nil {
		return 0
	}
	return int64(now.Sub(r.ErasedAt) / time.Second)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// DeleteSignal deletes one of the customer's signals, then the stored
// answers that cite it (also when the signal was already gone: a retry
// after a failure there finishes the job). It reports whether the signal
// was there.
func (a *App) DeleteSignal(ctx context.Context, who Actor, customerID, signalID string) (bool, error) {
	p, err := a.customer(ctx, OpDeleteSignal, who, customerID)
	if err != nil {
		return false, err
	}
	deleted, err := a.store.DeleteSignal(ctx, p, signalID, string(who.Role), a.now())
	if err != nil {
		return false, err
	}
	return deleted, a.forgetAnswersCiting(ctx, p, signalID)
}

// CorrectSignal corrects one of the customer's signals (its item, its
// time), then forgets the stored answers that cite it as it was.
func (a *App) CorrectSignal(ctx context.Context, who Actor, customerID, signalID string, c features.Correction) (features.Signal, error) {
	p, err := a.customer(ctx, OpCorrectSignal, who, customerID)
	if err != nil {
		return features.Signal{}, err
	}
	sig, err := a.store.CorrectSignal(ctx, p, signalID, c, string(who.Role), a.now())
	if err != nil {
		return features.Signal{}, err
	}
	return sig, a.forgetAnswersCiting(ctx, p, sig.ID)
}

// forgetAnswersCiting deletes the customer's stored answers that cite a
// signal the customer has just deleted or corrected: their explanations
// name the signal's item and time, which would otherwise stay in the
// answers (and in the export) until the answers expire. Review cases keep
// their own copy of the answer they are about.
func (a *App) forgetAnswersCiting(ctx context.Context, p features.Pseudonym, signalID string) error {
	cites := func(c explain.CitedSignal) bool { return c.ID == signalID }
	var ids []string
	err := a.explanations.Each(ctx, p, a.now(), func(ans *explain.Answer) error {
		if slices.ContainsFunc(ans.Signals, cites) || slices.ContainsFunc(ans.Suppressed, cites) {
			ids = append(ids, ans.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return a.explanations.DeleteAll(ctx, p, ids)
}
