package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
)

// randomFactors fits factors of the wanted shape on synthetic data with
// structure: 100 groups of items, each customer (one per five items) views
// 30 items of one group, so every item is seen by about six customers.
func randomFactors(tb testing.TB, items, k int) *engine.Factors {
	tb.Helper()
	const groups = 100
	rng := rand.New(rand.NewPCG(9, 9))
	users := max(200, items/5)
	perGroup := max(1, items/groups)
	m := &engine.Interactions{NumUsers: users, NumItems: items, Indptr: []int{0}}
	for u := 0; u < users; u++ {
		g := u % groups
		seen := map[int32]bool{}
		for len(seen) < min(30, perGroup) {
			if i := rng.IntN(perGroup)*groups + g; i < items {
				seen[int32(i)] = true
			}
		}
		row := make([]int32, 0, 30)
		for i := range seen {
			row = append(row, i)
		}
		sortInt32(row)
		for _, i := range row {
			m.Items = append(m.Items, i)
			m.Values = append(m.Values, 1)
		}
		m.Indptr = append(m.Indptr, len(m.Items))
	}
	o := engine.DefaultALSOptions()
	o.Factors, o.Iterations = k, 4
	f, err := engine.FitALS(context.Background(), m, o)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func sortInt32(s []int32) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// BenchmarkFoldInVsFloor measures, single-threaded and in the same run, one
// request's fold-in (50 items), scoring of 10,000 items × 64 factors and the
// contributions of the top 10, next to the floor: one bare gonum 64×64
// Cholesky factorisation and solve plus one 10,000 × 64 matrix-vector
// product. It reports both and their ratio (the aim is at most 1.5).
func BenchmarkFoldInVsFloor(b *testing.B) {
	const items, k, folded, top = 10_000, 64, 50, 10
	f := randomFactors(b, items, k)
	rng := rand.New(rand.NewPCG(1, 1))
	idx := make([]int32, 0, folded)
	seen := map[int32]bool{}
	for len(idx) < folded {
		if i := int32(rng.IntN(items)); !seen[i] {
			seen[i] = true
			idx = append(idx, i)
		}
	}
	vals := make([]float64, folded)
	for i := range vals {
		vals[i] = 1 + rng.Float64()
	}
	w := f.NewFoldIn()
	scores := make([]float64, items)
	parts := make([]float64, folded)
	foldIn := func() {
		if err := w.Solve(idx, vals); err != nil {
			b.Fatal(err)
		}
		w.Scores(scores)
		for j := 0; j < top; j++ {
			w.Contributions(j, parts)
		}
	}

	// The floor: gonum's own Cholesky and matrix-vector product.
	spd := mat.NewSymDense(k, nil)
	for i := 0; i < k; i++ {
		spd.SetSym(i, i, float64(k))
		for j := i + 1; j < k; j++ {
			spd.SetSym(i, j, rng.Float64())
		}
	}
	y := mat.NewDense(items, k, nil)
	for i := 0; i < items; i++ {
		y.SetRow(i, f.Item(i))
	}
	rhs := mat.NewVecDense(k, nil)
	var chol mat.Cholesky
	var x mat.VecDense
	out := mat.NewVecDense(items, nil)
	floor := func() {
		if !chol.Factorize(spd) {
			b.Fatal("not positive definite")
		}
		if err := chol.SolveVecTo(&x, rhs); err != nil {
			b.Fatal(err)
		}
		out.MulVec(y, &x)
	}

	measure := func(fn func(), n int) time.Duration {
		start := time.Now()
		for i := 0; i < n; i++ {
			fn()
		}
		return time.Since(start) / time.Duration(n)
	}
	foldIn()
	floor()
	b.ReportAllocs()
	b.ResetTimer()
	var tf, tl time.Duration
	for i := 0; i < b.N; i++ {
		// Interleaved, so both see the same machine.
		tf += measure(foldIn, 20)
		tl += measure(floor, 20)
	}
	b.StopTimer()
	b.ReportMetric(float64(tf.Microseconds())/float64(b.N), "foldin-µs")
	b.ReportMetric(float64(tl.Microseconds())/float64(b.N), "floor-µs")
	b.ReportMetric(float64(tf)/float64(tl), "ratio")
}

// BenchmarkALSRecommend is one request through the ALS model (50 usable
// signals, 10 results with contributions) at catalogue sizes of 1k, 10k and
// 100k items, single-threaded.
func BenchmarkALSRecommend(b *testing.B) {
	for _, items := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("items=%d", items), func(b *testing.B) {
			f := randomFactors(b, items, 64)
			ids := make([]string, items)
			catalogItems := make([]features.Item, items)
			for i := range ids {
				ids[i] = fmt.Sprintf("item%06d", i)
				catalogItems[i] = features.Item{ID: ids[i], Title: ids[i]}
			}
			m, err := engine.NewALSModel(engine.ALSInfo{Version: "bench"}, ids, f)
			if err != nil {
				b.Fatal(err)
			}
			cat := features.NewCatalogSnapshot(1, catalogItems)
			rng := rand.New(rand.NewPCG(2, 2))
			usable := make([]features.Signal, 50)
			for k := range usable {
				usable[k] = features.Signal{ID: fmt.Sprintf("sig_%02d", k), Type: consent.View, ItemID: ids[rng.IntN(items)], OccurredAt: t0.Add(-time.Duration(k) * time.Hour)}
			}
			ms := engine.Models{ALS: m}
			w := engine.DefaultWeights()
			req := engine.Request{Purpose: consent.Personalization, Limit: 10, Now: t0}
			if res := ms.Recommend(usable, cat, req, &w); len(res.Items) != 10 || res.Items[0].Source != engine.SourceALS {
				b.Fatalf("fixture: %v", res.Items)
			}
			recall, mixed := 1.0, 1.0
			if items >= engine.CandidateThreshold {
				recall = candidateRecall(b, m, ms, usable, cat, req, &w, 1)
				mixed = candidateRecall(b, m, ms, usable, cat, req, &w, 50)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				ms.Recommend(usable, cat, req, &w)
			}
			// (ResetTimer drops metrics reported before it.)
			b.ReportMetric(recall, "recall@10")
			b.ReportMetric(mixed, "recall@10-mixed")
		})
	}
}

// candidateRecall is the share of the exact top 10 (every item scored) that
// the candidate-generated answer holds, over 20 customers whose signals are
// spread over the given number of the data's 100 taste groups.
func candidateRecall(b *testing.B, m *engine.ALSModel, ms engine.Models, usable []features.Signal, cat *features.CatalogSnapshot, req engine.Request, w *engine.Weights, spread int) float64 {
	b.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	found, total := 0, 0
	for c := 0; c < 20; c++ {
		sigs := append([]features.Signal(nil), usable...)
		first := rng.IntN(100)
		for k := range sigs {
			g := (first + rng.IntN(spread)) % 100
			sigs[k].ItemID = fmt.Sprintf("item%06d", rng.IntN(m.NumItems()/100)*100+g)
		}
		exact := m.ExactTop(sigs, req, w, 10)
		got := map[string]bool{}
		for _, it := range ms.Recommend(sigs, cat, req, w).Items {
			got[it.ItemID] = true
		}
		for _, id := range exact {
			total++
			if got[id] {
				found++
			}
		}
	}
	return float64(found) / float64(total)
}
