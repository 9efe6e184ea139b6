package redistest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Key is one key and everything it holds, read according to its type, for
// scans that look for data that must not be there. Unlike Dump, it keeps
// fields and values apart, so that a test can also open sealed values (the
// codec binds each to its key and field) and search their plaintext.
type Key struct {
	// Node is the address of the server the key was read from.
	Node string
	Name string
	// Type is the Redis type: string, list, set, zset, hash or stream.
	Type  string
	Items []Item
}

// Item is one element of a key's value. Field is the hash field, the sorted
// set member's score, or a stream entry's id and field ("<id> <field>");
// empty for a string, a list element or a set member.
type Item struct {
	Field string
	Value string
}

// Contains reports whether s occurs in the key's name or in any of its
// fields or values.
func (k Key) Contains(s string) bool {
	if strings.Contains(k.Name, s) {
		return true
	}
	for _, it := range k.Items {
		if strings.Contains(it.Field, s) || strings.Contains(it.Value, s) {
			return true
		}
	}
	return false
}

// Snapshot reads every key of the test's namespace with everything it holds,
// sorted by name.
func (r *Redis) Snapshot(tb testing.TB) []Key {
	tb.Helper()
	node := "redis"
	if c, ok := r.Client.(*redis.Client); ok {
		node = c.Options().Addr
	}
	keys, err := snapshotNode(context.Background(), r.Client, node, r.Namespace+":*")
	if err != nil {
		tb.Fatalf("snapshot: %v", err)
	}
	sortKeys(keys)
	return keys
}

// snapshotNode scans one server for keys matching pattern and reads each by
// type. A key deleted between the scan and the read is left out.
func snapshotNode(ctx context.Context, c redis.Cmdable, node, pattern string) ([]Key, error) {
	var names []string
	var cursor uint64
	for {
		batch, next, err := c.Scan(ctx, cursor, pattern, 1000).Result()
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", node, err)
		}
		names = append(names, batch...)
		if next == 0 {
			break
		}
		cursor = next
	}
	slices.Sort(names)
	names = slices.Compact(names) // SCAN may return a key twice
	out := make([]Key, 0, len(names))
	for _, name := range names {
		k, err := readKey(ctx, c, node, name)
		if err != nil {
			return nil, err
		}
		if k.Type != "none" {
			out = append(out, k)
		}
	}
	return out, nil
}

func readKey(ctx context.Context, c redis.Cmdable, node, name string) (Key, error) {
	k := Key{Node: node, Name: name}
	typ, err := c.Type(ctx, name).Result()
	if err != nil {
		return k, fmt.Errorf("type %s: %w", name, err)
	}
	k.Type = typ
	values := func(vs []string, err error) error {
		for _, v := range vs {
			k.Items = append(k.Items, Item{Value: v})
		}
		return err
	}
	switch typ {
	case "none":
	case "string":
		v, gerr := c.Get(ctx, name).Result()
		if gerr == redis.Nil {
			k.Type = "none"
			break
		}
		err = values([]string{v}, gerr)
	case "list":
		err = values(c.LRange(ctx, name, 0, -1).Result())
	case "set":
		members, serr := c.SMembers(ctx, name).Result()
		slices.Sort(members)
		err = values(members, serr)
	case "zset":
		var zs []redis.Z
		zs, err = c.ZRangeWithScores(ctx, name, 0, -1).Result()
		for _, z := range zs {
			member, _ := z.Member.(string)
			k.Items = append(k.Items, Item{Field: strconv.FormatFloat(z.Score, 'g', -1, 64), Value: member})
		}
	case "hash":
		var fields map[string]string
		fields, err = c.HGetAll(ctx, name).Result()
		for _, f := range slices.Sorted(maps.Keys(fields)) {
			k.Items = append(k.Items, Item{Field: f, Value: fields[f]})
		}
	case "stream":
		var msgs []redis.XMessage
		msgs, err = c.XRange(ctx, name, "-", "+").Result()
		for _, m := range msgs {
			for _, f := range slices.Sorted(maps.Keys(m.Values)) {
				v, _ := m.Values[f].(string)
				k.Items = append(k.Items, Item{Field: m.ID + " " + f, Value: v})
			}
		}
	default:
		return k, fmt.Errorf("key %s has type %s, which Snapshot does not read", name, typ)
	}
	if err != nil {
		return k, fmt.Errorf("read %s %s: %w", typ, name, err)
	}
	return k, nil
}

func sortKeys(keys []Key) {
	slices.SortFunc(keys, func(a, b Key) int {
		if c := strings.Compare(a.Node, b.Node); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}
