package grpcapi

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/server/observe"
)

// TestAccessTableCoversEveryMethod checks the role table against the
// services a server really registers, streaming methods included.
func TestAccessTableCoversEveryMethod(t *testing.T) {
	t.Parallel()
	k, err := NewAPIKey(app.RoleStorefront, "a-storefront-key-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	discard := slog.New(slog.DiscardHandler)
	s, err := NewServer(nil, []APIKey{k}, Options{Logger: discard, Metrics: observe.New(nil, discard), RequestTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	access := map[string][]app.Role{}
	for _, op := range app.Ops() {
		access[methodPrefix+string(op)] = app.RolesFor(op)
	}
	registered := map[string]bool{}
	for service, info := range s.GetServiceInfo() {
		for _, m := range info.Methods {
			full := "/" + service + "/" + m.Name
			if publicMethod(full) {
				continue
			}
			registered[full] = true
			if len(access[full]) == 0 {
				t.Errorf("%s is not in the role table: nobody may call it", full)
			}
		}
	}
	if len(registered) < len(access) {
		t.Errorf("the server registers %d methods and the role table names %d", len(registered), len(access))
	}
	for full := range access {
		if !registered[full] {
			t.Errorf("the role table names %s, which no service provides", full)
		}
	}
}

func TestMarketerNeverReadsCustomerData(t *testing.T) {
	t.Parallel()
	for _, op := range app.Ops() {
		full, roles := string(op), app.RolesFor(op)
		if strings.Contains(full, "ConsentService") || strings.Contains(full, "SignalService") || strings.Contains(full, "RecommendationService") || strings.Contains(full, "ControlService") ||
			strings.Contains(full, "RightsService") || strings.Contains(full, "ReviewService") {
			for _, r := range roles {
				if r == app.RoleMarketer || r == app.RoleAdmin {
					t.Errorf("%s may call %s, which handles a customer's data", r, full)
				}
			}
		}
	}
}

func TestAuthenticator(t *testing.T) {
	t.Parallel()
	keys, err := ParseAPIKeys("# comment\nstorefront: key-for-the-storefront-1\n\nadmin:key-for-the-admin-000001")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := newKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	a := &authenticator{keys: ring}
	cases := []struct {
		header string
		role   app.Role
		code   codes.Code
	}{
		{"Bearer key-for-the-storefront-1", app.RoleStorefront, codes.OK},
		{"bearer key-for-the-admin-000001", app.RoleAdmin, codes.OK},
		{"Bearer key-for-the-storefront-", "", codes.Unauthenticated},
		{"Bearer key-for-the-storefront-12", "", codes.Unauthenticated},
		{"Basic key-for-the-storefront-1", "", codes.Unauthenticated},
		{"key-for-the-storefront-1", "", codes.Unauthenticated},
		{"", "", codes.Unauthenticated},
	}
	for _, c := range cases {
		ctx := context.Background()
		if c.header != "" {
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", c.header))
		}
		who, err := a.authenticate(ctx)
		if status.Code(err) != c.code || who.Role != c.role {
			t.Errorf("%q: role %q, code %v; want %q, %v", c.header, who.Role, status.Code(err), c.role, c.code)
		}
		if err != nil && strings.Contains(err.Error(), "key-for") {
			t.Errorf("%q: the error repeats the key: %v", c.header, err)
		}
	}
}

func TestParseAPIKeys(t *testing.T) {
	t.Parallel()
	for _, text := range []string{
		"storefront",                            // no colon
		"janitor:long-enough-key-1234567",       // unknown role
		"admin:short",                           // too short
		"admin:has space in the middle of it 1", // white space
	} {
		if _, err := ParseAPIKeys(text); err == nil {
			t.Errorf("%q: accepted", text)
		} else if strings.Contains(err.Error(), "long-enough") || strings.Contains(err.Error(), "middle") {
			t.Errorf("%q: the error repeats the key: %v", text, err)
		}
	}
	keys, err := ParseAPIKeys("admin:same-key-same-key-1,storefront:same-key-same-key-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckAPIKeys(keys); err == nil {
		t.Error("one key for two roles was accepted")
	}
}

// TestInterceptorFailsClosed: whatever a handler does, a role the access
// table does not list for a method never reaches it.
func TestInterceptorFailsClosed(t *testing.T) {
	t.Parallel()
	var keys []APIKey
	for _, r := range app.Roles {
		k, err := NewAPIKey(r, "key-of-the-"+string(r)+"-0123456789")
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	ring, err := newKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	a := &authenticator{keys: ring}
	for _, op := range app.Ops() {
		for _, r := range app.Roles {
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer key-of-the-"+string(r)+"-0123456789"))
			reached := false
			_, err := a.unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: methodPrefix + string(op)}, func(context.Context, any) (any, error) {
				reached = true
				return nil, nil
			})
			if allowed := app.Allowed(op, r); allowed != reached || !allowed && status.Code(err) != codes.PermissionDenied {
				t.Errorf("%s as %s: reached %t, %v; the table allows it: %t", op, r, reached, err, allowed)
			}
		}
	}
}
