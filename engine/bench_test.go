package engine_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
)

// BenchmarkRecommend scores one customer with 50 usable signals against a
// model of 10,000 items with 50 neighbours each, and fills 10 results.
func BenchmarkRecommend(b *testing.B) {
	const (
		numItems = 10_000
		window   = 28 // each customer views 28 consecutive items on a ring
	)
	item := func(i int) string { return fmt.Sprintf("item%05d", i%numItems) }
	// Customer k views items k .. k+window-1: two items d apart co-occur for
	// window-d customers, so with MinSupport 3 each item has 2×(window-3) =
	// 50 neighbours.
	customers := make([][]features.Signal, numItems)
	for k := range customers {
		sigs := make([]features.Signal, window)
		for d := range sigs {
			sigs[d] = sig("s", consent.View, item(k+d), t0.Add(-time.Duration(d)*time.Minute))
		}
		customers[k] = sigs
	}
	o := engine.DefaultTrainOptions()
	m := train(b, customers, o)
	if m.NumItems() != numItems {
		b.Fatalf("model has %d items, want %d", m.NumItems(), numItems)
	}

	items := make([]features.Item, numItems)
	for i := range items {
		items[i] = features.Item{ID: item(i), Title: "Item " + item(i), UpdatedAt: t0}
	}
	cat := catalogOf(b, items...)

	rng := rand.New(rand.NewPCG(3, 5))
	usable := make([]features.Signal, 50)
	for k := range usable {
		typ := []consent.SignalType{consent.View, consent.AddToCart, consent.Purchase}[rng.IntN(3)]
		usable[k] = sig(fmt.Sprintf("sig_%02d", k), typ, item(rng.IntN(numItems)), t0.Add(-time.Duration(50-k)*12*time.Hour))
	}
	w := engine.DefaultWeights()
	req := engine.Request{Purpose: consent.Personalization, Limit: 10, Now: t0}
	res := m.Recommend(usable, cat, req, &w)
	if len(res.Items) != 10 || res.Items[9].Source != engine.SourceCooccurrence {
		b.Fatalf("fixture: want 10 co-occurrence items, got %v", ids(res))
	}

	b.ReportAllocs()
	for b.Loop() {
		m.Recommend(usable, cat, req, &w)
	}
}
