package features

import (
	"context"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ForEachNode calls fn once per Redis node that holds data: every master of a
// cluster, or the single server otherwise. Scans that must see the whole
// keyspace go through it.
func ForEachNode(ctx context.Context, rdb redis.UniversalClient, fn func(ctx context.Context, node *redis.Client) error) error {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, fn)
	case *redis.Client:
		return fn(ctx, c)
	default:
		return fmt.Errorf("features.ForEachNode: unsupported client %T", rdb)
	}
}

// ScanKeys calls fn with batches of keys matching pattern on every node. Nodes
// are scanned concurrently, but fn is never called concurrently.
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
