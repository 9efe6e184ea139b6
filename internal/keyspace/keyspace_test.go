package keyspace_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/candorhq/candor/internal/fault"
	"github.com/candorhq/candor/internal/keyspace"
)

// pseudonym is what features.Pseudonymizer makes: 32 lowercase hex digits.
const pseudonym keyspace.Pseudonym = "0123456789abcdef0123456789abcdef"

func mustNew(t *testing.T, ns string) keyspace.Keyspace {
	t.Helper()
	ks, err := keyspace.New(ns)
	if err != nil {
		t.Fatal(err)
	}
	return ks
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

// TestLayout is the whole Redis layout of candor, one row per key family,
// byte for byte. Stored data is found by these names: changing one is a
// data migration, not a refactoring.
func TestLayout(t *testing.T) {
	t.Parallel()
	ks := mustNew(t, "candor")
	c := ks.Customer(pseudonym)
	cat := ks.Catalog()
	layout := []struct {
		family, got, want, tag string
	}{
		// One customer: one hash tag, one slot, one erasure.
		{"customer consent", c.Consent, "candor:{u:0123456789abcdef0123456789abcdef}:consent", "u:" + string(pseudonym)},
		{"customer consent ledger", c.Ledger, "candor:{u:0123456789abcdef0123456789abcdef}:ledger", "u:" + string(pseudonym)},
		{"customer signals", c.Signals, "candor:{u:0123456789abcdef0123456789abcdef}:signals", "u:" + string(pseudonym)},
		{"customer controls", c.Controls, "candor:{u:0123456789abcdef0123456789abcdef}:controls", "u:" + string(pseudonym)},
		{"customer control log", c.ControlLog, "candor:{u:0123456789abcdef0123456789abcdef}:controls_log", "u:" + string(pseudonym)},
		{"customer review index", c.Reviews, "candor:{u:0123456789abcdef0123456789abcdef}:reviews", "u:" + string(pseudonym)},
		{"customer recommendation index", c.Recommendations, "candor:{u:0123456789abcdef0123456789abcdef}:recs", "u:" + string(pseudonym)},
		// Stored answers: no hash tag, spread across the cluster.
		{"stored recommendation", ks.Recommendation("rec_1"), "candor:rec:rec_1", "candor:rec:rec_1"},
		// Review cases, their queues and their counter: one transaction.
		{"review case", ks.ReviewCase("h4ndle"), "candor:{reviews}:case:h4ndle", "reviews"},
		{"review queue", ks.ReviewQueue("open"), "candor:{reviews}:status:open", "reviews"},
		{"pending review marker", ks.ReviewPending("m4rker"), "candor:{reviews}:pending:m4rker", "reviews"},
		{"review sequence", ks.ReviewSeq(), "candor:{reviews}:seq", "reviews"},
		// Erasure receipts (no personal data).
		{"erasure receipts", ks.ErasureReceipts(), "candor:{erasures}:receipts", "erasures"},
		// The item catalogue: one transaction.
		{"catalogue items", cat.Items, "candor:{catalog}:items", "catalog"},
		{"catalogue version", cat.Version, "candor:{catalog}:version", "catalog"},
		{"catalogue changes", cat.Changes, "candor:{catalog}:changes", "catalog"},
		// The marketer's policy versions: one transaction.
		{"current policy version", ks.PolicyCurrent(), "candor:{policy}:version", "policy"},
		{"policy version", ks.Policy(7), "candor:{policy}:v:7", "policy"},
		// The ALS model versions: one transaction.
		{"current model version", ks.ModelCurrent(), "candor:{model}:current", "model"},
		{"model versions", ks.ModelVersions(), "candor:{model}:versions", "model"},
		{"model version", ks.Model("als-0123456789ab"), "candor:{model}:v:als-0123456789ab", "model"},
	}
	seen := map[string]string{}
	for _, row := range layout {
		if row.got != row.want {
			t.Errorf("%s: key %q, want %q", row.family, row.got, row.want)
		}
		if tag := hashTag(row.got); tag != row.tag {
			t.Errorf("%s: %q hashes on %q, want %q", row.family, row.got, tag, row.tag)
		}
		if other, ok := seen[row.got]; ok {
			t.Errorf("%s and %s share the key %q", row.family, other, row.got)
		}
		seen[row.got] = row.family
	}
	// The SCAN pattern over every customer's signals, and the prefix of
	// one customer's keys.
	if got, want := ks.CustomerSignalsPattern(), "candor:{u:*}:signals"; got != want {
		t.Errorf("CustomerSignalsPattern() = %q, want %q", got, want)
	}
	if got, want := c.Prefix, "candor:{u:0123456789abcdef0123456789abcdef}:"; got != want {
		t.Errorf("Customer().Prefix = %q, want %q", got, want)
	}
}

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
		err := keyspace.ValidateNamespace(tt.ns)
		if tt.ok != (err == nil) {
			t.Errorf("ValidateNamespace(%q) = %v, want ok=%v", tt.ns, err, tt.ok)
		}
		if err != nil && (!errors.Is(err, keyspace.ErrInvalidNamespace) || fault.CodeOf(err) != fault.Invalid) {
			t.Errorf("ValidateNamespace(%q) = %v, want ErrInvalidNamespace with code Invalid", tt.ns, err)
		}
		ks, kerr := keyspace.New(tt.ns)
		if (kerr == nil) != tt.ok {
			t.Errorf("New(%q) = %v, want ok=%v", tt.ns, kerr, tt.ok)
		}
		if ks.IsZero() == tt.ok {
			t.Errorf("New(%q).IsZero() = %v, want %v", tt.ns, ks.IsZero(), !tt.ok)
		}
	}
	if !(keyspace.Keyspace{}).IsZero() {
		t.Error("the zero Keyspace is not IsZero")
	}
}

func TestCustomerKeys(t *testing.T) {
	t.Parallel()
	ks := mustNew(t, "candor")
	if ks.Namespace() != "candor" {
		t.Errorf("Namespace() = %q", ks.Namespace())
	}
	const a, b keyspace.Pseudonym = "aaaa", "bbbb"
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
		// The customer's keys hold the namespace, the hash tag with the
		// pseudonym, and a fixed name: nothing else about the customer.
		name, ok := strings.CutPrefix(k, "candor:{u:"+string(a)+"}:")
		if !ok || keysA.Prefix != "candor:{u:"+string(a)+"}:" {
			t.Errorf("key %q does not start with the namespace and the hash tag", k)
		}
		if strings.ContainsAny(name, "{}:") || strings.Contains(name, string(a)) {
			t.Errorf("key %q: %q after the hash tag, want a fixed name", k, name)
		}
		if tag := hashTag(k); tag != "u:"+string(a) {
			t.Errorf("key %q hashes on %q, want u:%s", k, tag, a)
		}
		if seen[k] {
			t.Errorf("key %q is listed twice", k)
		}
		seen[k] = true
		if keysB.All()[i] == k || strings.HasPrefix(k, keysB.Prefix) {
			t.Errorf("two customers share key %q", k)
		}
		if p, ok := ks.CustomerOf(k); !ok || p != a {
			t.Errorf("CustomerOf(%q) = %q, %v; want %q", k, p, ok, a)
		}
	}
	if rec := ks.Recommendation("rec_1"); !strings.HasPrefix(rec, "candor:") || strings.Contains(rec, string(a)) {
		t.Errorf("Recommendation key = %q", rec)
	}
}

func TestCustomerOfRefusesOtherKeys(t *testing.T) {
	t.Parallel()
	ks := mustNew(t, "candor")
	other := mustNew(t, "other")
	for _, key := range []string{
		other.Customer(pseudonym).Signals,
		ks.ReviewCase("h"),
		ks.Recommendation("rec_1"),
		ks.Catalog().Items,
		"candor:{u:}:signals",
		"candor:{u:abc",
		"candor:{u:abc}",
	} {
		if p, ok := ks.CustomerOf(key); ok {
			t.Errorf("CustomerOf(%q) = %q, true; want false", key, p)
		}
	}
}

// TestReviewKeys: a case, the queues, the pending markers and the counter
// that orders cases share the {reviews} slot (opening a case, or moving it
// on, is one transaction).
func TestReviewKeys(t *testing.T) {
	t.Parallel()
	ks := mustNew(t, "candor")
	for _, k := range []string{ks.ReviewCase("handle"), ks.ReviewQueue("open"), ks.ReviewQueue("resolved"), ks.ReviewPending("handle"), ks.ReviewSeq()} {
		if !strings.HasPrefix(k, "candor:") || hashTag(k) != "reviews" {
			t.Errorf("review key %q: want the namespace and the {reviews} hash tag", k)
		}
	}
	if ks.ReviewQueue("open") == ks.ReviewQueue("resolved") || ks.ReviewCase("a") == ks.ReviewCase("b") ||
		ks.ReviewPending("a") == ks.ReviewPending("b") || ks.ReviewPending("a") == ks.ReviewCase("a") {
		t.Error("review keys collide")
	}
}

// TestTransactionKeysShareASlot: the keys each store changes in one
// transaction hash to one slot, whatever the version or id in their names.
func TestTransactionKeysShareASlot(t *testing.T) {
	t.Parallel()
	ks := mustNew(t, "candor")
	cat := ks.Catalog()
	groups := map[string][]string{
		"catalogue": {cat.Items, cat.Version, cat.Changes},
		"policy":    {ks.PolicyCurrent(), ks.Policy(1), ks.Policy(2), ks.Policy(1 << 40)},
		"model":     {ks.ModelCurrent(), ks.ModelVersions(), ks.Model("a"), ks.Model("b")},
		"reviews":   {ks.ReviewSeq(), ks.ReviewCase("h"), ks.ReviewQueue("open"), ks.ReviewQueue("closed"), ks.ReviewPending("m")},
	}
	for name, keys := range groups {
		for _, k := range keys[1:] {
			if hashTag(k) != hashTag(keys[0]) {
				t.Errorf("%s: %q and %q hash to different slots", name, k, keys[0])
			}
		}
	}
}

// TestNamespacesDoNotOverlap: two namespaces share no key, and no key of one
// starts with the other's prefix (so a test's SCAN over "<ns>:*" stays in its
// namespace).
func TestNamespacesDoNotOverlap(t *testing.T) {
	t.Parallel()
	a, b := mustNew(t, "shop"), mustNew(t, "shop1")
	keysOf := func(ks keyspace.Keyspace) []string {
		cat := ks.Catalog()
		return append(ks.Customer(pseudonym).All(),
			ks.Recommendation("rec_1"), ks.ReviewCase("h"), ks.ReviewQueue("open"), ks.ReviewPending("m"), ks.ReviewSeq(),
			ks.ErasureReceipts(), cat.Items, cat.Version, cat.Changes,
			ks.PolicyCurrent(), ks.Policy(2), ks.ModelCurrent(), ks.ModelVersions(), ks.Model("v"))
	}
	for _, k := range keysOf(a) {
		if !strings.HasPrefix(k, "shop:") || strings.HasPrefix(k, "shop1:") {
			t.Errorf("key %q of namespace shop", k)
		}
	}
	for _, k := range keysOf(b) {
		if !strings.HasPrefix(k, "shop1:") {
			t.Errorf("key %q of namespace shop1", k)
		}
	}
}
