package features

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/candorhq/candor/internal/fault"
	"github.com/candorhq/candor/internal/keyspace"
)

// MinSecretLen is the shortest master secret accepted, in bytes.
const MinSecretLen = 32

// Secret is the master secret from which the pseudonym key and the at-rest
// encryption key are derived (HKDF-SHA256 with distinct labels). It never
// prints, logs or serialises its bytes.
type Secret struct{ raw func() []byte }

// The bytes are reachable only through a closure: fmt, slog and encoding/json
// print a func as an address (or skip it), so even a Secret held in an
// unexported field (which fmt prints by reflection, without calling String)
// never shows its bytes.
func secretOf(b []byte) Secret { return Secret{raw: func() []byte { return b }} }

// NewSecret wraps raw key material of at least MinSecretLen bytes.
func NewSecret(raw []byte) (Secret, error) {
	if len(raw) < MinSecretLen {
		return Secret{}, fault.Wrapf(ErrInvalid, "secret key: need at least %d bytes, got %d", MinSecretLen, len(raw))
	}
	return secretOf(append([]byte(nil), raw...)), nil
}

// GenerateSecret returns a fresh random secret (demo mode only: data sealed
// with it cannot be read after a restart).
func GenerateSecret() Secret {
	b := make([]byte, MinSecretLen)
	if _, err := rand.Read(b); err != nil {
		panic("features: crypto/rand failed: " + err.Error())
	}
	return secretOf(b)
}

// IsZero reports whether no secret is set.
func (s Secret) IsZero() bool { return s.raw == nil || len(s.raw()) == 0 }

// String redacts the secret.
func (s Secret) String() string { return "[redacted]" }

// GoString redacts the secret.
func (s Secret) GoString() string { return "features.Secret{[redacted]}" }

// Format redacts the secret for every fmt verb.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	_, _ = io.WriteString(f, s.String())
}

// MarshalText redacts the secret, so a config dump never holds it.
func (s Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

func (s Secret) derive(label string) []byte {
	var raw []byte
	if s.raw != nil {
		raw = s.raw()
	}
	k, err := hkdf.Key(sha256.New, raw, nil, "candor/v1/"+label, 32)
	if err != nil {
		panic("features: hkdf: " + err.Error())
	}
	return k
}

// Pseudonym is a customer's storage identity: a keyed HMAC of the customer id.
// It is the only form of a customer identifier that reaches Redis or logs.
// The type is declared by the keyspace, which puts it into the customer's
// hash tag (and nothing else of the customer into a key); the Pseudonymizer
// is the one place that makes one.
type Pseudonym = keyspace.Pseudonym

// Pseudonymizer maps customer ids to pseudonyms. Without the secret the
// mapping cannot be computed or reversed.
type Pseudonymizer struct {
	pool sync.Pool
}

// NewPseudonymizer derives the pseudonym key from the secret.
func NewPseudonymizer(s Secret) *Pseudonymizer {
	key := s.derive("pseudonym")
	return &Pseudonymizer{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

// Pseudonym returns the customer's pseudonym: 128 bits of
// HMAC-SHA256(key, "customer:"+id), in hex.
func (p *Pseudonymizer) Pseudonym(customerID string) Pseudonym {
	h := p.pool.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte("customer:"))
	h.Write([]byte(customerID))
	var sum [sha256.Size]byte
	out := h.Sum(sum[:0])
	p.pool.Put(h)
	return Pseudonym(hex.EncodeToString(out[:16]))
}

// Codec seals and opens every stored value that reveals behaviour:
// AES-256-GCM with a random nonce, bound (as associated data) to the key and
// field it is stored under, so a value moved to another customer's key does
// not open.
type Codec struct {
	aead  cipher.AEAD
	blind []byte // HMAC key for Blind
}

// NewCodec derives the encryption key from the secret.
func NewCodec(s Secret) *Codec {
	block, err := aes.NewCipher(s.derive("encryption"))
	if err != nil {
		panic("features: aes: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("features: gcm: " + err.Error())
	}
	return &Codec{aead: aead, blind: s.derive("field")}
}

// Blind returns an opaque, stable name for a value that must be found again
// by its content without being stored in the clear (a hash field naming an
// item the customer is not interested in, say): a keyed HMAC of the parts.
func (c *Codec) Blind(parts ...string) string {
	h := hmac.New(sha256.New, c.blind)
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return idEncoding.EncodeToString(h.Sum(nil)[:20])
}

const codecVersion = 1

// Seal encrypts plaintext for storage under (key, field).
func (c *Codec) Seal(plaintext []byte, key, field string) []byte {
	ns := c.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+c.aead.Overhead())
	out[0] = codecVersion
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		panic("features: crypto/rand failed: " + err.Error())
	}
	return c.aead.Seal(out, out[1:1+ns], plaintext, associatedData(key, field))
}

// Open decrypts a value stored under (key, field).
func (c *Codec) Open(sealed []byte, key, field string) ([]byte, error) {
	ns := c.aead.NonceSize()
	if len(sealed) < 1+ns+c.aead.Overhead() || sealed[0] != codecVersion {
		return nil, ErrCorrupt
	}
	plain, err := c.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], associatedData(key, field))
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}

func associatedData(key, field string) []byte {
	ad := make([]byte, 0, len(key)+1+len(field))
	ad = append(ad, key...)
	ad = append(ad, 0)
	return append(ad, field...)
}
