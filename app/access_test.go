package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
)

// useCases runs every use case of the access table once, as who, with
// input that would otherwise be valid. A use case missing here fails
// TestEveryUseCaseChecksAccessFirst.
func useCases() map[Op]func(ctx context.Context, a *App, who Actor) error {
	const id = "customer-1"
	page := Page{}
	rec := "rec_" + "abcdefghijklmnopqrstuvwx"
	caseID := "case_" + "abcdefghijklmnopqrstuvwx"
	item := features.Item{ID: "sku-1", Title: "An item"}
	return map[Op]func(ctx context.Context, a *App, who Actor) error{
		OpGetConsents: func(ctx context.Context, a *App, who Actor) error { _, err := a.GetConsents(ctx, who, id); return err },
		OpUpdateConsents: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.UpdateConsents(ctx, who, id, ConsentUpdate{Choices: []ChoiceInput{{Purpose: "support", Granted: true}}, NoticeVersion: "v1", Method: "ui"})
			return err
		},
		OpListConsentHistory: func(ctx context.Context, a *App, who Actor) error {
			_, _, err := a.ListConsentHistory(ctx, who, id, page)
			return err
		},
		OpListControls: func(ctx context.Context, a *App, who Actor) error { _, err := a.ListControls(ctx, who, id); return err },
		OpSetControl: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.SetControl(ctx, who, id, ControlChange{Kind: "items", Target: "sku-1"})
			return err
		},
		OpRemoveControl: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.RemoveControl(ctx, who, id, ControlChange{Kind: "items", Target: "sku-1"})
			return err
		},
		OpListControlHistory: func(ctx context.Context, a *App, who Actor) error {
			_, _, err := a.ListControlHistory(ctx, who, id, page)
			return err
		},
		OpCreateCustomerToken: func(ctx context.Context, a *App, who Actor) error {
			_, _, err := a.CreateCustomerToken(ctx, who, id, 0)
			return err
		},
		OpGetRankingDescription: func(ctx context.Context, a *App, who Actor) error {
			_, _, err := a.RankingDescription(ctx, who)
			return err
		},
		OpTrackSignals: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.TrackSignals(ctx, who, id, []features.SignalInput{{Type: "view", ItemID: "sku-1", Purposes: []string{"personalization"}}})
			return err
		},
		OpPutItem: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.PutItem(ctx, who, item.ID, &item)
			return err
		},
		OpGetItem: func(ctx context.Context, a *App, who Actor) error { _, err := a.GetItem(ctx, who, item.ID); return err },
		OpDeleteItem: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.DeleteItem(ctx, who, item.ID)
			return err
		},
		OpBatchUpsertItems: func(ctx context.Context, a *App, who Actor) error {
			return a.BatchUpsertItems(ctx, who, []features.Item{item})
		},
		OpGetSignalSets: func(ctx context.Context, a *App, who Actor) error { _, err := a.GetSignalSets(ctx, who); return err },
		OpPutSignalSets: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.PutSignalSets(ctx, who, []consent.SignalSetInput{{Purpose: "support", SignalTypes: []string{"support_ticket"}}}, 0)
			return err
		},
		OpGetRecommendations: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.GetRecommendations(ctx, who, RecommendRequest{CustomerID: id})
			return err
		},
		OpGetRecommendation: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.GetRecommendation(ctx, who, rec)
			return err
		},
		OpExportCustomerData: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.Export(ctx, who, id, func([]byte) error { return nil })
			return err
		},
		OpEraseCustomer: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.EraseCustomer(ctx, who, id)
			return err
		},
		OpListErasureReceipts: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.ListErasureReceipts(ctx, who, page)
			return err
		},
		OpDeleteSignal: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.DeleteSignal(ctx, who, id, "sig_abcdefghijklmnopqrstuvwx")
			return err
		},
		OpCorrectSignal: func(ctx context.Context, a *App, who Actor) error {
			at := time.Now()
			_, err := a.CorrectSignal(ctx, who, id, "sig_abcdefghijklmnopqrstuvwx", features.Correction{OccurredAt: &at})
			return err
		},
		OpObjectToProfiling: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.ObjectToProfiling(ctx, who, id, "v1")
			return err
		},
		OpImportTcfConsent: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.ImportTcfConsent(ctx, who, id, "CPc")
			return err
		},
		OpCreateReview: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.CreateReview(ctx, who, rec, "contest", "why?")
			return err
		},
		OpListCustomerReviews: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.ListCustomerReviews(ctx, who, id)
			return err
		},
		OpListReviews: func(ctx context.Context, a *App, who Actor) error {
			_, _, err := a.ListReviews(ctx, who, "", page)
			return err
		},
		OpGetReview: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.GetReview(ctx, who, caseID)
			return err
		},
		OpUpdateReview: func(ctx context.Context, a *App, who Actor) error {
			_, err := a.UpdateReview(ctx, who, caseID, "in_review", "")
			return err
		},
	}
}

// TestEveryUseCaseChecksAccessFirst: every use case refuses a role the
// access table does not list with PermissionDenied, before it reads or
// writes anything (the core's store here is a Redis that never answers:
// reaching it would be another error), whichever door called it.
func TestEveryUseCaseChecksAccessFirst(t *testing.T) {
	t.Parallel()
	a := testApp(t, features.GenerateSecret(), time.Now)
	cases := useCases()
	for _, op := range Ops() {
		run, ok := cases[op]
		if !ok {
			t.Errorf("%s: no case here; add it to useCases", op)
			continue
		}
		for _, role := range append(Roles, RoleCustomer) {
			if Allowed(op, role) {
				continue
			}
			who := Actor{Role: role, KeyName: "test"}
			if role == RoleCustomer {
				who = CustomerActor(a.Pseudonym("customer-1"), false)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err := run(ctx, a, who)
			cancel()
			if fault.CodeOf(err) != fault.PermissionDenied {
				t.Errorf("%s as %s: %v; want PermissionDenied before anything is read", op, role, err)
			}
		}
	}
	if len(cases) != len(Ops()) {
		t.Errorf("useCases has %d cases for %d use cases", len(cases), len(Ops()))
	}
}

// TestGPCConflict: only a grant of a purpose GPC covers, by a role that
// relays the customer's browser, while the signal is sent, and without the
// customer's confirmation, is refused.
func TestGPCConflict(t *testing.T) {
	t.Parallel()
	grant := func(p consent.Purpose) []consent.Choice { return []consent.Choice{{Purpose: p, Granted: true}} }
	customer := CustomerActor("p", true)
	for _, tc := range []struct {
		name      string
		who       Actor
		choices   []consent.Choice
		confirmed bool
		refused   bool
	}{
		{"marketing email over GPC", customer, grant(consent.MarketingEmail), false, true},
		{"model training over GPC", customer, grant(consent.ModelTraining), false, true},
		{"confirmed", customer, grant(consent.MarketingEmail), true, false},
		{"personalisation (GPC does not cover it)", customer, grant(consent.Personalization), false, false},
		{"a withdrawal", customer, []consent.Choice{{Purpose: consent.MarketingEmail}}, false, false},
		{"no signal", CustomerActor("p", false), grant(consent.MarketingEmail), false, false},
		{"relayed by the storefront", Actor{Role: RoleStorefront, GPC: true}, grant(consent.ModelTraining), false, true},
		{"the privacy officer's requests carry no browser", Actor{Role: RolePrivacyOfficer, GPC: true}, grant(consent.ModelTraining), false, false},
	} {
		err := checkGPCConflict(tc.who, tc.choices, tc.confirmed)
		if refused := err != nil; refused != tc.refused {
			t.Errorf("%s: %v; refused %t, want %t", tc.name, err, refused, tc.refused)
		}
		if err != nil && (fault.CodeOf(err) != fault.FailedPrecondition || !strings.Contains(fault.MessageOf(err), "Global Privacy Control")) {
			t.Errorf("%s: %v; want FailedPrecondition naming the Global Privacy Control", tc.name, err)
		}
	}
}
