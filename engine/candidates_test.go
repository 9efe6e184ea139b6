package engine

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCandidateIndex: every item with non-zero factors is in exactly one
// cluster, a query returns whole clusters up to the budget, and on factors
// with real structure it finds most of the exact top 10.
func TestCandidateIndex(t *testing.T) {
	t.Parallel()
	const items, groups = 3000, 20
	rng := rand.New(rand.NewPCG(4, 4))
	m := &Interactions{NumUsers: 1500, NumItems: items, Indptr: []int{0}}
	for u := 0; u < m.NumUsers; u++ {
		g := u % groups
		seen := map[int32]bool{}
		for len(seen) < 25 {
			i := int32(rng.IntN(items/groups)*groups + g) // items of the user's group
			seen[i] = true
		}
		row := make([]int32, 0, len(seen))
		for i := range seen {
			row = append(row, i)
		}
		slices.Sort(row)
		for _, i := range row {
			m.Items = append(m.Items, i)
			m.Values = append(m.Values, 1)
		}
		m.Indptr = append(m.Indptr, len(m.Items))
	}
	o := DefaultALSOptions()
	o.Factors, o.Iterations = 16, 5
	f, err := FitALS(context.Background(), m, o)
	if err != nil {
		t.Fatal(err)
	}
	ix := buildCandidateIndex(f, 1)
	in := make([]int, items)
	for _, members := range ix.members {
		for _, i := range members {
			in[i]++
		}
	}
	for i, n := range in {
		zero := true
		for _, v := range f.Item(i) {
			zero = zero && v == 0
		}
		if (zero && n != 0) || (!zero && n != 1) {
			t.Fatalf("item %d (zero factors %v) is in %d clusters", i, zero, n)
		}
	}

	w := f.NewFoldIn()
	scores := make([]float64, items)
	var sc candidateScratch
	found, total := 0, 0
	const budget = 300 // a tenth of the catalogue
	for u := 0; u < 100; u++ {
		row := m.Items[m.Indptr[u]:m.Indptr[u+1]]
		if err := w.Solve(row, m.Values[m.Indptr[u]:m.Indptr[u+1]]); err != nil {
			t.Fatal(err)
		}
		w.Scores(scores)
		exact := make([]int32, items)
		for i := range exact {
			exact[i] = int32(i)
		}
		slices.SortFunc(exact, func(a, b int32) int {
			switch {
			case scores[a] > scores[b]:
				return -1
			case scores[a] < scores[b]:
				return 1
			}
			return int(a - b)
		})
		cands := ix.candidates(w.x, budget, &sc)
		if len(cands) < budget {
			t.Fatalf("%d candidates for a budget of %d", len(cands), budget)
		}
		set := map[int32]bool{}
		for _, c := range cands {
			set[c] = true
		}
		for _, i := range exact[:10] {
			total++
			if set[i] {
				found++
			}
		}
	}
	if recall := float64(found) / float64(total); recall < 0.9 {
		t.Fatalf("candidates hold %.2f of the exact top 10; want at least 0.9", recall)
	} else {
		t.Logf("candidates (a tenth of the catalogue) hold %.3f of the exact top 10", recall)
	}
}
