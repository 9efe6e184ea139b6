package server

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/candorhq/candor/features"
)

// Customer tokens give a customer access to their own explanations,
// controls and consents. A token is short-lived and bound to one customer:
// it seals (AES-256-GCM, the at-rest codec, bound to its own label) the
// customer's pseudonym and an expiry, so it can be neither read nor forged
// without the master secret, and it names no one in the clear.

// tokenPrefix starts every customer token, so that it is never mistaken for
// an API key.
const tokenPrefix = "ct_"

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
	errTokenMalformed = errors.New("customer token is malformed or was not issued by this service")
	errTokenExpired   = errors.New("customer token has expired: ask for a new one")
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
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(t.codec.Seal(payload, tokenAD, "")), expires
}

// verify returns the customer a token is bound to.
func (t *tokens) verify(token string) (features.Pseudonym, error) {
	p, _, err := t.open(token)
	return p, err
}

// open returns the customer a token is bound to and when it expires.
func (t *tokens) open(token string) (features.Pseudonym, time.Time, error) {
	raw, ok := strings.CutPrefix(token, tokenPrefix)
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
