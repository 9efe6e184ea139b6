// Package redistest gives tests a Redis to talk to: the real server named by
// REDIS_URL when it is set (CI sets it), the embedded in-process server
// otherwise. Each test gets its own key namespace and its keys are deleted
// when it ends; nothing ever flushes a shared server.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/internal/keyspace"
)

// Redis is a client plus the namespace a test owns.
type Redis struct {
	Client    redis.UniversalClient
	Namespace string
	// URL is the address a separately started server should use: REDIS_URL,
	// or the embedded server's redis:// address.
	URL string
	// Embedded is the in-process server, nil when REDIS_URL is set.
	Embedded *miniredis.Miniredis
}

// New returns a Redis for one test, cleaned up with it.
func New(tb testing.TB) *Redis {
	tb.Helper()
	r := &Redis{Namespace: "t" + randomHex(tb, 6)}
	if url := os.Getenv("REDIS_URL"); url != "" {
		opts, err := redis.ParseURL(url)
		if err != nil {
			tb.Fatalf("REDIS_URL: %v", err)
		}
		r.Client, r.URL = redis.NewClient(opts), url
	} else {
		// TTLs do not run on their own in the embedded server; candor
		// enforces retention on read, and tests that need a key to expire
		// call Embedded.FastForward.
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			tb.Fatalf("embedded redis: %v", err)
		}
		r.Embedded, r.URL = mr, "redis://"+mr.Addr()
		r.Client = redis.NewClient(&redis.Options{Addr: mr.Addr()})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Client.Ping(ctx).Err(); err != nil {
		tb.Fatalf("redis at %s does not answer: %v", r.URL, err)
	}
	tb.Cleanup(func() {
		r.DeleteNamespace(tb)
		_ = r.Client.Close()
		if r.Embedded != nil {
			r.Embedded.Close()
		}
	})
	return r
}

// Keyspace names the keys of the test's namespace.
func (r *Redis) Keyspace() keyspace.Keyspace {
	ks, err := keyspace.New(r.Namespace)
	if err != nil {
		panic("redistest: the test namespace is invalid: " + err.Error()) // "t" and hex digits never are
	}
	return ks
}

// Keys lists every key in the test's namespace.
func (r *Redis) Keys(tb testing.TB) []string {
	tb.Helper()
	ctx := context.Background()
	var keys []string
	var cursor uint64
	for {
		batch, next, err := r.Client.Scan(ctx, cursor, r.Namespace+":*", 1000).Result()
		if err != nil {
			tb.Fatalf("scan: %v", err)
		}
		keys = append(keys, batch...)
		if next == 0 {
			return keys
		}
		cursor = next
	}
}

// DeleteNamespace deletes every key of the test's namespace.
func (r *Redis) DeleteNamespace(tb testing.TB) {
	tb.Helper()
	for _, k := range r.Keys(tb) {
		if err := r.Client.Del(context.Background(), k).Err(); err != nil {
			tb.Errorf("delete %s: %v", k, err)
		}
	}
}

// Dump returns every key of the namespace with every value it holds, as
// text, whatever the key's type: for scans that look for data that must not
// be there.
func (r *Redis) Dump(tb testing.TB) map[string]string {
	tb.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, k := range r.Keys(tb) {
		typ, err := r.Client.Type(ctx, k).Result()
		if err != nil {
			tb.Fatalf("type %s: %v", k, err)
		}
		var parts []string
		switch typ {
		case "string":
			parts = append(parts, r.Client.Get(ctx, k).Val())
		case "hash":
			fields := r.Client.HGetAll(ctx, k).Val()
			names := make([]string, 0, len(fields))
			for f := range fields {
				names = append(names, f)
			}
			sort.Strings(names)
			for _, f := range names {
				parts = append(parts, f, fields[f])
			}
		case "list":
			parts = append(parts, r.Client.LRange(ctx, k, 0, -1).Val()...)
		case "set":
			members := r.Client.SMembers(ctx, k).Val()
			sort.Strings(members)
			parts = append(parts, members...)
		case "zset":
			parts = append(parts, r.Client.ZRange(ctx, k, 0, -1).Val()...)
		case "stream":
			for _, m := range r.Client.XRange(ctx, k, "-", "+").Val() {
				fields := make([]string, 0, len(m.Values))
				for f := range m.Values {
					fields = append(fields, f)
				}
				sort.Strings(fields)
				for _, f := range fields {
					parts = append(parts, m.ID, f, toString(m.Values[f]))
				}
			}
		case "none":
			continue
		default:
			tb.Fatalf("key %s has type %s, which Dump does not read", k, typ)
		}
		out[k] = strings.Join(parts, "\x00")
	}
	return out
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

func randomHex(tb testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}
