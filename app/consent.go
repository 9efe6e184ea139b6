package app

import (
	"context"
	"slices"
	"strconv"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
)

// ChoiceInput is one purpose's choice as a door received it.
type ChoiceInput struct {
	Purpose    string
	Granted    bool
	Sensitive  bool
	DeleteData bool
}

// ConsentUpdate is a set of choices made at once, under one notice.
type ConsentUpdate struct {
	Choices       []ChoiceInput
	NoticeVersion string
	// Method is how the customer chose: ui, api, gpc, import.
	Method string
	// ConfirmOverGPC says the customer, told that their browser's Global
	// Privacy Control asks for a purpose to stay off, chose to turn it on.
	ConfirmOverGPC bool
}

// GetConsents returns a customer's consent state.
func (a *App) GetConsents(ctx context.Context, who Actor, customerID string) (consent.State, error) {
	p, err := a.customer(ctx, OpGetConsents, who, customerID)
	if err != nil {
		return consent.State{}, err
	}
	return a.store.Consent(ctx, p)
}

// UpdateConsents records a customer's choices in their consent ledger.
// While the request carries GPC, a grant of a purpose GPC keeps off is
// refused unless confirmed (ErrGPCConflict). A revocation with delete_data
// deletes the purpose's signals and the stored answers made for it.
func (a *App) UpdateConsents(ctx context.Context, who Actor, customerID string, u ConsentUpdate) (features.ConsentResult, error) {
	p, err := a.customer(ctx, OpUpdateConsents, who, customerID)
	if err != nil {
		return features.ConsentResult{}, err
	}
	return a.updateConsents(ctx, who, p, u)
}

func (a *App) updateConsents(ctx context.Context, who Actor, p features.Pseudonym, u ConsentUpdate) (features.ConsentResult, error) {
	if u.Method == "" {
		return features.ConsentResult{}, fault.Wrapf(consent.ErrInvalid, "method: required: one of ui, api, gpc, import")
	}
	method, err := consent.ParseMethod("method", u.Method)
	if err != nil {
		return features.ConsentResult{}, err
	}
	change := consent.Change{NoticeVersion: u.NoticeVersion, Method: method, ActorRole: string(who.Role), At: a.now(), OverGPC: u.ConfirmOverGPC && gpcApplies(who)}
	var erase consent.PurposeSet
	for i, ch := range u.Choices {
		purpose, err := consent.ParsePurpose("choices["+strconv.Itoa(i)+"].purpose", ch.Purpose)
		if err != nil {
			return features.ConsentResult{}, err
		}
		change.Choices = append(change.Choices, consent.Choice{Purpose: purpose, Granted: ch.Granted, Sensitive: ch.Sensitive, DeleteData: ch.DeleteData})
		if ch.DeleteData {
			erase = erase.With(purpose)
		}
	}
	if err := checkGPCConflict(who, change.Choices, u.ConfirmOverGPC); err != nil {
		return features.ConsentResult{}, err
	}
	res, err := a.store.ApplyConsent(ctx, p, change)
	if err != nil {
		return features.ConsentResult{}, err
	}
	if !erase.Empty() {
		// Stored answers cite the deleted signals; they go too (idempotent,
		// so a failed call can be retried).
		if _, err := a.explanations.DeleteFor(ctx, p, erase); err != nil {
			return features.ConsentResult{}, err
		}
	}
	return res, nil
}

// PageChoice is one choice a customer makes on one of candor's own pages.
type PageChoice struct {
	Purpose string
	Granted bool
	// DeleteData, with Granted false, deletes what was collected for the
	// purpose (as delete_data on UpdateConsents).
	DeleteData bool
	// ConfirmOverGPC: the customer confirmed a grant their browser's Global
	// Privacy Control asks against.
	ConfirmOverGPC bool
}

// ChooseOnPage records a choice the customer made on one of candor's own
// pages (the why page, the privacy center): method "ui", under the notice
// version the operator configures (Config.NoticeVersion), by the customer.
// It is UpdateConsents, with every rule of it.
func (a *App) ChooseOnPage(ctx context.Context, who Actor, c PageChoice) (features.ConsentResult, error) {
	return a.UpdateConsents(ctx, who, "", ConsentUpdate{
		Choices:       []ChoiceInput{{Purpose: c.Purpose, Granted: c.Granted, DeleteData: c.DeleteData}},
		NoticeVersion: a.cfg.NoticeVersion, Method: consent.MethodUI.String(), ConfirmOverGPC: c.ConfirmOverGPC,
	})
}

// ListConsentHistory returns a page of a customer's consent ledger, oldest
// first, and the next page's token.
func (a *App) ListConsentHistory(ctx context.Context, who Actor, customerID string, page Page) ([]consent.LedgerEntry, string, error) {
	p, err := a.customer(ctx, OpListConsentHistory, who, customerID)
	if err != nil {
		return nil, "", err
	}
	offset, size, err := page.bounds()
	if err != nil {
		return nil, "", err
	}
	entries, total, err := a.store.Ledger(ctx, p, offset, size)
	if err != nil {
		return nil, "", err
	}
	return entries, nextPageToken(offset, int64(len(entries)), total), nil
}

// ObjectToProfiling records an objection to profiling (GDPR article 21):
// personalisation and marketing emails withdrawn, with method "objection".
func (a *App) ObjectToProfiling(ctx context.Context, who Actor, customerID, noticeVersion string) (features.ConsentResult, error) {
	p, err := a.customer(ctx, OpObjectToProfiling, who, customerID)
	if err != nil {
		return features.ConsentResult{}, err
	}
	return a.store.ApplyConsent(ctx, p, consent.Change{
		Choices:       []consent.Choice{{Purpose: consent.Personalization}, {Purpose: consent.MarketingEmail}},
		NoticeVersion: noticeVersion, Method: consent.MethodObjection, ActorRole: string(who.Role), At: a.now(),
	})
}

// ObjectOnPage is ObjectToProfiling made on one of candor's own pages, under
// the notice version the operator configures.
func (a *App) ObjectOnPage(ctx context.Context, who Actor) (features.ConsentResult, error) {
	return a.ObjectToProfiling(ctx, who, "", a.cfg.NoticeVersion)
}

// TCFImport is what importing a TCF consent string recorded.
type TCFImport struct {
	features.ConsentResult
	// TCFPurposesGranted are the TCF purposes (1 to 24) the string grants.
	TCFPurposesGranted []int
}

// ImportTcfConsent records the choices a TCF v2 consent string makes for the
// purposes it maps to, with method "import". While the request carries
// GPC, the string's grants of purposes GPC keeps off are left out (the
// opt-out the signal recorded stands: a CMP's string is not the customer's
// confirmation), and the rest is imported.
func (a *App) ImportTcfConsent(ctx context.Context, who Actor, customerID, tcString string) (TCFImport, error) {
	p, err := a.customer(ctx, OpImportTcfConsent, who, customerID)
	if err != nil {
		return TCFImport{}, err
	}
	choices, granted, notice, err := consent.TCFChoices(tcString)
	if err != nil {
		return TCFImport{}, err
	}
	if gpcApplies(who) {
		choices = slices.DeleteFunc(choices, consent.Choice.GrantsGPCPurpose)
	}
	res := features.ConsentResult{}
	if len(choices) == 0 {
		if res.State, err = a.store.Consent(ctx, p); err != nil {
			return TCFImport{}, err
		}
		return TCFImport{ConsentResult: res, TCFPurposesGranted: granted}, nil
	}
	res, err = a.store.ApplyConsent(ctx, p, consent.Change{
		Choices: choices, NoticeVersion: notice, Method: consent.MethodImport, ActorRole: string(who.Role), At: a.now(),
	})
	if err != nil {
		return TCFImport{}, err
	}
	return TCFImport{ConsentResult: res, TCFPurposesGranted: granted}, nil
}
