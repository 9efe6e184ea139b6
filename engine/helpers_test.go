package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/keyspace"
	"github.com/candorhq/candor/internal/redistest"
)

// t0 is the fixed "now" of the engine tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// sliceSource is an engine.TrainingSource over customers held in memory. It
// records the purposes it was asked for and, when err is set, fails after
// visiting its customers.
type sliceSource struct {
	customers [][]features.Signal
	err       error

	mu       sync.Mutex
	purposes []consent.Purpose
	calls    int
}

var _ engine.TrainingSource = (*sliceSource)(nil)

func (s *sliceSource) ScanUsable(ctx context.Context, purpose consent.Purpose, _ time.Time, fn func([]features.Signal) error) error {
	s.mu.Lock()
	s.purposes = append(s.purposes, purpose)
	s.calls++
	s.mu.Unlock()
	for _, c := range s.customers {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return s.err
}

func (s *sliceSource) asked() (calls int, purposes []consent.Purpose) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, append([]consent.Purpose(nil), s.purposes...)
}

// group is n customers who each viewed the same items.
type group struct {
	n     int
	items []string
}

// population turns groups into per-customer signals: one view per item,
// a minute apart, collected for personalisation and model training.
func population(groups ...group) [][]features.Signal {
	var out [][]features.Signal
	c := 0
	for _, g := range groups {
		for range g.n {
			sigs := make([]features.Signal, len(g.items))
			for k, item := range g.items {
				sigs[k] = sig(fmt.Sprintf("sig_c%03d_%02d", c, k), consent.View, item, t0.Add(-time.Duration(k+1)*time.Minute))
			}
			out = append(out, sigs)
			c++
		}
	}
	return out
}

// twoGroups has two clusters of items with known co-occurrence counts (with
// MinSupport 3):
//
//	item counts: a1 9, a2 6, a3 5, a4 4, b1 7, b2 5, b3 5, b4 5, x1 2
//	pairs: a1a2 6, a1a3 5, a1a4 4, a2a3 4, a2a4 4, a3a4 4, every bb 5,
//	       a1b1 2 (below support), x1 alone (below support)
var twoGroups = []group{
	{4, []string{"a1", "a2", "a3", "a4"}},
	{2, []string{"a1", "a2"}},
	{1, []string{"a1", "a3"}},
	{5, []string{"b1", "b2", "b3", "b4"}},
	{2, []string{"a1", "b1"}},
	{2, []string{"x1"}},
}

func sig(id string, t consent.SignalType, item string, at time.Time) features.Signal {
	return features.Signal{
		ID:         id,
		Type:       t,
		ItemID:     item,
		Purposes:   consent.NewPurposeSet(consent.Personalization, consent.ModelTraining),
		OccurredAt: at,
		ExpiresAt:  at.Add(t.Retention()),
	}
}

func rating(id, item string, stars float64, at time.Time) features.Signal {
	s := sig(id, consent.Rating, item, at)
	s.Value = stars
	return s
}

// train builds a model or fails the test.
func train(tb testing.TB, customers [][]features.Signal, o engine.TrainOptions) *engine.Model {
	tb.Helper()
	m, err := engine.Train(context.Background(), &sliceSource{customers: customers}, t0, o)
	if err != nil {
		tb.Fatalf("Train: %v", err)
	}
	return m
}

// catalogOf returns a catalogue snapshot holding items. An item's UpdatedAt
// (t0 when zero) sets its place in Newest; the input is not modified.
func catalogOf(tb testing.TB, items ...features.Item) *features.CatalogSnapshot {
	tb.Helper()
	r := redistest.New(tb)
	ks, err := keyspace.New(r.Namespace)
	if err != nil {
		tb.Fatal(err)
	}
	cat := features.NewCatalog(r.Client, ks)
	ctx := context.Background()
	batch := make([]features.Item, 0, len(items))
	flush := func() {
		if len(batch) == 0 {
			return
		}
		at := batch[0].UpdatedAt
		if err := cat.Upsert(ctx, batch, at); err != nil {
			tb.Fatalf("catalogue upsert: %v", err)
		}
		batch = batch[:0]
	}
	for _, it := range items {
		if it.UpdatedAt.IsZero() {
			it.UpdatedAt = t0
		}
		if len(batch) > 0 && (!batch[0].UpdatedAt.Equal(it.UpdatedAt) || len(batch) == 1000) {
			flush()
		}
		batch = append(batch, it)
	}
	flush()
	snap, err := cat.Current(ctx)
	if err != nil {
		tb.Fatalf("catalogue: %v", err)
	}
	if snap.Len() != len(items) {
		tb.Fatalf("catalogue holds %d items, want %d", snap.Len(), len(items))
	}
	return snap
}

// testCatalog holds every twoGroups item, updated long ago, plus n1, n2, n3,
// which the model does not know, newest first. mod changes items by id.
func testCatalog(tb testing.TB, mod func(it *features.Item)) *features.CatalogSnapshot {
	tb.Helper()
	old := t0.Add(-30 * 24 * time.Hour)
	var items []features.Item
	for _, id := range []string{"a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4", "x1"} {
		items = append(items, features.Item{ID: id, Title: "Item " + id, UpdatedAt: old})
	}
	items = append(items,
		features.Item{ID: "n1", Title: "New 1", UpdatedAt: t0},
		features.Item{ID: "n2", Title: "New 2", UpdatedAt: t0.Add(-time.Hour)},
		features.Item{ID: "n3", Title: "New 3", UpdatedAt: t0.Add(-2 * time.Hour)},
	)
	if mod != nil {
		for i := range items {
			mod(&items[i])
		}
	}
	return catalogOf(tb, items...)
}

// placed maps each item of a result to its source.
func placed(res engine.Result) map[string]engine.Source {
	out := map[string]engine.Source{}
	for _, it := range res.Items {
		out[it.ItemID] = it.Source
	}
	return out
}

func ids(res engine.Result) []string {
	out := make([]string, len(res.Items))
	for i, it := range res.Items {
		out[i] = it.ItemID
	}
	return out
}

// checkWellFormed asserts the invariants every Result must keep: no item
// twice; co-occurrence items first, then popularity, then catalogue; within
// co-occurrence and popularity, score descending then id; co-occurrence
// scores positive and exactly the sum of their contributions in signal order;
// contributions by decreasing magnitude, each signal at most once.
func checkWellFormed(tb testing.TB, res engine.Result, usable []features.Signal) {
	tb.Helper()
	seen := map[string]bool{}
	for k, it := range res.Items {
		if seen[it.ItemID] {
			tb.Errorf("item %s appears twice", it.ItemID)
		}
		seen[it.ItemID] = true
		if k == 0 {
			continue
		}
		prev := res.Items[k-1]
		if prev.Source > it.Source {
			tb.Errorf("item %d (%s, %s) comes after a %s item", k, it.ItemID, it.Source, prev.Source)
		}
		if prev.Source == it.Source && it.Source != engine.SourceCatalog {
			if prev.Score < it.Score || (prev.Score == it.Score && prev.ItemID > it.ItemID) {
				tb.Errorf("items %s (%v) and %s (%v) are out of order", prev.ItemID, prev.Score, it.ItemID, it.Score)
			}
		}
	}
	for _, it := range res.Items {
		if it.Source != engine.SourceCooccurrence {
			if len(it.Contributions) != 0 {
				tb.Errorf("%s item %s carries contributions", it.Source, it.ItemID)
			}
			continue
		}
		if !(it.Score > 0) {
			tb.Errorf("co-occurrence item %s has score %v, want > 0", it.ItemID, it.Score)
		}
		if len(it.Contributions) == 0 {
			tb.Errorf("co-occurrence item %s has no contributions", it.ItemID)
			continue
		}
		bySignal := make([]*engine.Contribution, len(usable))
		for k := range it.Contributions {
			c := &it.Contributions[k]
			if c.Signal < 0 || c.Signal >= len(usable) {
				tb.Fatalf("item %s: contribution cites signal %d of %d", it.ItemID, c.Signal, len(usable))
			}
			if bySignal[c.Signal] != nil {
				tb.Errorf("item %s: signal %d contributes twice", it.ItemID, c.Signal)
			}
			bySignal[c.Signal] = c
			if k > 0 && abs(it.Contributions[k-1].Value) < abs(c.Value) {
				tb.Errorf("item %s: contribution %d (%v) is larger than contribution %d (%v)", it.ItemID, k, c.Value, k-1, it.Contributions[k-1].Value)
			}
		}
		var sum float64
		for _, c := range bySignal {
			if c != nil {
				sum += c.Value
			}
		}
		if sum != it.Score {
			tb.Errorf("item %s: contributions sum to %v in signal order, score is %v (difference %g): not exact",
				it.ItemID, sum, it.Score, sum-it.Score)
		}
		if d := abs(sum - it.Score); d > 1e-9 {
			tb.Errorf("item %s: contributions sum to %v, score is %v", it.ItemID, sum, it.Score)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func closeTo(got, want float64) bool {
	return abs(got-want) <= 1e-12*max(1, abs(want))
}
