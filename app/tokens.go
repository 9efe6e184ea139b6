package app

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"

	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
)

// Customer tokens give a customer access to their own explanations,
// controls, consents and rights. A token is short-lived and bound to one
// customer: it seals (AES-256-GCM, the at-rest codec, bound to its own
// label) the customer's pseudonym and an expiry, so it can be neither read
// nor forged without the master secret, and it names no one in the clear.

// TokenPrefix starts every customer token, so that it is never mistaken for
// an API key.
const TokenPrefix = "ct_"

// Token lifetimes.
const (
	DefaultTokenTTL = 15 * time.Minute
	MinTokenTTL     = time.Minute
	MaxTokenTTL     = time.Hour
)

const (
	tokenVersion = 1
	tokenAD      = "candor/customer-token"
)

var (
	errTokenMalformed = fault.New(fault.Unauthenticated, "customer token is malformed or was not issued by this service")
	errTokenExpired   = fault.New(fault.Unauthenticated, "customer token has expired: ask for a new one")
)

type tokens struct {
	codec *features.Codec
	now   func() time.Time
}

// mint returns a token for the customer, valid for ttl.
func (t *tokens) mint(p features.Pseudonym, ttl time.Duration) (string, time.Time) {
	expires := t.now().Add(ttl).UTC().Truncate(time.Second)
	payload := make([]byte, 0, 9+len(p))
	payload = append(payload, tokenVersion)
	payload = binary.BigEndian.AppendUint64(payload, uint64(expires.Unix()))
	payload = append(payload, p...)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(t.codec.Seal(payload, tokenAD, "")), expires
}

// open returns the customer a token is bound to and when it expires.
func (t *tokens) open(token string) (features.Pseudonym, time.Time, error) {
	raw, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok {
		return "", time.Time{}, errTokenMalformed
	}
	sealed, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return "", time.Time{}, errTokenMalformed
	}
	payload, err := t.codec.Open(sealed, tokenAD, "")
	if err != nil || len(payload) < 10 || payload[0] != tokenVersion {
		return "", time.Time{}, errTokenMalformed
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(payload[1:9])), 0).UTC()
	if !t.now().Before(expires) {
		return "", time.Time{}, errTokenExpired
	}
	return features.Pseudonym(payload[9:]), expires, nil
}

// Session is a verified customer token.
type Session struct {
	Token    string
	Customer features.Pseudonym
	Expires  time.Time
}

// OpenToken verifies a customer token: whose it is and until when. Its
// errors are Unauthenticated.
func (a *App) OpenToken(token string) (Session, error) {
	p, expires, err := a.tokens.open(token)
	if err != nil {
		return Session{}, err
	}
	return Session{Token: token, Customer: p, Expires: expires}, nil
}

// CreateCustomerToken mints a token for a customer, valid for ttl (zero:
// DefaultTokenTTL).
func (a *App) CreateCustomerToken(ctx context.Context, who Actor, customerID string, ttl time.Duration) (string, time.Time, error) {
	p, err := a.customer(ctx, OpCreateCustomerToken, who, customerID)
	if err != nil {
		return "", time.Time{}, err
	}
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl < MinTokenTTL || ttl > MaxTokenTTL {
		return "", time.Time{}, fault.Invalidf("ttl_seconds: must be between %d and %d", int(MinTokenTTL.Seconds()), int(MaxTokenTTL.Seconds()))
	}
	token, expires := a.tokens.mint(p, ttl)
	return token, expires, nil
}
