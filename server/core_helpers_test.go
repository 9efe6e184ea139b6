package server

import (
	"context"
	"testing"
	"time"

	"github.com/candorhq/candor/app"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
	"github.com/candorhq/candor/server/grpcapi"
)

// The names the pages give their cookies and labels, as a browser sees
// them: the tests check the pages against these (package web keeps its own
// unexported).
const (
	whyCookie            = "candor_why"
	whyFlashCookie       = "candor_why_done"
	privacyCookie        = "candor_privacy"
	privacyFlashCookie   = "candor_privacy_done"
	privacyReceiptCookie = "candor_privacy_receipt"
	privacyTimeLayout    = "2006-01-02T15:04"
)

// storefront is the storefront acting through the core, as its API calls
// would.
var storefront = app.System(app.RoleStorefront)

// mintToken mints a customer token, as CreateCustomerToken would.
func (s *Server) mintToken(tb testing.TB, customerID string, ttl time.Duration) string {
	tb.Helper()
	tok, _, err := s.core.CreateCustomerToken(context.Background(), storefront, customerID, ttl)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// tokenExpiry is when a customer token expires.
func (s *Server) tokenExpiry(tb testing.TB, token string) time.Time {
	tb.Helper()
	sess, err := s.core.OpenToken(token)
	if err != nil {
		tb.Fatal(err)
	}
	return sess.Expires
}

// recommendAs asks the core for an answer as role would, rendered as the
// API answers it.
func (s *Server) recommendAs(ctx context.Context, role app.Role, req app.RecommendRequest) (*candorv1.Recommendation, error) {
	answer, err := s.core.GetRecommendations(ctx, app.System(role), req)
	if err != nil {
		return nil, err
	}
	return grpcapi.RecommendationMessage(answer, false), nil
}

// exportChunk is the size at which the export is sent on (app's).
const exportChunk = 32 << 10

// formTokenOf is the form token the pages give the session of a customer
// token, read from that customer's own privacy center (the same on both
// pages).
func (f *whyFixture) formTokenOf(t *testing.T, token string) string {
	t.Helper()
	return formToken(t, f.privacyPage(t, f.openPrivacy(t, token)))
}
