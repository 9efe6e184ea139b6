package app

import (
	"context"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
)

// The Global Privacy Control: a browser sends "Sec-GPC: 1" to ask that its
// user's data not be sold or shared. candor honours it on every use case
// about a customer run by the customer (a customer token, the why page, the
// privacy center) or by the storefront or support chat relaying the
// browser's header: the purposes in consent.GPCPurposes are recorded as
// refused or withdrawn, with method "gpc", before the use case runs. A
// purpose already refused or withdrawn is left alone, so the ledger gets one
// entry per opt-out, not one per request.
//
// While a request carries the signal, a grant of a purpose it keeps off is
// refused (ErrGPCConflict) unless the customer confirms it after being told
// of the conflict (CCPA regulations § 7025(c)(3)); the ledger records such
// a grant as confirmed over GPC, and a confirmed grant is not withdrawn
// again by the next request's signal.

// gpcRoles are the actors whose requests may carry a customer's browser
// header.
var gpcRoles = map[Role]bool{RoleCustomer: true, RoleStorefront: true, RoleSupportAgent: true}

// ErrGPCConflict refuses a grant of a purpose the request's Global Privacy
// Control keeps off, until the customer confirms it.
var ErrGPCConflict = fault.Kind(fault.FailedPrecondition,
	"the browser's Global Privacy Control asks that this purpose stay off: confirm the choice to turn it on anyway (confirm_over_gpc)")

// gpcApplies reports whether the actor's request carries a GPC signal that
// candor honours.
func gpcApplies(who Actor) bool { return who.GPC && gpcRoles[who.Role] }

// honourGPC records the opt-out for the GPC purposes still given or never
// asked, unless the customer confirmed a grant over GPC. A browser sends the
// header on every request, so the usual case, already opted out, is one
// read; a change is filtered again inside the consent transaction, so
// concurrent requests record it once.
func (a *App) honourGPC(ctx context.Context, who Actor, p features.Pseudonym) error {
	if !gpcApplies(who) {
		return nil
	}
	state, err := a.store.Consent(ctx, p)
	if err != nil {
		return err
	}
	var choices []consent.Choice
	for _, purpose := range consent.GPCPurposes.Purposes() {
		d := state.Decisions[purpose]
		if d.SettledUnderGPC() {
			continue
		}
		choices = append(choices, consent.Choice{Purpose: purpose})
	}
	if len(choices) == 0 {
		return nil
	}
	_, err = a.store.ApplyConsent(ctx, p, consent.Change{
		Choices: choices, NoticeVersion: "global-privacy-control", Method: consent.MethodGPC, ActorRole: string(who.Role), At: a.now(),
		SkipOptedOut: true,
	})
	return err
}

// checkGPCConflict refuses, while the request carries GPC, a grant of a
// purpose GPC keeps off, unless confirmed.
func checkGPCConflict(who Actor, choices []consent.Choice, confirmed bool) error {
	if !gpcApplies(who) || confirmed {
		return nil
	}
	for _, ch := range choices {
		if ch.GrantsGPCPurpose() {
			return fault.Wrapf(ErrGPCConflict, "%s: the browser's Global Privacy Control asks that it stay off; confirm the choice to turn it on anyway (confirm_over_gpc)", ch.Purpose)
		}
	}
	return nil
}

// HonourGPC records the opt-out a customer's own page request carries, for
// a request that runs no other use case first (the link that opens the
// privacy center). Other use cases honour it themselves.
func (a *App) HonourGPC(ctx context.Context, who Actor) error {
	if who.Role != RoleCustomer {
		return errCustomersOnly
	}
	return a.honourGPC(ctx, who, who.Customer)
}
