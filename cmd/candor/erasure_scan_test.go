package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/redistest"
)

// The erasure test's helpers: searching a scan of every key, opening sealed
// values as the server seals them.

// findNeedle returns where needle occurs (case-insensitively): the names of the
// keys whose name, fields, values or opened values hold it.
func findNeedle(keys []redistest.Key, codec *features.Codec, needle string) []string {
	needle = strings.ToLower(needle)
	has := func(s string) bool { return strings.Contains(strings.ToLower(s), needle) }
	var out []string
	for _, k := range keys {
		found := has(k.Name)
		for _, it := range k.Items {
			if found {
				break
			}
			plain, _ := openSealed(codec, k.Name, it)
			found = has(it.Field) || has(it.Value) || has(plain)
		}
		if found {
			out = append(out, k.Name)
		}
	}
	return out
}

// openSealed opens a sealed value the way the server seals it: bound to its key
// and, for a hash, its field (lists, strings and some hashes bind none).
func openSealed(codec *features.Codec, key string, it redistest.Item) (string, bool) {
	for _, field := range []string{it.Field, ""} {
		if plain, err := codec.Open([]byte(it.Value), key, field); err == nil {
			return string(plain), true
		}
	}
	return "", false
}

// serverCrypto derives the server's codec and pseudonymiser from its
// master secret, as the server does.
func serverCrypto(t *testing.T, ts *testServer) (*features.Codec, *features.Pseudonymizer) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(ts.env["CANDOR_PSEUDONYM_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	secret, err := features.NewSecret(raw)
	if err != nil {
		t.Fatal(err)
	}
	return features.NewCodec(secret), features.NewPseudonymizer(secret)
}

func keysByName(keys []redistest.Key) map[string]redistest.Key {
	out := make(map[string]redistest.Key, len(keys))
	for _, k := range keys {
		out[k.Name] = k
	}
	return out
}

func nodesOf(keys []redistest.Key) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.Node)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func jsonTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %v: %v", v, err)
	}
	return at
}

func randomSuffix(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
