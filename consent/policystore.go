package consent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/internal/fault"
	"github.com/candorhq/candor/internal/keyspace"
	"github.com/candorhq/candor/internal/redisx"
)

// PolicyStore keeps policy versions in Redis. Version 1 (the defaults) is
// implicit; each change writes version n+1 and moves the current-version
// pointer in one transaction. Versions are immutable, so they are cached in
// memory by number; only the pointer is read per request.
//
// Its keys are keyspace.PolicyCurrent and keyspace.Policy (one hash tag, so
// the transaction stays in one cluster slot).
type PolicyStore struct {
	rdb        redis.UniversalClient
	keys       keyspace.Keyspace
	versionKey string

	mu    sync.RWMutex
	cache map[int64]*Policy
}

// NewPolicyStore returns a store under the keyspace.
func NewPolicyStore(rdb redis.UniversalClient, keys keyspace.Keyspace) *PolicyStore {
	def := DefaultPolicy()
	return &PolicyStore{
		rdb:        rdb,
		keys:       keys,
		versionKey: keys.PolicyCurrent(),
		cache:      map[int64]*Policy{1: &def},
	}
}

// VersionKey is the key holding the current version number, for callers that
// read it inside their own pipeline (redisx.Counter with default 1).
func (s *PolicyStore) VersionKey() string { return s.versionKey }

// Current returns the policy version current now.
func (s *PolicyStore) Current(ctx context.Context) (*Policy, error) {
	v, err := redisx.Counter(s.rdb.Get(ctx, s.versionKey), 1)
	if err != nil {
		return nil, err
	}
	return s.ByVersion(ctx, v)
}

// ByVersion returns one version, from memory when it was read before.
func (s *PolicyStore) ByVersion(ctx context.Context, version int64) (*Policy, error) {
	s.mu.RLock()
	p, ok := s.cache[version]
	s.mu.RUnlock()
	if ok {
		return p, nil
	}
	raw, err := s.rdb.Get(ctx, s.keys.Policy(version)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fault.Wrapf(ErrNotFound, "policy version %d: not found", version)
	}
	if err != nil {
		return nil, fmt.Errorf("consent.ByVersion %d: %w", version, err)
	}
	p, err = decodePolicy(raw)
	if err != nil {
		return nil, fmt.Errorf("consent.ByVersion %d: %w", version, err)
	}
	s.mu.Lock()
	s.cache[version] = p
	s.mu.Unlock()
	return p, nil
}

// Put writes a new version with the given signal sets. With expected > 0 the
// change is refused with ErrVersionConflict unless expected is current.
func (s *PolicyStore) Put(ctx context.Context, allowed [numPurposes]SignalTypeSet, expected int64, author string, now time.Time) (*Policy, error) {
	var created *Policy
	txf := func(tx *redis.Tx) error {
		current, err := redisx.Counter(tx.Get(ctx, s.versionKey), 1)
		if err != nil {
			return err
		}
		if expected > 0 && expected != current {
			return fault.Wrapf(ErrVersionConflict, "expected version %d, current is %d", expected, current)
		}
		next := &Policy{Version: current + 1, AuthorRole: author, CreatedAt: now.UTC(), Allowed: allowed}
		raw, err := encodePolicy(next)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Set(ctx, s.keys.Policy(next.Version), raw, 0)
			pipe.Set(ctx, s.versionKey, next.Version, 0)
			return nil
		})
		created = next
		return err
	}
	if err := redisx.Watch(ctx, s.rdb, "consent.Put", txf, s.versionKey); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache[created.Version] = created
	s.mu.Unlock()
	return created, nil
}

type storedPolicy struct {
	Version    int64               `json:"version"`
	AuthorRole string              `json:"author_role"`
	CreatedAt  time.Time           `json:"created_at"`
	Allowed    map[string][]string `json:"allowed"`
}

func encodePolicy(p *Policy) ([]byte, error) {
	sp := storedPolicy{Version: p.Version, AuthorRole: p.AuthorRole, CreatedAt: p.CreatedAt, Allowed: map[string][]string{}}
	for purpose := Purpose(0); purpose < numPurposes; purpose++ {
		sp.Allowed[purpose.String()] = p.Allowed[purpose].Names()
	}
	return json.Marshal(sp)
}

func decodePolicy(raw []byte) (*Policy, error) {
	var sp storedPolicy
	if err := json.Unmarshal(raw, &sp); err != nil {
		return nil, fmt.Errorf("corrupt policy: %v", err) // ours, not the caller's: Internal
	}
	p := &Policy{Version: sp.Version, AuthorRole: sp.AuthorRole, CreatedAt: sp.CreatedAt}
	for name, types := range sp.Allowed {
		purpose, err := ParsePurpose("allowed", name)
		if err != nil {
			return nil, fmt.Errorf("corrupt policy: %v", err) // ours, not the caller's: Internal
		}
		for _, tn := range types {
			t, err := ParseSignalType("allowed", tn)
			if err != nil {
				return nil, fmt.Errorf("corrupt policy: %v", err) // ours, not the caller's: Internal
			}
			p.Allowed[purpose] |= NewSignalTypeSet(t)
		}
	}
	return p, nil
}
