package app

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
)

func TestCustomerTokens(t *testing.T) {
	t.Parallel()
	secret := features.GenerateSecret()
	clock := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tk := &tokens{codec: features.NewCodec(secret), now: func() time.Time { return clock }}
	ps := features.NewPseudonymizer(secret)
	alice, bob := ps.Pseudonym("alice"), ps.Pseudonym("bob")

	token, expires := tk.mint(alice, 10*time.Minute)
	if !strings.HasPrefix(token, TokenPrefix) || !expires.Equal(clock.Add(10*time.Minute)) {
		t.Fatalf("token %q expires %s", token, expires)
	}
	if strings.Contains(token, string(alice)) || strings.Contains(token, "alice") {
		t.Fatal("the token names its customer in the clear")
	}
	if got, err := tk.verifyForTest(token); err != nil || got != alice {
		t.Fatalf("verify: %q, %v", got, err)
	}

	// Forged: any changed character, another secret, or no prefix.
	for i := len(TokenPrefix); i < len(token); i += 7 {
		forged := []byte(token)
		forged[i] ^= 1
		if _, err := tk.verifyForTest(string(forged)); err == nil {
			t.Fatalf("a token changed at byte %d still verifies", i)
		}
	}
	other := &tokens{codec: features.NewCodec(features.GenerateSecret()), now: tk.now}
	if _, err := other.verifyForTest(token); err == nil {
		t.Fatal("a token verifies under another secret")
	}
	if _, err := tk.verifyForTest(strings.TrimPrefix(token, TokenPrefix)); err == nil {
		t.Fatal("a token without its prefix verifies")
	}

	// Expired.
	clock = clock.Add(10 * time.Minute)
	if _, err := tk.verifyForTest(token); !errors.Is(err, errTokenExpired) {
		t.Fatalf("an expired token: %v", err)
	}
	clock = clock.Add(-10 * time.Minute)

	// Other customer's data: the core refuses before anything is read.
	core := testApp(t, secret, func() time.Time { return clock })
	call := func(tok, customer string) error {
		sess, err := core.OpenToken(tok)
		if err != nil {
			return err
		}
		p, err := core.whose(OpGetConsents, CustomerActor(sess.Customer, false), customer)
		if err == nil && p != alice {
			t.Errorf("the use case runs for customer %q", p)
		}
		return err
	}
	if err := call(token, "alice"); err != nil {
		t.Fatalf("own data: %v", err)
	}
	if err := call(token, "bob"); fault.CodeOf(err) != fault.PermissionDenied {
		t.Fatalf("another customer's data: %v; want PermissionDenied", err)
	}
	bobToken, _ := tk.mint(bob, time.Minute)
	if err := call(bobToken, "alice"); fault.CodeOf(err) != fault.PermissionDenied {
		t.Fatalf("bob's token on alice's data: %v; want PermissionDenied", err)
	}
	clock = clock.Add(time.Hour)
	if err := call(token, "alice"); fault.CodeOf(err) != fault.Unauthenticated || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired token: %v; want Unauthenticated saying it expired", err)
	}
	// A customer token never reaches a role's other use cases.
	clock = clock.Add(-time.Hour)
	if _, err := core.whose(OpTrackSignals, CustomerActor(alice, false), "alice"); fault.CodeOf(err) != fault.PermissionDenied {
		t.Fatalf("a customer tracking signals: %v; want PermissionDenied", err)
	}
	// With no id, a customer's use case is about the token's customer.
	if p, err := core.whose(OpGetConsents, CustomerActor(alice, false), ""); err != nil || p != alice {
		t.Fatalf("no id: %q, %v; want alice", p, err)
	}
}

// verifyForTest returns the customer a token is bound to.
func (t *tokens) verifyForTest(token string) (features.Pseudonym, error) {
	p, _, err := t.open(token)
	return p, err
}

// testApp is a core over a Redis that is never dialled (for use cases that
// read nothing).
func testApp(t *testing.T, secret features.Secret, now func() time.Time) *App {
	t.Helper()
	cfg := Config{
		Namespace: "app-test", Secret: secret, SignalRetention: features.DefaultRetention(),
		ExplanationRetention: explain.DefaultRetention, ModelRefresh: time.Minute, ModelPoll: time.Second,
		ModelMaxAge: time.Hour, Train: engine.DefaultTrainOptions(), RequestTimeout: time.Second, NoticeVersion: "test-notice",
	}
	a, err := New(cfg, redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
