package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/features"
)

// Role is what a caller is allowed to do.
type Role string

// The roles. Customers themselves get access through their own tokens (a
// later slice); here every caller is a system holding an API key.
const (
	RoleStorefront     Role = "storefront"
	RoleSupportAgent   Role = "support_agent"
	RoleMarketer       Role = "marketer"
	RolePrivacyOfficer Role = "privacy_officer"
	RoleAdmin          Role = "admin"
	// RoleCustomer is a customer holding a customer token: they reach their
	// own data only.
	RoleCustomer Role = "customer"
)

// Roles lists every role an API key can have (customers hold tokens
// instead).
var Roles = []Role{RoleStorefront, RoleSupportAgent, RoleMarketer, RolePrivacyOfficer, RoleAdmin}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if slices.Contains(Roles, r) {
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (known: storefront, support_agent, marketer, privacy_officer, admin)", s)
}

// MinAPIKeyLen is the shortest API key accepted.
const MinAPIKeyLen = 16

// APIKey binds a key to a role. The key never prints.
type APIKey struct {
	Role Role
	key  string
}

// NewAPIKey checks and wraps a key.
func NewAPIKey(role Role, key string) (APIKey, error) {
	if len(key) < MinAPIKeyLen {
		return APIKey{}, fmt.Errorf("API key for role %s: at least %d characters", role, MinAPIKeyLen)
	}
	if strings.ContainsAny(key, " \t\r\n,") {
		return APIKey{}, fmt.Errorf("API key for role %s: must not contain white space or commas", role)
	}
	return APIKey{Role: role, key: key}, nil
}

// String redacts the key.
func (k APIKey) String() string { return string(k.Role) + ":[redacted]" }

// GoString redacts the key from %#v.
func (k APIKey) GoString() string {
	return "server.APIKey{Role:" + string(k.Role) + ", key:[redacted]}"
}

// MarshalText redacts the key, so a config dump never holds it.
func (k APIKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// ParseAPIKeys reads "role:key,role:key" (the CANDOR_API_KEYS format) or the
// lines of an API keys file ("role:key" per line, '#' starts a comment).
func ParseAPIKeys(text string) ([]APIKey, error) {
	var keys []APIKey
	fields := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '\n' })
	for n, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" || strings.HasPrefix(f, "#") {
			continue
		}
		roleName, key, ok := strings.Cut(f, ":")
		if !ok {
			return nil, fmt.Errorf("API key entry %d: want role:key", n+1)
		}
		role, err := ParseRole(strings.TrimSpace(roleName))
		if err != nil {
			return nil, fmt.Errorf("API key entry %d: %w", n+1, err)
		}
		k, err := NewAPIKey(role, strings.TrimSpace(key))
		if err != nil {
			return nil, fmt.Errorf("API key entry %d: %w", n+1, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// authenticator maps presented keys to roles in constant time: every known
// key is compared (as SHA-256 digests of equal length), with no early exit.
type authenticator struct {
	digests [][sha256.Size]byte
	roles   []Role
	// tokens and pseudonyms are set for customer-token access (nil in
	// tests of API keys alone).
	tokens     *tokens
	pseudonyms *features.Pseudonymizer
}

func newAuthenticator(keys []APIKey) (*authenticator, error) {
	a := &authenticator{}
	seen := map[[sha256.Size]byte]bool{}
	for _, k := range keys {
		d := sha256.Sum256([]byte(k.key))
		if seen[d] {
			return nil, fmt.Errorf("the same API key is given twice (role %s)", k.Role)
		}
		seen[d] = true
		a.digests = append(a.digests, d)
		a.roles = append(a.roles, k.Role)
	}
	return a, nil
}

func (a *authenticator) role(presented string) (Role, bool) {
	d := sha256.Sum256([]byte(presented))
	found := -1
	for i := range a.digests {
		if subtle.ConstantTimeCompare(d[:], a.digests[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	return a.roles[found], true
}

// principal is who is calling: a role, and for a customer token the
// customer it is bound to.
type principal struct {
	role     Role
	customer features.Pseudonym
}

type principalKey struct{}

// RoleFrom returns the authenticated caller's role.
func RoleFrom(ctx context.Context) (Role, bool) {
	p, ok := ctx.Value(principalKey{}).(principal)
	return p.role, ok
}

// tokenCustomer returns the customer a customer token is bound to, or false
// for callers holding API keys.
func tokenCustomer(ctx context.Context) (features.Pseudonym, bool) {
	p, ok := ctx.Value(principalKey{}).(principal)
	return p.customer, ok && p.role == RoleCustomer
}

// customerRequest is a request about one customer.
type customerRequest interface{ GetCustomerId() string }

// errOtherCustomer is the answer to a customer token used on someone else's
// data. It says nothing of whether that data exists.
var errOtherCustomer = status.Error(codes.PermissionDenied, "a customer token opens only its own customer's data")

// publicMethods need no API key: health checks for load balancers and
// reflection for grpcurl (the API schema is public).
func publicMethod(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

// authUnary authenticates the caller and checks the role table.
func (a *authenticator) authUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if publicMethod(info.FullMethod) {
		return handler(ctx, req)
	}
	who, err := a.authenticate(ctx)
	if err != nil {
		return nil, err
	}
	if !allowed(info.FullMethod, who.role) {
		return nil, status.Errorf(codes.PermissionDenied, "role %s may not call %s", who.role, shortMethod(info.FullMethod))
	}
	if who.role == RoleCustomer {
		// A customer reaches their own data only. Requests naming no
		// customer (a stored recommendation) are checked by their handler.
		if r, ok := req.(customerRequest); ok && a.pseudonyms.Pseudonym(r.GetCustomerId()) != who.customer {
			return nil, errOtherCustomer
		}
	}
	return handler(context.WithValue(ctx, principalKey{}, who), req)
}

// authStream guards streaming methods as authUnary guards unary ones: the
// caller's role, and a customer token's customer checked against the
// request once it is received.
func (a *authenticator) authStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if publicMethod(info.FullMethod) {
		return handler(srv, ss)
	}
	who, err := a.authenticate(ss.Context())
	if err != nil {
		return err
	}
	if !allowed(info.FullMethod, who.role) {
		return status.Errorf(codes.PermissionDenied, "role %s may not call %s", who.role, shortMethod(info.FullMethod))
	}
	ctx := context.WithValue(ss.Context(), principalKey{}, who)
	return handler(srv, &checkedStream{ServerStream: ss, ctx: ctx, check: func(_ context.Context, m any) error {
		if r, ok := m.(customerRequest); ok && who.role == RoleCustomer && a.pseudonyms.Pseudonym(r.GetCustomerId()) != who.customer {
			return errOtherCustomer
		}
		return nil
	}})
}

// checkedStream gives a stream a context and runs check on every message
// received, before the handler sees it.
type checkedStream struct {
	grpc.ServerStream
	ctx   context.Context
	check func(ctx context.Context, m any) error
}

func (c *checkedStream) Context() context.Context { return c.ctx }

func (c *checkedStream) RecvMsg(m any) error {
	if err := c.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if c.check == nil {
		return nil
	}
	return c.check(c.ctx, m)
}

func (a *authenticator) authenticate(ctx context.Context) (principal, error) {
	values := metadata.ValueFromIncomingContext(ctx, "authorization") // no copy of the whole metadata
	if len(values) != 1 {
		return principal{}, status.Error(codes.Unauthenticated, "missing API key: send the header \"Authorization: Bearer <key>\"")
	}
	scheme, key, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || key == "" {
		return principal{}, status.Error(codes.Unauthenticated, "malformed Authorization header: want \"Bearer <key>\"")
	}
	return a.principal(strings.TrimSpace(key))
}

// principal maps a presented credential (API key or customer token) to who
// is calling.
func (a *authenticator) principal(credential string) (principal, error) {
	if strings.HasPrefix(credential, tokenPrefix) && a.tokens != nil {
		p, err := a.tokens.verify(credential)
		if err != nil {
			return principal{}, status.Error(codes.Unauthenticated, err.Error())
		}
		return principal{role: RoleCustomer, customer: p}, nil
	}
	role, ok := a.role(credential)
	if !ok {
		return principal{}, status.Error(codes.Unauthenticated, "unknown API key")
	}
	return principal{role: role}, nil
}

func shortMethod(full string) string {
	if i := strings.LastIndex(full, "."); i >= 0 {
		return full[i+1:]
	}
	return full
}
