package features_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/candorhq/candor/features"
)

func TestValidateNamespace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ns string
		ok bool
	}{
		{"candor", true},
		{"a", true},
		{"0", true},
		{"prod_eu-1", true},
		{strings.Repeat("n", 32), true},
		{"", false},
		{strings.Repeat("n", 33), false},
		{"Candor", false},
		{"can{dor", false},
		{"can}dor", false},
		{"{u:x}", false},
		{"cand*", false},
		{"cand?", false},
		{"can[d]", false},
		{"can:dor", false},
		{"can dor", false},
		{"-candor", false},
		{"_candor", false},
		{"candor\n", false},
		{"cändor", false},
	}
	for _, tt := range tests {
		err := features.ValidateNamespace(tt.ns)
		if tt.ok != (err == nil) {
			t.Errorf("ValidateNamespace(%q) = %v, want ok=%v", tt.ns, err, tt.ok)
		}
		if err != nil && !errors.Is(err, features.ErrInvalid) {
			t.Errorf("ValidateNamespace(%q) = %v, want ErrInvalid", tt.ns, err)
		}
		if _, kerr := features.NewKeyspace(tt.ns); (kerr == nil) != tt.ok {
			t.Errorf("NewKeyspace(%q) = %v, want ok=%v", tt.ns, kerr, tt.ok)
		}
	}
}

// hashTag returns what Redis Cluster hashes for a key: the part between the
// first '{' and the next '}', when it is not empty.
func hashTag(key string) string {
	start := strings.IndexByte(key, '{')
	if start < 0 {
		return key
	}
	end := strings.IndexByte(key[start+1:], '}')
	if end <= 0 {
		return key
	}
	return key[start+1 : start+1+end]
}

func TestCustomerKeys(t *testing.T) {
	t.Parallel()
	ks, err := features.NewKeyspace("candor")
	if err != nil {
		t.Fatal(err)
	}
	if ks.Namespace() != "candor" {
		t.Errorf("Namespace() = %q", ks.Namespace())
	}
	pz := features.NewPseudonymizer(testSecret(t))
	a, b := pz.Pseudonym("customer-1"), pz.Pseudonym("customer-2")
	keysA, keysB := ks.Customer(a), ks.Customer(b)
	all := keysA.All()
	if len(all) != 7 {
		t.Fatalf("All() = %v, want 7 keys", all)
	}
	for _, k := range []string{keysA.Consent, keysA.Ledger, keysA.Signals, keysA.Controls, keysA.ControlLog, keysA.Reviews, keysA.Recommendations} {
		if !strings.Contains(strings.Join(all, "\n"), k) {
			t.Errorf("All() misses %s", k)
		}
	}
	seen := map[string]bool{}
	for i, k := range all {
		if !strings.HasPrefix(k, "candor:{u:"+string(a)+"}:") {
			t.Errorf("key %q does not start with the namespace and the hash tag", k)
		}
		if tag := hashTag(k); tag != "u:"+string(a) {
			t.Errorf("key %q hashes on %q, want u:%s", k, tag, a)
		}
		if strings.Contains(k, "customer-1") {
			t.Errorf("key %q holds the raw customer id", k)
		}
		if seen[k] {
			t.Errorf("key %q is listed twice", k)
		}
		seen[k] = true
		if keysB.All()[i] == k {
			t.Errorf("two customers share key %q", k)
		}
	}
	if rec := ks.Recommendation("rec_1"); !strings.HasPrefix(rec, "candor:") || strings.Contains(rec, string(a)) {
		t.Errorf("Recommendation key = %q", rec)
	}
}

// TestReviewKeys: a case, the queues and the counter that orders them share
// the {reviews} slot (a status move is one transaction).
func TestReviewKeys(t *testing.T) {
	t.Parallel()
	ks, err := features.NewKeyspace("candor")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{ks.ReviewCase("handle"), ks.ReviewQueue("open"), ks.ReviewQueue("resolved"), ks.ReviewSeq()} {
		if !strings.HasPrefix(k, "candor:") || hashTag(k) != "reviews" {
			t.Errorf("review key %q: want the namespace and the {reviews} hash tag", k)
		}
	}
	if ks.ReviewQueue("open") == ks.ReviewQueue("resolved") || ks.ReviewCase("a") == ks.ReviewCase("b") {
		t.Error("review keys collide")
	}
}
