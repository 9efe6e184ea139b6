package features

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/internal/fault"
	"github.com/candorhq/candor/internal/keyspace"
	"github.com/candorhq/candor/internal/redisx"
)

// Item is one catalogue entry. The catalogue holds no personal data.
type Item struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Categories  []string  `json:"categories,omitempty"`
	Sensitive   bool      `json:"sensitive,omitempty"`
	Promotional bool      `json:"promotional,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Deleted marks a tombstone: the item is gone from the catalogue, but
	// whether it was sensitive is remembered, because signals about it may
	// outlive it and must keep needing explicit consent.
	Deleted bool `json:"deleted,omitempty"`
}

// Catalogue input limits.
const (
	MaxTitleLen       = 200
	MaxCategories     = 10
	MaxCategoryLen    = 64
	MaxItemsPerUpsert = 1000
)

// ValidateItem checks an item before it is written; field names the item in
// the caller's request, e.g. "items[3]".
func ValidateItem(field string, it *Item) error {
	if err := ValidateItemID(field+".item_id", it.ID); err != nil {
		return err
	}
	if err := validateText(field+".title", it.Title, MaxTitleLen); err != nil {
		return err
	}
	if len(it.Categories) > MaxCategories {
		return invalidf(field+".categories", "at most %d categories, got %d", MaxCategories, len(it.Categories))
	}
	for i, c := range it.Categories {
		if err := validateText(fmt.Sprintf("%s.categories[%d]", field, i), c, MaxCategoryLen); err != nil {
			return err
		}
	}
	return nil
}

func validateText(field, s string, max int) error {
	switch {
	case strings.TrimSpace(s) == "":
		return invalidf(field, "required")
	case len(s) > max:
		return invalidf(field, "at most %d bytes, got %d", max, len(s))
	}
	for _, r := range s {
		if r == '\uFFFD' || !unicode.IsPrint(r) {
			return invalidf(field, "must be printable UTF-8")
		}
	}
	return nil
}

// Catalog stores items in Redis and keeps an in-memory snapshot that a
// request brings up to date with the catalogue version it read in its own
// pipeline, so a change is visible to the very next request on every server.
//
// Its keys are keyspace.CatalogKeys (one hash tag, so a change is one
// transaction).
type Catalog struct {
	rdb  redis.UniversalClient
	keys keyspace.CatalogKeys

	syncMu sync.Mutex
	snap   atomic.Pointer[CatalogSnapshot]
}

// CatalogSnapshot is an immutable view of the catalogue at one version.
type CatalogSnapshot struct {
	Version int64
	items   map[string]*Item

	newestOnce sync.Once
	newest     []*Item
}

// Newest lists the items, most recently updated first (ties by id).
func (s *CatalogSnapshot) Newest() []*Item {
	s.newestOnce.Do(func() {
		s.newest = make([]*Item, 0, len(s.items))
		for _, it := range s.items {
			if !it.Deleted {
				s.newest = append(s.newest, it)
			}
		}
		sort.Slice(s.newest, func(i, j int) bool {
			a, b := s.newest[i], s.newest[j]
			if !a.UpdatedAt.Equal(b.UpdatedAt) {
				return a.UpdatedAt.After(b.UpdatedAt)
			}
			return a.ID < b.ID
		})
	})
	return s.newest
}

// NewCatalogSnapshot returns an in-memory snapshot holding items, for
// callers that rank without a store (the evaluation harness, tests).
func NewCatalogSnapshot(version int64, items []Item) *CatalogSnapshot {
	m := make(map[string]*Item, len(items))
	for i := range items {
		it := items[i]
		m[it.ID] = &it
	}
	return &CatalogSnapshot{Version: version, items: m}
}

// Item returns the item with the given id, or nil when the catalogue does
// not hold it (or it was deleted).
func (s *CatalogSnapshot) Item(id string) *Item {
	if it := s.items[id]; it != nil && !it.Deleted {
		return it
	}
	return nil
}

// Sensitive reports whether the item is, or was before it was deleted,
// flagged sensitive.
func (s *CatalogSnapshot) Sensitive(id string) bool {
	it := s.items[id]
	return it != nil && it.Sensitive
}

// Len returns the number of items in the catalogue (deleted ones excluded).
func (s *CatalogSnapshot) Len() int {
	n := 0
	for _, it := range s.items {
		if !it.Deleted {
			n++
		}
	}
	return n
}

// NewCatalog returns the catalogue under the keyspace.
func NewCatalog(rdb redis.UniversalClient, ks keyspace.Keyspace) *Catalog {
	c := &Catalog{rdb: rdb, keys: ks.Catalog()}
	c.snap.Store(&CatalogSnapshot{items: map[string]*Item{}})
	return c
}

// VersionKey is the key holding the catalogue version, for callers that read
// it in their own pipeline and then call SyncTo.
func (c *Catalog) VersionKey() string { return c.keys.Version }

// Upsert creates or replaces items, all or none. Items must be validated.
func (c *Catalog) Upsert(ctx context.Context, items []Item, now time.Time) error {
	if len(items) == 0 {
		return nil
	}
	fields := make([]any, 0, 2*len(items))
	for i := range items {
		items[i].UpdatedAt = now.UTC().Truncate(time.Millisecond)
		raw, err := json.Marshal(&items[i])
		if err != nil {
			return fmt.Errorf("features.Catalog.Upsert: %w", err)
		}
		fields = append(fields, items[i].ID, raw)
	}
	ids := make([]string, len(items))
	for i := range items {
		ids[i] = items[i].ID
	}
	return c.change(ctx, func(*redis.Tx) ([]string, func(redis.Pipeliner), error) {
		return ids, func(pipe redis.Pipeliner) { pipe.HSet(ctx, c.keys.Items, fields...) }, nil
	})
}

// Delete removes an item from the catalogue; it reports whether the item
// existed. A tombstone keeps the item's sensitive flag (see Item.Deleted).
func (c *Catalog) Delete(ctx context.Context, id string) (bool, error) {
	var existed bool
	err := c.change(ctx, func(tx *redis.Tx) ([]string, func(redis.Pipeliner), error) {
		existed = false
		raw, err := tx.HGet(ctx, c.keys.Items, id).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		var it Item
		if err := json.Unmarshal(raw, &it); err != nil {
			return nil, nil, ErrCorrupt
		}
		if it.Deleted {
			return nil, nil, nil
		}
		existed = true
		tomb, err := json.Marshal(Item{ID: id, Sensitive: it.Sensitive, Deleted: true, UpdatedAt: it.UpdatedAt})
		if err != nil {
			return nil, nil, err
		}
		return []string{id}, func(pipe redis.Pipeliner) { pipe.HSet(ctx, c.keys.Items, id, tomb) }, nil
	})
	return existed, err
}

// change runs one catalogue write with a version bump, in one optimistic
// transaction on the version (every change bumps it, so watching it is
// enough). prepare may read through tx; it returns the ids it changes and the
// write, or no ids for no change.
func (c *Catalog) change(ctx context.Context, prepare func(tx *redis.Tx) ([]string, func(redis.Pipeliner), error)) error {
	txf := func(tx *redis.Tx) error {
		v, err := redisx.Counter(tx.Get(ctx, c.keys.Version), 0)
		if err != nil {
			return err
		}
		ids, write, err := prepare(tx)
		if err != nil || len(ids) == 0 {
			return err
		}
		next := v + 1
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			write(pipe)
			members := make([]redis.Z, len(ids))
			for i, id := range ids {
				members[i] = redis.Z{Score: float64(next), Member: id}
			}
			pipe.ZAdd(ctx, c.keys.Changes, members...)
			pipe.Set(ctx, c.keys.Version, next, 0)
			return nil
		})
		return err
	}
	return redisx.Watch(ctx, c.rdb, "features.Catalog", txf, c.keys.Version)
}

// Get reads one item from Redis.
func (c *Catalog) Get(ctx context.Context, id string) (Item, error) {
	raw, err := c.rdb.HGet(ctx, c.keys.Items, id).Bytes()
	if errors.Is(err, redis.Nil) {
		return Item{}, fault.Wrapf(ErrNotFound, "item %q: not found", id)
	}
	if err != nil {
		return Item{}, fmt.Errorf("features.Catalog.Get: %w", err)
	}
	var it Item
	if err := json.Unmarshal(raw, &it); err != nil {
		return Item{}, fmt.Errorf("features.Catalog.Get: %w", ErrCorrupt)
	}
	if it.Deleted {
		return Item{}, fault.Wrapf(ErrNotFound, "item %q: not found", id)
	}
	return it, nil
}

// Current brings the snapshot up to date with Redis and returns it.
func (c *Catalog) Current(ctx context.Context) (*CatalogSnapshot, error) {
	v, err := redisx.Counter(c.rdb.Get(ctx, c.keys.Version), 0)
	if err != nil {
		return nil, fmt.Errorf("features.Catalog.Current: %w", err)
	}
	return c.SyncTo(ctx, v)
}

// SyncTo returns a snapshot at version v or later, reading only the items
// changed since the snapshot held in memory.
func (c *Catalog) SyncTo(ctx context.Context, v int64) (*CatalogSnapshot, error) {
	if s := c.snap.Load(); s.Version >= v {
		return s, nil
	}
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	old := c.snap.Load()
	if old.Version >= v {
		return old, nil
	}
	ids, err := c.rdb.ZRangeByScore(ctx, c.keys.Changes, &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(old.Version, 10),
		Max: strconv.FormatInt(v, 10),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("features.Catalog.SyncTo: %w", err)
	}
	items := make(map[string]*Item, len(old.items)+len(ids))
	for id, it := range old.items {
		items[id] = it
	}
	// Every batch of changed items in one round trip.
	var batches [][]string
	var reads []*redis.SliceCmd
	_, err = c.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for start := 0; start < len(ids); start += 1000 {
			batch := ids[start:min(start+1000, len(ids))]
			batches = append(batches, batch)
			reads = append(reads, pipe.HMGet(ctx, c.keys.Items, batch...))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("features.Catalog.SyncTo: %w", err)
	}
	for b, read := range reads {
		for i, val := range read.Val() {
			s, ok := val.(string)
			if !ok {
				delete(items, batches[b][i])
				continue
			}
			it := new(Item)
			if err := json.Unmarshal([]byte(s), it); err != nil {
				return nil, fmt.Errorf("features.Catalog.SyncTo: %w", ErrCorrupt)
			}
			items[batches[b][i]] = it
		}
	}
	next := &CatalogSnapshot{Version: v, items: items}
	c.snap.Store(next)
	return next, nil
}
