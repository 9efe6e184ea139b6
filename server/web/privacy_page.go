package web

import (
	"time"

	"github.com/candorhq/candor/app"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// The facts the privacy center's templates render. Every word a customer
// reads is in the templates (templates/privacy*.html), except the sentences
// the domain words once for every page (explain: a signal's phrase, and why
// a signal is not used); this file gathers facts from the core, read fresh
// on every view.

// privacyInput is what one view of the page is made from.
type privacyInput struct {
	*app.HeldData
	CSRF      string
	GPC       bool // the request carries Sec-GPC: 1
	Flash     *privacyFlash
	ExpiresIn time.Duration
	Now       time.Time
}

// privacyPage is one rendering of the page.
type privacyPage struct {
	CSRF   string
	Status *privacyFlash
	// GPC: the browser sends the Global Privacy Control; GPCPurposes are
	// the purposes it keeps off (API names).
	GPC         bool
	GPCPurposes []string
	Purposes    []privacyPurpose
	Held        []privacyCount
	Signals     []privacySignal
	// SignalsTotal is how many signals are held; Signals shows at most
	// privacyMaxSignals of them.
	SignalsTotal int64
	Reviews      []privacyReview
	// ExpiresMinutes is how long the session has left, in whole minutes.
	ExpiresMinutes int
}

// privacyPurpose is one purpose's switch.
type privacyPurpose struct {
	Purpose     string // API name
	Description string // what consenting allows, in the purpose's words
	On          bool
	Status      string // unknown, given, refused, withdrawn
	Method      string // how the last decision was made (ui, api, gpc, ...)
	Since       string // the last decision's date
	// HeldOff: off, and kept off while the browser sends the GPC; only a
	// switch that confirms the choice over the signal is offered.
	HeldOff bool
	CSRF    string
}

// privacyCount is how many records of one kind are held.
type privacyCount struct {
	Kind string // a Receipt's count key: signals, consent_decisions, ...
	N    int64
}

// privacySignal is one stored action with its delete and correct forms.
type privacySignal struct {
	ID        string
	Title     string // the item's title, or its id when it left the catalogue
	Phrase    string // the action as its owner reads it (explain.SignalPhrase)
	ItemID    string
	Type      string // API name
	Value     int    // a rating's stars
	When      string // as a person reads it, in UTC
	WhenInput string // as a datetime-local field holds it (privacyTimeLayout)
	// Uses are the purposes it was collected for, each with whether it is
	// used for it now.
	Uses    []privacyUse
	Expires string
	Expired bool // past its retention, deleted at the next sweep
	// Suppressed: the customer asked us not to use it.
	Suppressed bool
	CSRF       string
}

// privacyUse is one purpose a signal was collected for: whether it is used
// for it now (the core decides, by the recommender's rule) and, when not,
// why not.
type privacyUse struct {
	Purpose string // API name
	Used    bool
	Why     string // why not, as the customer reads it (explain.NotUsedWhy)
}

type privacyReview struct {
	Kind, Status, Message, Reply string
	Opened, Updated              string
}

func privacyTime(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") }

// orderedCounts lists counts by kind in the order of features.HeldKinds.
func orderedCounts(counts map[string]int64) []privacyCount {
	out := make([]privacyCount, 0, len(features.HeldKinds))
	for _, kind := range features.HeldKinds {
		out = append(out, privacyCount{Kind: kind, N: counts[kind]})
	}
	return out
}

// buildPrivacyPage gathers the facts of the page.
func buildPrivacyPage(in *privacyInput) *privacyPage {
	page := &privacyPage{
		CSRF: in.CSRF, Status: in.Flash, GPC: in.GPC, GPCPurposes: consent.GPCPurposes.Names(),
		Held: orderedCounts(in.Held.Counts()), SignalsTotal: in.Held.Signals,
		ExpiresMinutes: max(0, int(in.ExpiresIn/time.Minute)),
	}
	for _, p := range consent.Purposes() {
		d := in.Consent.Decisions[p]
		pp := privacyPurpose{
			Purpose: p.String(), Description: p.Info().Description, On: d.Granted(),
			Status: d.Status.String(), CSRF: in.CSRF,
			HeldOff: in.GPC && !d.Granted() && consent.GPCPurposes.Has(p),
		}
		if d.Method.Valid() {
			pp.Method = d.Method.String()
		}
		if !d.UpdatedAt.IsZero() {
			pp.Since = whyDate(d.UpdatedAt)
		}
		page.Purposes = append(page.Purposes, pp)
	}
	for i := range in.Signals {
		sig := &in.Signals[i]
		ps := privacySignal{
			ID: sig.ID, Title: sig.ItemID, ItemID: sig.ItemID, Type: sig.Type.String(),
			When: privacyTime(sig.OccurredAt), WhenInput: sig.OccurredAt.UTC().Format(privacyTimeLayout),
			Suppressed: in.Controls.SuppressedSignal(sig.ID), CSRF: in.CSRF,
		}
		for _, u := range sig.Uses {
			pu := privacyUse{Purpose: u.Purpose.String(), Used: u.Used()}
			if !pu.Used {
				pu.Why = explain.NotUsedWhy(u.NotUsed, sig.Type, u.Purpose, in.Retention.For(sig.Type), in.Consent.Decisions[u.Purpose].Status)
			}
			ps.Uses = append(ps.Uses, pu)
		}
		if sig.Type == consent.Rating {
			ps.Value = int(sig.Value)
		}
		if it := in.Catalog.Item(sig.ItemID); it != nil {
			ps.Title = it.Title
		}
		ps.Phrase = explain.SignalPhrase(sig.Type, ps.Title, sig.OccurredAt)
		expires := in.Retention.Expiry(&sig.Signal)
		ps.Expires, ps.Expired = whyDate(expires), !expires.After(in.At)
		page.Signals = append(page.Signals, ps)
	}
	for _, c := range in.Reviews {
		r := privacyReview{Kind: c.Kind, Status: c.Status, Message: c.Message, Reply: c.Reply, Opened: whyDate(c.CreatedAt)}
		if !c.UpdatedAt.Equal(c.CreatedAt) {
			r.Updated = whyDate(c.UpdatedAt)
		}
		page.Reviews = append(page.Reviews, r)
	}
	return page
}

// privacyConfirm is the delete-account confirmation page.
type privacyConfirm struct {
	CSRF string
	// Missing: the form was sent without ticking the confirmation.
	Missing bool
	Held    []privacyCount
}

// privacyReceipt is the erasure receipt page.
type privacyReceipt struct {
	ID       string
	ErasedAt string
	Counts   []privacyCount
	// Pending: a model in use was trained before the erasure; it stops
	// reflecting the customer by ReflectedUntil at the latest.
	Pending        bool
	ReflectedUntil string
	ModelTrainedAt string
}

func buildReceipt(f privacyReceiptFacts) *privacyReceipt {
	r := f.Receipt
	out := &privacyReceipt{ID: r.ID, ErasedAt: privacyTime(r.ErasedAt), Pending: f.Pending, Counts: orderedCounts(r.Counts)}
	if !r.ReflectedAtMostUntil.IsZero() {
		out.ReflectedUntil = privacyTime(r.ReflectedAtMostUntil)
	}
	if !r.ModelTrainedAt.IsZero() {
		out.ModelTrainedAt = privacyTime(r.ModelTrainedAt)
	}
	return out
}
