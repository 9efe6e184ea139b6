package explain

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
	"github.com/candorhq/candor/internal/keyspace"
)

// DefaultRetention is how long an answer and its explanations are kept.
const DefaultRetention = 30 * 24 * time.Hour

// IDPrefix starts every recommendation id.
const IDPrefix = "rec_"

// NewID returns a fresh recommendation id.
func NewID() string { return features.NewID(IDPrefix) }

// ValidID reports whether id has the shape of a recommendation id.
func ValidID(id string) bool { return features.ValidID(IDPrefix, id) }

// Store keeps answers, sealed by the codec, under <ns>:rec:<id> with a TTL of
// the retention period, and indexes each in its customer's sorted set of
// recommendations so that export and erasure can find them.
type Store struct {
	rdb   redis.UniversalClient
	keys  keyspace.Keyspace
	codec *features.Codec
}

// NewStore returns a store.
func NewStore(rdb redis.UniversalClient, keys keyspace.Keyspace, codec *features.Codec) *Store {
	return &Store{rdb: rdb, keys: keys, codec: codec}
}

// Save stores an answer until its expiry. The customer's index entry and the
// record are written in one pipeline.
func (s *Store) Save(ctx context.Context, p features.Pseudonym, a *Answer) error {
	ttl := a.ExpiresAt.Sub(a.CreatedAt)
	if ttl <= 0 {
		return fmt.Errorf("explain.Save: expiry %s is not after creation", a.ExpiresAt.Format(time.RFC3339))
	}
	key := s.keys.Recommendation(a.ID)
	index := s.keys.Customer(p).Recommendations
	sealed := s.codec.Seal(encodeAnswer(p, a), key, "")
	// The index score and the keys' expiry are rounded up to a whole day,
	// so that they do not give away when the customer was served; the exact
	// expiry is inside the sealed record, and Get checks it.
	expires := features.CeilDay(a.ExpiresAt)
	kept := expires.Sub(a.CreatedAt)
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.ZAdd(ctx, index, redis.Z{Score: float64(expires.UnixMilli()), Member: a.ID})
		pipe.ZRemRangeByScore(ctx, index, "-inf", strconv.FormatInt(a.CreatedAt.UnixMilli(), 10))
		// The index must outlive every answer it lists, so its TTL only
		// grows: set it when the key has none (NX), else extend it (GT).
		pipe.Do(ctx, "pexpire", index, kept.Milliseconds(), "NX")
		pipe.Do(ctx, "pexpire", index, kept.Milliseconds(), "GT")
		pipe.Set(ctx, key, sealed, kept)
		return nil
	})
	if err != nil {
		return fmt.Errorf("explain.Save: %w", err)
	}
	return nil
}

// Get returns a stored answer and whose it is, or features.ErrNotFound once
// it has expired.
func (s *Store) Get(ctx context.Context, id string, now time.Time) (features.Pseudonym, *Answer, error) {
	key := s.keys.Recommendation(id)
	sealed, err := s.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return "", nil, fault.Wrapf(features.ErrNotFound, "recommendation not found")
	}
	if err != nil {
		return "", nil, fmt.Errorf("explain.Get: %w", err)
	}
	p, a, err := s.open(key, sealed)
	if err != nil {
		return "", nil, fmt.Errorf("explain.Get: %w", err)
	}
	if !a.ExpiresAt.After(now) {
		return "", nil, fault.Wrapf(features.ErrNotFound, "recommendation not found")
	}
	return p, a, nil
}

// open unseals and decodes a stored answer.
func (s *Store) open(key string, sealed []byte) (features.Pseudonym, *Answer, error) {
	plain, err := s.codec.Open(sealed, key, "")
	if err != nil {
		return "", nil, err
	}
	p, a, err := decodeAnswer(plain)
	if err != nil {
		return "", nil, features.ErrCorrupt
	}
	return p, a, nil
}

// DeleteFor deletes the customer's stored answers made for any of purposes
// (a revocation with delete_data). It returns how many it deleted.
func (s *Store) DeleteFor(ctx context.Context, p features.Pseudonym, purposes consent.PurposeSet) (int, error) {
	var ids []string
	err := s.stored(ctx, p, func(a *Answer) error {
		if purposes.Has(a.Purpose) {
			ids = append(ids, a.ID)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := s.DeleteAll(ctx, p, ids); err != nil {
		return 0, err
	}
	return len(ids), nil
}

// DeleteAll deletes the given stored answers of a customer and their index
// entries (erasure); answers already gone are skipped.
func (s *Store) DeleteAll(ctx context.Context, p features.Pseudonym, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	index := s.keys.Customer(p).Recommendations
	members := make([]any, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, id := range ids {
			pipe.Del(ctx, s.keys.Recommendation(id))
			members[i] = id
		}
		pipe.ZRem(ctx, index, members...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("explain.DeleteAll: %w", err)
	}
	return nil
}

// Each calls fn with every answer of the customer still retained, newest
// first (export).
func (s *Store) Each(ctx context.Context, p features.Pseudonym, now time.Time, fn func(*Answer) error) error {
	return s.stored(ctx, p, func(a *Answer) error {
		if !a.ExpiresAt.After(now) {
			return nil
		}
		return fn(a)
	})
}

// storedBatch is how many answers stored reads in one round trip.
const storedBatch = 100

// stored calls fn with every answer of the customer still stored (expired
// ones included, until Redis removes them), newest first, reading them a
// batch at a time in one pipeline each. fn's errors are returned as they
// are.
func (s *Store) stored(ctx context.Context, p features.Pseudonym, fn func(*Answer) error) error {
	ids, err := s.rdb.ZRevRange(ctx, s.keys.Customer(p).Recommendations, 0, -1).Result()
	if err != nil {
		return fmt.Errorf("explain: stored answers: %w", err)
	}
	for start := 0; start < len(ids); start += storedBatch {
		batch := ids[start:min(start+storedBatch, len(ids))]
		reads := make([]*redis.StringCmd, len(batch))
		_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i, id := range batch {
				reads[i] = pipe.Get(ctx, s.keys.Recommendation(id))
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("explain: stored answers: %w", err)
		}
		for i, read := range reads {
			sealed, err := read.Bytes()
			if errors.Is(err, redis.Nil) {
				continue // expired and removed
			}
			if err != nil {
				return fmt.Errorf("explain: stored answers: %w", err)
			}
			owner, a, err := s.open(s.keys.Recommendation(batch[i]), sealed)
			if err != nil {
				return fmt.Errorf("explain: stored answers: %w", err)
			}
			if owner != p {
				continue
			}
			if err := fn(a); err != nil {
				return err
			}
		}
	}
	return nil
}
