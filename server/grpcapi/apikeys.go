package grpcapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/candorhq/candor/app"
)

// MinAPIKeyLen is the shortest API key accepted.
const MinAPIKeyLen = 16

// APIKey binds a key to a role. The key never prints.
type APIKey struct {
	Role app.Role
	key  string
}

// NewAPIKey checks and wraps a key.
func NewAPIKey(role app.Role, key string) (APIKey, error) {
	if len(key) < MinAPIKeyLen {
		return APIKey{}, fmt.Errorf("API key for role %s: at least %d characters", role, MinAPIKeyLen)
	}
	if strings.ContainsAny(key, " \t\r\n,") {
		return APIKey{}, fmt.Errorf("API key for role %s: must not contain white space or commas", role)
	}
	return APIKey{Role: role, key: key}, nil
}

// Name names the key in logs and the audit trail without revealing it: its
// role and the first 8 hex digits of its SHA-256.
func (k APIKey) Name() string {
	d := sha256.Sum256([]byte(k.key))
	return string(k.Role) + "/" + hex.EncodeToString(d[:4])
}

// String redacts the key.
func (k APIKey) String() string { return string(k.Role) + ":[redacted]" }

// GoString redacts the key from %#v.
func (k APIKey) GoString() string {
	return "grpcapi.APIKey{Role:" + string(k.Role) + ", key:[redacted]}"
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
		role, err := app.ParseRole(strings.TrimSpace(roleName))
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

// DemoAPIKeys are the well-known keys of demo mode, one per role. They are
// only accepted when the listeners are on loopback (see cmd/candor).
func DemoAPIKeys() []APIKey {
	keys := make([]APIKey, 0, len(app.Roles))
	for _, r := range app.Roles {
		keys = append(keys, APIKey{Role: r, key: DemoKey(r)})
	}
	return keys
}

// DemoKey is the demo's key for a role.
func DemoKey(r app.Role) string { return "demo-" + string(r) + "-key" }

// keyring maps presented keys to roles in constant time: every known key is
// compared (as SHA-256 digests of equal length), with no early exit.
type keyring struct {
	digests [][sha256.Size]byte
	keys    []APIKey
	names   []string // each key's Name, computed once
}

// CheckAPIKeys refuses a set of keys that gives the same key twice.
func CheckAPIKeys(keys []APIKey) error {
	_, err := newKeyring(keys)
	return err
}

func newKeyring(keys []APIKey) (*keyring, error) {
	k := &keyring{}
	seen := map[[sha256.Size]byte]bool{}
	for _, key := range keys {
		d := sha256.Sum256([]byte(key.key))
		if seen[d] {
			return nil, fmt.Errorf("the same API key is given twice (role %s)", key.Role)
		}
		seen[d] = true
		k.digests = append(k.digests, d)
		k.keys = append(k.keys, key)
		k.names = append(k.names, key.Name())
	}
	return k, nil
}

// find returns the presented key's role and name.
func (k *keyring) find(presented string) (app.Role, string, bool) {
	d := sha256.Sum256([]byte(presented))
	found := -1
	for i := range k.digests {
		if subtle.ConstantTimeCompare(d[:], k.digests[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", "", false
	}
	return k.keys[found].Role, k.names[found], true
}
