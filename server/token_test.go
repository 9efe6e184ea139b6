package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/features"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

func TestCustomerTokens(t *testing.T) {
	t.Parallel()
	secret := features.GenerateSecret()
	clock := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tk := &tokens{codec: features.NewCodec(secret), now: func() time.Time { return clock }}
	ps := features.NewPseudonymizer(secret)
	alice, bob := ps.Pseudonym("alice"), ps.Pseudonym("bob")

	token, expires := tk.mint(alice, 10*time.Minute)
	if !strings.HasPrefix(token, tokenPrefix) || !expires.Equal(clock.Add(10*time.Minute)) {
		t.Fatalf("token %q expires %s", token, expires)
	}
	if strings.Contains(token, string(alice)) || strings.Contains(token, "alice") {
		t.Fatal("the token names its customer in the clear")
	}
	if got, err := tk.verify(token); err != nil || got != alice {
		t.Fatalf("verify: %q, %v", got, err)
	}

	// Forged: any changed character, another secret, or no prefix.
	for i := len(tokenPrefix); i < len(token); i += 7 {
		forged := []byte(token)
		forged[i] ^= 1
		if _, err := tk.verify(string(forged)); err == nil {
			t.Fatalf("a token changed at byte %d still verifies", i)
		}
	}
	other := &tokens{codec: features.NewCodec(features.GenerateSecret()), now: tk.now}
	if _, err := other.verify(token); err == nil {
		t.Fatal("a token verifies under another secret")
	}
	if _, err := tk.verify(strings.TrimPrefix(token, tokenPrefix)); err == nil {
		t.Fatal("a token without its prefix verifies")
	}

	// Expired.
	clock = clock.Add(10 * time.Minute)
	if _, err := tk.verify(token); err != errTokenExpired {
		t.Fatalf("an expired token: %v", err)
	}
	clock = clock.Add(-10 * time.Minute)

	// Other customer's data: the interceptor refuses before the handler.
	keys, _ := ParseAPIKeys("storefront:a-storefront-key-0123456789")
	a, err := newAuthenticator(keys)
	if err != nil {
		t.Fatal(err)
	}
	a.tokens, a.pseudonyms = tk, ps
	call := func(tok, customer string) error {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
		_, err := a.authUnary(ctx, &candorv1.GetConsentsRequest{CustomerId: customer},
			&grpc.UnaryServerInfo{FullMethod: "/candor.v1.ConsentService/GetConsents"},
			func(ctx context.Context, _ any) (any, error) {
				if c, ok := tokenCustomer(ctx); !ok || c != alice {
					t.Errorf("the handler sees customer %q, %v", c, ok)
				}
				return nil, nil
			})
		return err
	}
	if err := call(token, "alice"); err != nil {
		t.Fatalf("own data: %v", err)
	}
	if err := call(token, "bob"); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("another customer's data: %v; want PermissionDenied", err)
	}
	bobToken, _ := tk.mint(bob, time.Minute)
	if err := call(bobToken, "alice"); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("bob's token on alice's data: %v; want PermissionDenied", err)
	}
	clock = clock.Add(time.Hour)
	if err := call(token, "alice"); status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired token: %v; want Unauthenticated saying it expired", err)
	}
	// A customer token never reaches a role's other calls.
	clock = clock.Add(-time.Hour)
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+token))
	_, err = a.authUnary(ctx, &candorv1.TrackSignalsRequest{CustomerId: "alice"},
		&grpc.UnaryServerInfo{FullMethod: "/candor.v1.SignalService/TrackSignals"},
		func(context.Context, any) (any, error) { return nil, nil })
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a customer tracking signals: %v; want PermissionDenied", err)
	}
}
