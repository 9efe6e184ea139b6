package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestCustomerTokenOverTheWire: a customer token opens its own customer's
// data over gRPC and REST, another's never, and once expired answers
// Unauthenticated, saying so (with a Bearer challenge over REST).
func TestCustomerTokenOverTheWire(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	f.shopper(t, "token-alice")
	tok := f.s.mintToken(t, "token-alice", time.Minute)
	if _, err := f.consents().GetConsents(callAs(tok), &candorv1.GetConsentsRequest{CustomerId: "token-alice"}); err != nil {
		t.Fatalf("own data: %v", err)
	}
	_, err := f.consents().GetConsents(callAs(tok), &candorv1.GetConsentsRequest{CustomerId: "token-bob"})
	wantCode(t, "another customer's data", err, codes.PermissionDenied)

	f.clock.Advance(2 * time.Minute)
	_, err = f.consents().GetConsents(callAs(tok), &candorv1.GetConsentsRequest{CustomerId: "token-alice"})
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "expired") {
		t.Errorf("an expired token over gRPC: %v; want Unauthenticated saying it expired", err)
	}
	resp, body := f.rest(t, http.MethodGet, "/v1/customers/token-alice/consents", tok, "", nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "expired") || resp.Header.Get("WWW-Authenticate") != `Bearer realm="candor"` {
		t.Errorf("an expired token over REST: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
}
