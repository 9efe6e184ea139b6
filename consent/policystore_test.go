package consent_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/internal/redistest"
)

var policyTime = time.Date(2026, time.April, 1, 8, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))

// otherServer returns a PolicyStore on its own connection to the same Redis
// and namespace, as a second server process would have.
func otherServer(tb testing.TB, r *redistest.Redis) *consent.PolicyStore {
	tb.Helper()
	opts, err := redis.ParseURL(r.URL)
	if err != nil {
		tb.Fatalf("parse %s: %v", r.URL, err)
	}
	c := redis.NewClient(opts)
	tb.Cleanup(func() { _ = c.Close() })
	return consent.NewPolicyStore(c, r.Keyspace())
}

// noSearch is the default policy without search history for personalization.
func noSearch() [consent.NumPurposes]consent.SignalTypeSet {
	a := consent.DefaultPolicy().Allowed
	a[consent.Personalization] = consent.NewSignalTypeSet(consent.View, consent.Purchase)
	a[consent.MarketingEmail] = 0
	return a
}

func TestPolicyStoreCurrentDefaultsToVersion1(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := redistest.New(t)
	s := consent.NewPolicyStore(r.Client, r.Keyspace())
	p, err := s.Current(ctx)
	if err != nil {
		t.Fatalf("Current: %v", err)
	}
	def := consent.DefaultPolicy()
	if p.Version != 1 || p.AuthorRole != consent.DefaultPolicyAuthor || p.Allowed != def.Allowed {
		t.Errorf("Current on an empty store = %+v, want the default policy", p)
	}
	if keys := r.Keys(t); len(keys) != 0 {
		t.Errorf("reading the current policy wrote keys: %v", keys)
	}
}

func TestPolicyStorePut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := redistest.New(t)
	s := consent.NewPolicyStore(r.Client, r.Keyspace())

	created, err := s.Put(ctx, noSearch(), 1, "marketer", policyTime)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if created.Version != 2 || created.AuthorRole != "marketer" || !created.CreatedAt.Equal(policyTime) || created.Allowed != noSearch() {
		t.Errorf("Put returned %+v, want version 2 by marketer at %s", created, policyTime)
	}
	if created.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt is in %s, want UTC", created.CreatedAt.Location())
	}

	// The same server and another server both see version 2, with every field.
	for name, store := range map[string]*consent.PolicyStore{"same server": s, "other server": otherServer(t, r)} {
		cur, err := store.Current(ctx)
		if err != nil {
			t.Fatalf("%s: Current: %v", name, err)
		}
		if cur.Version != 2 || cur.AuthorRole != "marketer" || !cur.CreatedAt.Equal(policyTime) || cur.Allowed != noSearch() {
			t.Errorf("%s: Current = %+v, want version 2", name, cur)
		}
		if cur.Allows(consent.Personalization, consent.Search) {
			t.Errorf("%s: version 2 still allows search for personalization", name)
		}
		v1, err := store.ByVersion(ctx, 1)
		if err != nil || v1.Allowed != consent.DefaultPolicy().Allowed {
			t.Errorf("%s: ByVersion(1) = %+v, %v; want the defaults", name, v1, err)
		}
	}

	// An expected version that is no longer current is refused, and nothing is written.
	_, err = s.Put(ctx, consent.DefaultPolicy().Allowed, 1, "marketer", policyTime)
	if !errors.Is(err, consent.ErrVersionConflict) {
		t.Fatalf("Put expecting version 1 when 2 is current: error = %v, want ErrVersionConflict", err)
	}
	if cur, err := s.Current(ctx); err != nil || cur.Version != 2 {
		t.Fatalf("after a refused Put, Current = %+v, %v; want version 2", cur, err)
	}
	// The right expected version is accepted; 0 means "whatever is current".
	if p, err := s.Put(ctx, consent.DefaultPolicy().Allowed, 2, "privacy_officer", policyTime); err != nil || p.Version != 3 {
		t.Fatalf("Put expecting 2 = %+v, %v; want version 3", p, err)
	}
	if p, err := s.Put(ctx, noSearch(), 0, "marketer", policyTime); err != nil || p.Version != 4 {
		t.Fatalf("Put expecting 0 = %+v, %v; want version 4", p, err)
	}
	if cur, err := otherServer(t, r).Current(ctx); err != nil || cur.Version != 4 || cur.Allowed != noSearch() {
		t.Errorf("other server: Current = %+v, %v; want version 4", cur, err)
	}
}

func TestPolicyStoreByVersionUnknown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := redistest.New(t)
	s := consent.NewPolicyStore(r.Client, r.Keyspace())
	for _, v := range []int64{0, 2, 99, -1} {
		if _, err := s.ByVersion(ctx, v); !errors.Is(err, consent.ErrNotFound) {
			t.Errorf("ByVersion(%d) error = %v, want ErrNotFound", v, err)
		}
	}
}

func TestPolicyStoreConcurrentPuts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := redistest.New(t)
	const writers = 8
	stores := []*consent.PolicyStore{consent.NewPolicyStore(r.Client, r.Keyspace()), otherServer(t, r)}

	versions := make([]int64, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			allowed := consent.DefaultPolicy().Allowed
			// Each writer's policy is recognisable by its allowed marketing types.
			allowed[consent.MarketingEmail] = consent.SignalTypeSet(i)
			p, err := stores[i%2].Put(ctx, allowed, 0, fmt.Sprintf("writer-%d", i), policyTime)
			if err == nil {
				versions[i] = p.Version
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	sorted := slices.Sorted(slices.Values(versions))
	for i, v := range sorted {
		if v != int64(i+2) {
			t.Fatalf("versions = %v, want each of 2..%d exactly once", sorted, writers+1)
		}
	}
	fresh := otherServer(t, r)
	cur, err := fresh.Current(ctx)
	if err != nil || cur.Version != writers+1 {
		t.Fatalf("Current = %+v, %v; want version %d", cur, err, writers+1)
	}
	// No write was lost: each version holds the policy of the writer it was returned to.
	for i, v := range versions {
		p, err := fresh.ByVersion(ctx, v)
		if err != nil {
			t.Fatalf("ByVersion(%d): %v", v, err)
		}
		if p.AuthorRole != fmt.Sprintf("writer-%d", i) || p.Allowed[consent.MarketingEmail] != consent.SignalTypeSet(i) {
			t.Errorf("version %d = %+v, want writer-%d's policy", v, p, i)
		}
	}
}
