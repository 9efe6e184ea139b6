package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// Faithfulness: a stated contribution is what the signal did to the score.

// TestCooccurrenceContributionIsTheLeaveOneOutChange: the co-occurrence score
// is linear in each signal, so removing a cited signal from the customer's
// data lowers the item's score by exactly its stated contribution (to
// rounding, 1e-12 of the score).
func TestCooccurrenceContributionIsTheLeaveOneOutChange(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 5))
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	m, items := faithModel(t, rng)
	cat := features.NewCatalogSnapshot(1, items)
	w := DefaultWeights()
	checked := 0
	for c := 0; c < 40; c++ {
		usable := faithSignals(rng, items, now, 8)
		req := Request{Purpose: consent.Personalization, Limit: len(items), Now: now}
		full := Models{Cooc: m}.Recommend(usable, cat, req, &w)
		for _, it := range full.Items {
			if it.Source != SourceCooccurrence {
				continue
			}
			for _, contrib := range it.Contributions {
				without := append(append([]features.Signal(nil), usable[:contrib.Signal]...), usable[contrib.Signal+1:]...)
				after, placed := personalScore(Models{Cooc: m}.Recommend(without, cat, req, &w), it.ItemID)
				tolerance := 1e-12 * math.Max(1, math.Abs(it.Score))
				if !placed {
					// The item left the personal ranking: its score would be
					// at most zero, so the contribution must cover it all.
					if it.Score-contrib.Value > tolerance {
						t.Fatalf("item %s: removing signal %d (contribution %v of %v) drops it from the ranking", it.ItemID, contrib.Signal, contrib.Value, it.Score)
					}
					checked++
					continue
				}
				if got, want := it.Score-after, contrib.Value; math.Abs(got-want) > tolerance {
					t.Fatalf("item %s: removing signal %d changes the score by %v, its stated contribution is %v", it.ItemID, contrib.Signal, got, want)
				}
				checked++
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d contributions checked; the test proves little", checked)
	}
}

// TestALSContributionAndLeaveOneOut: the ALS score y_jᵀA⁻¹b is linear in b
// but not in A, and a signal is in both: its item adds c·y_i to b and
// (c−1)·y_i y_iᵀ to A. The stated contribution, c·y_iᵀA⁻¹y_j, is the change
// at fixed A. Removing the signal also shrinks A, and by Sherman–Morrison the
// leave-one-out change is exactly
//
//	contribution − (c−1)·u·(v − c·q) / (1 − (c−1)·q)
//
// with u = y_iᵀA⁻¹y_j, v = y_iᵀx (x = A⁻¹b) and q = y_iᵀA⁻¹y_i. The test
// checks that identity to 1e-9 for every item and every folded item: the
// stated contribution is faithful, and what it leaves out is the effect of
// the signal on the customer's own confidence matrix, stated exactly.
func TestALSContributionAndLeaveOneOut(t *testing.T) {
	t.Parallel()
	m := structured(300, 60, 4, 7)
	o := DefaultALSOptions()
	o.Factors, o.Iterations, o.Lambda, o.Alpha = 8, 8, 2, 3
	f, err := FitALS(context.Background(), m, o)
	if err != nil {
		t.Fatal(err)
	}
	w, loo := f.NewFoldIn(), f.NewFoldIn()
	n := f.NumItems()
	scores, after := make([]float64, n), make([]float64, n)
	var ratios []float64 // |correction| / |contribution|
	for u := 0; u < 20; u++ {
		items, values := m.Items[m.Indptr[u]:m.Indptr[u+1]], m.Values[m.Indptr[u]:m.Indptr[u+1]]
		if err := w.Solve(items, values); err != nil {
			t.Fatal(err)
		}
		w.Scores(scores)
		parts := make([]float64, len(items))
		self := make([]float64, len(items))
		for k, i := range items {
			c := 1 + o.Alpha*values[k]
			w.Contributions(int(i), self) // self[k] = c·y_iᵀA⁻¹y_i
			q := self[k] / c
			v := dot(f.Item(int(i)), w.x)
			rest := append(append([]int32(nil), items[:k]...), items[k+1:]...)
			restV := append(append([]float64(nil), values[:k]...), values[k+1:]...)
			if err := loo.Solve(rest, restV); err != nil {
				t.Fatal(err)
			}
			loo.Scores(after)
			for j := 0; j < n; j++ {
				w.Contributions(j, parts)
				contribution := parts[k]
				uu := contribution / c
				correction := (c - 1) * uu * (v - c*q) / (1 - (c-1)*q)
				delta := scores[j] - after[j]
				if math.Abs(delta-(contribution-correction)) > 1e-9 {
					t.Fatalf("user %d, folded item %d, item %d: leave-one-out change %v, contribution %v, correction %v",
						u, i, j, delta, contribution, correction)
				}
				if contribution != 0 {
					ratios = append(ratios, math.Abs(correction/contribution))
				}
			}
		}
	}
	slices.Sort(ratios)
	t.Logf("Sherman–Morrison correction relative to the stated contribution: median %.3g, 90th percentile %.3g over %d cases",
		ratios[len(ratios)/2], ratios[len(ratios)*9/10], len(ratios))
}

// personalScore returns an item's score if it was placed from personal data.
func personalScore(r Result, item string) (float64, bool) {
	for _, it := range r.Items {
		if it.ItemID == item && it.Source.Personal() {
			return it.Score, true
		}
	}
	return 0, false
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// structured is a users × items matrix in which users of a group interact
// with the group's items.
func structured(users, items, groups int, seed uint64) *Interactions {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := &Interactions{NumUsers: users, NumItems: items, Indptr: []int{0}}
	for u := 0; u < users; u++ {
		for i := 0; i < items; i++ {
			if i%groups == u%groups && rng.Float64() < 0.3 {
				m.Items = append(m.Items, int32(i))
				m.Values = append(m.Values, 1+float64(rng.IntN(3)))
			}
		}
		m.Indptr = append(m.Indptr, len(m.Items))
	}
	return m
}

type faithSource struct{ customers [][]features.Signal }

func (s faithSource) ScanUsable(_ context.Context, _ consent.Purpose, _ time.Time, fn func([]features.Signal) error) error {
	for _, c := range s.customers {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

func faithModel(t *testing.T, rng *rand.Rand) (*Model, []features.Item) {
	t.Helper()
	var items []features.Item
	for i := 0; i < 30; i++ {
		items = append(items, features.Item{ID: string(rune('A'+i%26)) + string(rune('a'+i/26)), Title: "item"})
	}
	var src faithSource
	for c := 0; c < 150; c++ {
		g := c % 3
		var sigs []features.Signal
		for k := 0; k < 6; k++ {
			sigs = append(sigs, features.Signal{ID: "s", Type: consent.View, ItemID: items[3*rng.IntN(10)+g].ID})
		}
		src.customers = append(src.customers, sigs)
	}
	m, err := Train(context.Background(), src, time.Now(), TrainOptions{MinSupport: 2, MaxNeighbors: 50, MaxItemsPerCustomer: 300, Weights: DefaultWeights()})
	if err != nil {
		t.Fatal(err)
	}
	return m, items
}

func faithSignals(rng *rand.Rand, items []features.Item, now time.Time, n int) []features.Signal {
	types := []consent.SignalType{consent.View, consent.AddToCart, consent.Search, consent.Rating}
	out := make([]features.Signal, n)
	for k := range out {
		t := types[rng.IntN(len(types))]
		out[k] = features.Signal{ID: "sig", Type: t, ItemID: items[rng.IntN(len(items))].ID, OccurredAt: now.Add(-time.Duration(n-k) * 24 * time.Hour)}
		if t == consent.Rating {
			out[k].Value = float64(1 + rng.IntN(5))
		}
	}
	return out
}
