package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// The Global Privacy Control: a browser sends "Sec-GPC: 1" to ask that its
// user's data not be sold or shared. candor honours it on every call about
// a customer made by the customer (a customer token, the /why and /privacy
// pages) or by the storefront or support chat relaying the browser's header:
// the purposes in consent.GPCPurposes are recorded as refused or withdrawn,
// with method "gpc", before the call is served. A purpose already refused or
// withdrawn is left alone, so the ledger gets one entry per opt-out, not one
// per request.

// gpcRoles are the callers whose requests may carry a customer's browser
// header.
var gpcRoles = map[Role]bool{RoleCustomer: true, RoleStorefront: true, RoleSupportAgent: true}

// gpcMoot are the methods a GPC signal is not applied on: an erasure
// deletes everything held about the customer, so an opt-out recorded
// before it would be personal data written only to be deleted (and counted
// in the receipt of a customer of whom nothing was held).
var gpcMoot = map[string]bool{"/candor.v1.RightsService/EraseCustomer": true}

// gpcUnary applies a GPC signal carried by the request (after auth).
func (a *app) gpcUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if gpcMoot[info.FullMethod] {
		return handler(ctx, req)
	}
	if err := a.gpcFor(ctx, req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// gpcStream does the same for streaming calls (the export).
func (a *app) gpcStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &checkedStream{ServerStream: ss, ctx: ss.Context(), check: a.gpcFor})
}

// gpcFor records the opt-out when the call is about one customer, made by a
// role that relays the customer's browser, and carries "Sec-GPC: 1".
func (a *app) gpcFor(ctx context.Context, req any) error {
	r, ok := req.(customerRequest)
	if !ok {
		return nil
	}
	// Cheapest first: this runs on every call.
	role, _ := RoleFrom(ctx)
	if !gpcRoles[role] || !gpcSet(metadata.ValueFromIncomingContext(ctx, gpcHeader)) || checkCustomerID(r.GetCustomerId()) != nil {
		return nil
	}
	if err := a.applyGPC(ctx, a.pseudonyms.Pseudonym(r.GetCustomerId()), role); err != nil {
		return a.status(ctx, "GPC", err)
	}
	return nil
}

// gpcHeader is the Sec-GPC header as gRPC metadata (the REST gateway
// forwards it under this name).
const gpcHeader = "sec-gpc"

func gpcSet(values []string) bool {
	for _, v := range values {
		if v == "1" {
			return true
		}
	}
	return false
}

// applyGPC records the opt-out for the GPC purposes still given or never
// asked. A browser sends the header on every request, so the usual case,
// already opted out, is one read; a change is filtered again inside the
// consent transaction, so concurrent requests record it once.
func (a *app) applyGPC(ctx context.Context, p features.Pseudonym, role Role) error {
	state, err := a.store.Consent(ctx, p)
	if err != nil {
		return err
	}
	var choices []consent.Choice
	for _, purpose := range consent.GPCPurposes.Purposes() {
		if st := state.Decisions[purpose].Status; st != consent.StatusRefused && st != consent.StatusWithdrawn {
			choices = append(choices, consent.Choice{Purpose: purpose})
		}
	}
	if len(choices) == 0 {
		return nil
	}
	_, err = a.store.ApplyConsent(ctx, p, consent.Change{
		Choices: choices, NoticeVersion: "global-privacy-control", Method: consent.MethodGPC, ActorRole: string(role), At: a.now(),
		SkipOptedOut: true,
	})
	return err
}

// errGPCKeepsOff refuses, on a page, to turn on a purpose the request's
// GPC signal keeps off.
var errGPCKeepsOff = errors.New("the browser's Global Privacy Control keeps this purpose off")

// sendsGPC reports whether a page request carries "Sec-GPC: 1".
func sendsGPC(r *http.Request) bool { return gpcSet(r.Header.Values("Sec-GPC")) }

// pageGPC records the customer's GPC opt-out on a request to the why page
// or the privacy center, as the API does for calls that carry the header.
func (s *Server) pageGPC(c echo.Context, p features.Pseudonym) error {
	if !sendsGPC(c.Request()) {
		return nil
	}
	return s.applyGPC(c.Request().Context(), p, RoleCustomer)
}
