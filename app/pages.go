package app

import (
	"container/heap"
	"context"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
)

// What the customer's pages read. Each read is a use case of the access
// table (a stored answer is GetRecommendation's; what is held about the
// customer is ExportCustomerData's, the right of access), run for a
// customer, with the request's GPC signal applied first.

// errCustomersOnly refuses a page read to any actor but the customer.
var errCustomersOnly = fault.New(fault.PermissionDenied, "only the customer opens their own pages")

// AnswerView is what the why page shows: a stored answer, the customer's
// data as it is now (to offer each control in its current state), their
// review cases and how ranking works.
type AnswerView struct {
	Answer  *explain.Answer
	View    *features.CustomerView
	Cases   []*explain.Case // newest first
	Ranking []explain.Section
}

// ViewAnswer reads a stored answer with what the customer's page shows
// beside it.
func (a *App) ViewAnswer(ctx context.Context, who Actor, id string) (*AnswerView, error) {
	if who.Role != RoleCustomer {
		return nil, errCustomersOnly
	}
	owner, answer, err := a.readableAnswer(ctx, OpGetRecommendation, who, id, a.now())
	if err != nil {
		return nil, err
	}
	view, err := a.store.Load(ctx, owner)
	if err != nil {
		return nil, err
	}
	cases, err := a.reviews.Customer(ctx, owner)
	if err != nil {
		return nil, err
	}
	return &AnswerView{Answer: answer, View: view, Cases: cases, Ranking: explain.RankingDescription(a.rankingFacts(view.Policy))}, nil
}

// MaxListedSignals bounds the actions HeldData lists (the most recent
// first); the export holds them all.
const MaxListedSignals = 200

// HeldData is what the privacy center shows of a customer.
type HeldData struct {
	Consent  consent.State
	Held     features.Held
	Controls features.Controls
	Catalog  *features.CatalogSnapshot
	// Policy is the signal-set policy the signals' uses were decided under.
	Policy    *consent.Policy
	Signals   []HeldSignal // the most recent MaxListedSignals, newest first
	Retention *features.Retention
	Reviews   []*explain.Case
	// At is the instant the signals' uses (and expiry) were decided at.
	At time.Time
}

// HeldSignal is one stored signal with, for each purpose it was collected
// for, whether it is used for that purpose now.
type HeldSignal struct {
	features.Signal
	// Uses are its collection purposes in purpose order, each decided by
	// the rule the recommender applies (features' UsableFor).
	Uses []SignalUse
}

// SignalUse is one purpose a signal was collected for, and whether it is
// used for it now.
type SignalUse struct {
	Purpose consent.Purpose
	// NotUsed is why the signal is not used for Purpose now, or 0 when it is.
	NotUsed features.Reason
}

// Used reports whether the signal is used for the purpose now.
func (u SignalUse) Used() bool { return u.NotUsed == 0 }

// ViewHeldData reads what candor holds about the customer, for the privacy
// center, in bounded memory however long the history.
func (a *App) ViewHeldData(ctx context.Context, who Actor) (*HeldData, error) {
	if who.Role != RoleCustomer {
		return nil, errCustomersOnly
	}
	p, err := a.customer(ctx, OpExportCustomerData, who, "")
	if err != nil {
		return nil, err
	}
	in := &HeldData{Retention: a.store.Retention(), At: a.now()}
	if in.Consent, err = a.store.Consent(ctx, p); err != nil {
		return nil, err
	}
	if in.Held, err = a.store.Held(ctx, p); err != nil {
		return nil, err
	}
	if in.Controls, err = a.store.Controls(ctx, p); err != nil {
		return nil, err
	}
	if in.Catalog, err = a.catalog.Current(ctx); err != nil {
		return nil, err
	}
	if in.Policy, err = a.policies.Current(ctx); err != nil {
		return nil, err
	}
	if in.Reviews, err = a.reviews.Customer(ctx, p); err != nil {
		return nil, err
	}
	recent := &newestSignals{}
	err = a.store.EachSignal(ctx, p, func(sig features.Signal) error {
		heap.Push(recent, sig)
		if recent.Len() > MaxListedSignals {
			heap.Pop(recent)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	in.Signals = make([]HeldSignal, recent.Len())
	for i := len(in.Signals) - 1; i >= 0; i-- {
		in.Signals[i].Signal = heap.Pop(recent).(features.Signal)
	}
	// Whether each is used now is the recommender's rule, asked about one
	// signal and one of its collection purposes at a time.
	view := &features.CustomerView{Consent: in.Consent, Controls: in.Controls, Policy: in.Policy, Catalog: in.Catalog}
	for i := range in.Signals {
		sig := &in.Signals[i]
		for _, p := range sig.Purposes.Purposes() {
			sig.Uses = append(sig.Uses, SignalUse{Purpose: p, NotUsed: a.store.WhyNotUsable(view, &sig.Signal, p, in.At)})
		}
	}
	return in, nil
}

// HeldCounts counts what is held about the customer, by kind (what an
// erasure would delete), without the GPC signal: the confirmation step of
// an erasure, like the erasure, records nothing first.
func (a *App) HeldCounts(ctx context.Context, who Actor) (features.Held, error) {
	if who.Role != RoleCustomer {
		return features.Held{}, errCustomersOnly
	}
	p, err := a.whose(OpEraseCustomer, who, "")
	if err != nil {
		return features.Held{}, err
	}
	return a.store.Held(ctx, p)
}

// SignalPhrase is a signal as its owner reads it ("you viewed Trail Runner 2
// shoes on 3 November").
func (a *App) SignalPhrase(ctx context.Context, sig features.Signal) string {
	title := sig.ItemID
	if catalog, err := a.catalog.Current(ctx); err == nil {
		if it := catalog.Item(sig.ItemID); it != nil {
			title = it.Title
		}
	}
	return explain.SignalPhrase(sig.Type, title, sig.OccurredAt)
}

// newestSignals is a min-heap by time: its root is the oldest kept.
type newestSignals []features.Signal

func (h newestSignals) Len() int { return len(h) }
func (h newestSignals) Less(i, j int) bool {
	if !h[i].OccurredAt.Equal(h[j].OccurredAt) {
		return h[i].OccurredAt.Before(h[j].OccurredAt)
	}
	return h[i].ID < h[j].ID
}
func (h newestSignals) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *newestSignals) Push(x any)   { *h = append(*h, x.(features.Signal)) }
func (h *newestSignals) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
