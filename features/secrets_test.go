package features_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/candorhq/candor/features"
)

func TestNewSecretLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n       int
		wantErr bool
	}{
		{0, true},
		{1, true},
		{features.MinSecretLen - 1, true},
		{features.MinSecretLen, false},
		{64, false},
	}
	for _, tt := range tests {
		s, err := features.NewSecret(bytes.Repeat([]byte{'k'}, tt.n))
		if tt.wantErr {
			if !errors.Is(err, features.ErrInvalid) || !s.IsZero() {
				t.Errorf("NewSecret(%d bytes) = %v, %v; want ErrInvalid and a zero secret", tt.n, s, err)
			}
			continue
		}
		if err != nil || s.IsZero() {
			t.Errorf("NewSecret(%d bytes) = zero:%v, %v; want a secret", tt.n, s.IsZero(), err)
		}
	}
	if features.GenerateSecret().IsZero() {
		t.Error("GenerateSecret returned a zero secret")
	}
	if !(features.Secret{}).IsZero() {
		t.Error("the zero Secret is not IsZero")
	}
}

func TestNewSecretCopiesItsInput(t *testing.T) {
	t.Parallel()
	raw := []byte(testSecretBytes)
	s, err := features.NewSecret(raw)
	if err != nil {
		t.Fatal(err)
	}
	before := features.NewPseudonymizer(s).Pseudonym("c1")
	for i := range raw {
		raw[i] = 0
	}
	if after := features.NewPseudonymizer(s).Pseudonym("c1"); after != before {
		t.Error("changing the caller's buffer changed the secret")
	}
}

// secretForms are the ways the test secret could show up in output.
func secretForms() []string {
	raw := []byte(testSecretBytes)
	dec, oct, bin := make([]string, len(raw)), make([]string, len(raw)), make([]string, len(raw))
	for i, b := range raw {
		dec[i], oct[i], bin[i] = fmt.Sprint(b), fmt.Sprintf("%o", b), fmt.Sprintf("%b", b)
	}
	return []string{
		testSecretBytes,
		testSecretBytes[:12],
		hex.EncodeToString(raw[:8]),
		strings.ToUpper(hex.EncodeToString(raw[:8])),
		strings.Join(dec[:6], " "),  // []byte printed with %v or %d
		strings.Join(dec[:6], ", "), // []byte printed with %#v
		strings.Join(oct[:6], " "),  // []byte printed with %o
		strings.Join(bin[:6], " "),  // []byte printed with %b
		"U0VDUkVULWNhbmRvci",        // base64 of the first bytes
	}
}

func assertNoSecret(tb testing.TB, what, out string) {
	tb.Helper()
	for _, form := range secretForms() {
		if strings.Contains(out, form) {
			tb.Errorf("%s leaks the secret (%q found): %s", what, form, out)
			return
		}
	}
}

type exportedHolder struct {
	Name   string
	Secret features.Secret
}

type unexportedHolder struct {
	name   string
	secret features.Secret
}

// TestSecretNeverPrints covers the ways a secret is printed or serialised
// directly or as an exported field of a configuration struct.
func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	s := testSecret(t)
	if got := s.String(); got != "[redacted]" {
		t.Errorf("String() = %q", got)
	}
	if got := s.GoString(); !strings.Contains(got, "redacted") {
		t.Errorf("GoString() = %q", got)
	}
	if got, err := s.MarshalText(); err != nil || string(got) != "[redacted]" {
		t.Errorf("MarshalText() = %q, %v", got, err)
	}
	assertNoSecret(t, "String", s.String())
	assertNoSecret(t, "GoString", s.GoString())

	values := map[string]any{
		"secret":                    s,
		"pointer":                   &s,
		"slice":                     []features.Secret{s},
		"map":                       map[string]features.Secret{"k": s},
		"exported field":            exportedHolder{"cfg", s},
		"pointer to exported field": &exportedHolder{"cfg", s},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
			assertNoSecret(t, fmt.Sprintf("fmt %s of %s", verb, name), fmt.Sprintf(verb, v))
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%s): %v", name, err)
		}
		assertNoSecret(t, "json of "+name, string(j))
		var text, js bytes.Buffer
		slog.New(slog.NewTextHandler(&text, nil)).Info("config", "value", v)
		slog.New(slog.NewJSONHandler(&js, nil)).Info("config", "value", v)
		assertNoSecret(t, "slog text of "+name, text.String())
		assertNoSecret(t, "slog json of "+name, js.String())
	}

	j, err := json.Marshal(exportedHolder{"cfg", s})
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	if want := `{"Name":"cfg","Secret":"[redacted]"}`; string(j) != want {
		t.Errorf("json = %s, want %s", j, want)
	}
}

// TestSecretNeverPrintsThroughReflection covers what String and GoString
// cannot: verbs fmt does not route to String (%d, %o, %b), and a Secret held
// in an unexported field, which fmt and slog print by reflection without
// calling any method.
func TestSecretNeverPrintsThroughReflection(t *testing.T) {
	t.Parallel()
	s := testSecret(t)
	values := map[string]any{
		"secret":                      s,
		"pointer":                     &s,
		"exported field":              exportedHolder{"cfg", s},
		"unexported field":            unexportedHolder{"cfg", s},
		"pointer to unexported field": &unexportedHolder{"cfg", s},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b"} {
			assertNoSecret(t, fmt.Sprintf("fmt %s of %s", verb, name), fmt.Sprintf(verb, v))
		}
		var text bytes.Buffer
		slog.New(slog.NewTextHandler(&text, nil)).Info("config", "value", v)
		assertNoSecret(t, "slog text of "+name, text.String())
	}
}

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	c := features.NewCodec(testSecret(t))
	for _, plain := range [][]byte{nil, {}, []byte("x"), []byte("purchase of sku-1 by a customer"), bytes.Repeat([]byte{0}, 4096)} {
		sealed := c.Seal(plain, "ns:{u:abc}:signals", "sig_1")
		if len(plain) > 4 && bytes.Contains(sealed, plain) {
			t.Errorf("sealed value holds the plaintext")
		}
		got, err := c.Open(sealed, "ns:{u:abc}:signals", "sig_1")
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("Open(Seal(%q)) = %q, %v", plain, got, err)
		}
	}
}

func TestCodecRandomNonce(t *testing.T) {
	t.Parallel()
	c := features.NewCodec(testSecret(t))
	plain := []byte("same plaintext")
	a := c.Seal(plain, "k", "f")
	b := c.Seal(plain, "k", "f")
	if bytes.Equal(a, b) {
		t.Error("two seals of the same plaintext under the same key and field are equal")
	}
}

func TestCodecOpenRejects(t *testing.T) {
	t.Parallel()
	c := features.NewCodec(testSecret(t))
	const key, field = "ns:{u:aaaa}:signals", "sig_1"
	sealed := c.Seal([]byte("viewed sku-1"), key, field)

	other, err := features.NewSecret([]byte(strings.Repeat("another secret!", 3)))
	if err != nil {
		t.Fatal(err)
	}
	otherCodec := features.NewCodec(other)

	flip := func(i int) []byte {
		b := append([]byte(nil), sealed...)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name       string
		codec      *features.Codec
		sealed     []byte
		key, field string
	}{
		{"another customer's key", c, sealed, "ns:{u:bbbb}:signals", field},
		{"another key of the customer", c, sealed, "ns:{u:aaaa}:consent", field},
		{"another field", c, sealed, key, "sig_2"},
		{"key and field boundary moved", c, sealed, key + "\x00sig", "_1"},
		{"empty field", c, sealed, key, ""},
		{"a codec from another secret", otherCodec, sealed, key, field},
		{"version byte flipped", c, flip(0), key, field},
		{"nonce byte flipped", c, flip(1), key, field},
		{"ciphertext byte flipped", c, flip(len(sealed) / 2), key, field},
		{"tag byte flipped", c, flip(len(sealed) - 1), key, field},
		{"empty", c, nil, key, field},
		{"version only", c, sealed[:1], key, field},
		{"shorter than nonce and tag", c, sealed[:1+12+15], key, field},
		{"last byte cut", c, sealed[:len(sealed)-1], key, field},
		{"byte appended", c, append(append([]byte(nil), sealed...), 0), key, field},
	}
	for _, tt := range tests {
		got, err := tt.codec.Open(tt.sealed, tt.key, tt.field)
		if !errors.Is(err, features.ErrCorrupt) || got != nil {
			t.Errorf("%s: Open = %q, %v; want ErrCorrupt", tt.name, got, err)
		}
	}
	if _, err := c.Open(sealed, key, field); err != nil {
		t.Fatalf("the original no longer opens: %v", err)
	}
}

var pseudonymPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestPseudonymizer(t *testing.T) {
	t.Parallel()
	a := features.NewPseudonymizer(testSecret(t))
	a2 := features.NewPseudonymizer(testSecret(t))
	other, err := features.NewSecret([]byte(strings.Repeat("z", features.MinSecretLen)))
	if err != nil {
		t.Fatal(err)
	}
	b := features.NewPseudonymizer(other)

	ids := []string{"customer-42", "customer-43", "", "alice@example.com", "ålice", "customer-42 "}
	seen := map[features.Pseudonym]string{}
	for _, id := range ids {
		p := a.Pseudonym(id)
		if !pseudonymPattern.MatchString(string(p)) {
			t.Errorf("Pseudonym(%q) = %q, want 32 lowercase hex characters", id, p)
		}
		if id != "" && strings.Contains(string(p), id) {
			t.Errorf("Pseudonym(%q) = %q holds the raw id", id, p)
		}
		if again := a.Pseudonym(id); again != p {
			t.Errorf("Pseudonym(%q) is not deterministic: %q then %q", id, p, again)
		}
		if same := a2.Pseudonym(id); same != p {
			t.Errorf("Pseudonym(%q) differs between pseudonymizers of one secret: %q, %q", id, p, same)
		}
		if diff := b.Pseudonym(id); diff == p {
			t.Errorf("Pseudonym(%q) is the same under two secrets", id)
		}
		if prev, dup := seen[p]; dup {
			t.Errorf("ids %q and %q share pseudonym %q", prev, id, p)
		}
		seen[p] = id
	}
}

func TestPseudonymizerConcurrent(t *testing.T) {
	t.Parallel()
	p := features.NewPseudonymizer(testSecret(t))
	want := make([]features.Pseudonym, 64)
	for i := range want {
		want[i] = p.Pseudonym(fmt.Sprintf("customer-%d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(want))
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 20 * len(want) {
				i := (n + g*7) % len(want)
				if got := p.Pseudonym(fmt.Sprintf("customer-%d", i)); got != want[i] {
					errs <- fmt.Sprintf("customer-%d: %s, want %s", i, got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
