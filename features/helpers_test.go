package features_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/keyspace"
	"github.com/candorhq/candor/internal/redistest"
)

// t0 is the "now" of the tests. It lies far in the future so that the TTLs
// Track sets (PEXPIREAT at the latest signal expiry) never fire while a test
// runs, on a real or on the embedded Redis, whatever the machine's clock says.
var t0 = time.Date(2100, time.January, 4, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// testSecretBytes is recognisable, so leak tests can look for it.
const testSecretBytes = "SECRET-candor-test-key-0123456789-abcdef"

func testSecret(tb testing.TB) features.Secret {
	tb.Helper()
	s, err := features.NewSecret([]byte(testSecretBytes))
	if err != nil {
		tb.Fatalf("NewSecret: %v", err)
	}
	return s
}

// fixture is one server's view of a test's namespace.
type fixture struct {
	r          *redistest.Redis
	rdb        redis.UniversalClient
	keys       keyspace.Keyspace
	codec      *features.Codec
	pseudonyms *features.Pseudonymizer
	policies   *consent.PolicyStore
	catalog    *features.Catalog
	store      *features.Store
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	return newServer(tb, redistest.New(tb), nil)
}

// newServer returns a fixture on the same Redis and namespace as r, with
// its own caches. With a nil client it uses r.Client.
func newServer(tb testing.TB, r *redistest.Redis, rdb redis.UniversalClient) *fixture {
	tb.Helper()
	if rdb == nil {
		rdb = r.Client
	}
	ks, err := keyspace.New(r.Namespace)
	if err != nil {
		tb.Fatalf("keyspace.New(%q): %v", r.Namespace, err)
	}
	f := &fixture{
		r:          r,
		rdb:        rdb,
		keys:       ks,
		codec:      features.NewCodec(testSecret(tb)),
		pseudonyms: features.NewPseudonymizer(testSecret(tb)),
		policies:   consent.NewPolicyStore(rdb, ks),
		catalog:    features.NewCatalog(rdb, ks),
	}
	f.store = features.NewStore(rdb, features.StoreOptions{
		Keyspace:  ks,
		Codec:     f.codec,
		Policies:  f.policies,
		Catalog:   f.catalog,
		Retention: features.DefaultRetention(),
	})
	return f
}

// otherServer returns a fixture with its own connection to the same Redis
// and namespace, as a second server process would have.
func (f *fixture) otherServer(tb testing.TB) *fixture {
	tb.Helper()
	opts, err := redis.ParseURL(f.r.URL)
	if err != nil {
		tb.Fatalf("parse %s: %v", f.r.URL, err)
	}
	c := redis.NewClient(opts)
	tb.Cleanup(func() { _ = c.Close() })
	return newServer(tb, f.r, c)
}

func (f *fixture) customer(id string) features.Pseudonym { return f.pseudonyms.Pseudonym(id) }

// apply records a consent change made at `at` and fails the test on error.
func (f *fixture) apply(tb testing.TB, p features.Pseudonym, at time.Time, choices ...consent.Choice) features.ConsentResult {
	tb.Helper()
	res, err := f.store.ApplyConsent(context.Background(), p, consent.Change{
		Choices:       choices,
		NoticeVersion: "notice-v3",
		Method:        consent.MethodUI,
		ActorRole:     "customer",
		At:            at,
	})
	if err != nil {
		tb.Fatalf("ApplyConsent: %v", err)
	}
	return res
}

func (f *fixture) track(tb testing.TB, p features.Pseudonym, now time.Time, inputs ...features.SignalInput) []features.TrackResult {
	tb.Helper()
	res, err := f.store.Track(context.Background(), p, inputs, now)
	if err != nil {
		tb.Fatalf("Track: %v", err)
	}
	if len(res) != len(inputs) {
		tb.Fatalf("Track returned %d results for %d inputs", len(res), len(inputs))
	}
	return res
}

func (f *fixture) load(tb testing.TB, p features.Pseudonym) *features.CustomerView {
	tb.Helper()
	v, err := f.store.Load(context.Background(), p)
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return v
}

// signals returns the customer's stored signals by id.
func (f *fixture) signals(tb testing.TB, p features.Pseudonym) map[string]features.Signal {
	tb.Helper()
	out := map[string]features.Signal{}
	for _, s := range f.load(tb, p).Signals {
		out[s.ID] = s
	}
	return out
}

func grant(p consent.Purpose) consent.Choice  { return consent.Choice{Purpose: p, Granted: true} }
func revoke(p consent.Purpose) consent.Choice { return consent.Choice{Purpose: p} }

// purposes returns purpose names, for SignalInput.Purposes.
func purposes(ps ...consent.Purpose) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func view(item string, at time.Time, ps ...consent.Purpose) features.SignalInput {
	return features.SignalInput{Type: "view", ItemID: item, OccurredAt: at, Purposes: purposes(ps...)}
}
