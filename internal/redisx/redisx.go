// Package redisx holds the few Redis patterns every store of candor shares:
// optimistic transactions with bounded retries, counters that default when
// absent, and scans that visit every node of a cluster. It knows nothing of
// candor's data and must never log or wrap a key's value into an error.
package redisx

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/internal/fault"
)

// ErrContention is returned when an optimistic transaction kept failing
// because other writers changed the watched keys; the caller may retry.
var ErrContention = fault.Kind(fault.Conflict, "a concurrent change got there first: try again")

// MaxAttempts bounds the retries of an optimistic transaction.
const MaxAttempts = 16

// Watch runs fn as an optimistic transaction over keys (WATCH, read, MULTI,
// EXEC), retrying when a watched key changed, up to MaxAttempts times. In a
// cluster, keys must share a hash tag. op names the operation in errors.
func Watch(ctx context.Context, rdb redis.UniversalClient, op string, fn func(tx *redis.Tx) error, keys ...string) error {
	for attempt := 0; attempt < MaxAttempts; attempt++ {
		err := rdb.Watch(ctx, fn, keys...)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	}
	return fmt.Errorf("%s: %w", op, ErrContention)
}

// ErrBadCounter is returned when a counter key holds something that is not a
// whole number at least the default.
var ErrBadCounter = errors.New("corrupt counter")

// Counter interprets the result of GET on a counter key: absent means def.
func Counter(get *redis.StringCmd, def int64) (int64, error) {
	val, err := get.Result()
	if errors.Is(err, redis.Nil) {
		return def, nil
	}
	if err != nil {
		return 0, err
	}
	v, perr := strconv.ParseInt(val, 10, 64)
	if perr != nil || v < def {
		return 0, fmt.Errorf("%w: %q", ErrBadCounter, val)
	}
	return v, nil
}

// ForEachNode calls fn once per Redis node that holds data: every master of a
// cluster (concurrently), or the single server otherwise.
func ForEachNode(ctx context.Context, rdb redis.UniversalClient, fn func(ctx context.Context, node *redis.Client) error) error {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, fn)
	case *redis.Client:
		return fn(ctx, c)
	default:
		return fmt.Errorf("redisx.ForEachNode: unsupported client %T", rdb)
	}
}

// ScanKeys calls fn with batches of keys matching pattern on every node.
// Nodes are scanned concurrently, but fn is never called concurrently.
func ScanKeys(ctx context.Context, rdb redis.UniversalClient, pattern string, fn func(keys []string) error) error {
	var mu sync.Mutex
	return ForEachNode(ctx, rdb, func(ctx context.Context, node *redis.Client) error {
		var cursor uint64
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			keys, next, err := node.Scan(ctx, cursor, pattern, 1000).Result()
			if err != nil {
				return fmt.Errorf("scan %s: %w", node.Options().Addr, err)
			}
			if len(keys) > 0 {
				mu.Lock()
				err := fn(keys)
				mu.Unlock()
				if err != nil {
					return err
				}
			}
			if next == 0 {
				return nil
			}
			cursor = next
		}
	})
}
