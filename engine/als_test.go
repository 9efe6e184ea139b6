package engine_test

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/candorhq/candor/engine"
)

// blocks builds users × items interactions with known structure: the first
// four fifths of the users each belong to group u%groups and interact with
// about 60% of its items (items i with i%groups equal to it) and nothing
// else; the last fifth interact with random items (noise the model must see
// through).
func blocks(users, items, groups int, seed uint64) *engine.Interactions {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := &engine.Interactions{NumUsers: users, NumItems: items, Indptr: make([]int, users+1)}
	for u := 0; u < users; u++ {
		noise := u >= users*4/5
		for i := 0; i < items; i++ {
			same := i%groups == u%groups
			if (!noise && same && rng.Float64() < 0.6) || (noise && rng.Float64() < 0.1) {
				m.Items = append(m.Items, int32(i))
				m.Values = append(m.Values, 1+float64(rng.IntN(3)))
			}
		}
		m.Indptr[u+1] = len(m.Items)
	}
	return m
}

func smallOptions() engine.ALSOptions {
	o := engine.DefaultALSOptions()
	o.Factors, o.Iterations, o.Lambda, o.Alpha = 8, 10, 1, 2
	return o
}

func fit(tb testing.TB, m *engine.Interactions, o engine.ALSOptions) *engine.Factors {
	tb.Helper()
	f, err := engine.FitALS(context.Background(), m, o)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func TestALSRecoversStructure(t *testing.T) {
	t.Parallel()
	const groups = 4
	m := blocks(200, 80, groups, 1)
	f := fit(t, m, smallOptions())
	w := f.NewFoldIn()
	scores := make([]float64, m.NumItems)
	for u := 0; u < 20; u++ {
		row := m.Items[m.Indptr[u]:m.Indptr[u+1]]
		if err := w.Solve(row, m.Values[m.Indptr[u]:m.Indptr[u+1]]); err != nil {
			t.Fatal(err)
		}
		w.Scores(scores)
		seen := map[int32]bool{}
		for _, i := range row {
			seen[i] = true
		}
		var unseen []int
		for i := range scores {
			if !seen[int32(i)] {
				unseen = append(unseen, i)
			}
		}
		sort.Slice(unseen, func(a, b int) bool { return scores[unseen[a]] > scores[unseen[b]] })
		top := 0 // the user's own group's unseen items, at most 5
		for _, i := range unseen {
			if i%groups == u%groups && top < 5 {
				top++
			}
		}
		if top == 0 {
			continue
		}
		for _, i := range unseen[:top] {
			if i%groups != u%groups {
				t.Fatalf("user %d (group %d): item %d of group %d ranks in the top 5 unseen items", u, u%groups, i, i%groups)
			}
		}
	}
}

func TestALSDeterministicForASeed(t *testing.T) {
	t.Parallel()
	m := blocks(120, 60, 3, 2)
	o := smallOptions()
	o.Workers = 1
	a := fit(t, m, o)
	o.Workers = 3
	b := fit(t, m, o)
	o.Seed++
	c := fit(t, m, o)
	differs := false
	for i := 0; i < m.NumItems; i++ {
		for d, v := range a.Item(i) {
			if math.Float64bits(v) != math.Float64bits(b.Item(i)[d]) {
				t.Fatalf("item %d factor %d: %v with 1 worker, %v with 3", i, d, v, b.Item(i)[d])
			}
			if v != c.Item(i)[d] {
				differs = true
			}
		}
	}
	if !differs {
		t.Fatal("another seed gave the same factors; the seed is not used")
	}
}

// TestFoldInIsTheExactSolution compares the fold-in vector's scores with a
// direct dense solve of the same system, and checks that contributions sum
// to the score.
func TestFoldInIsTheExactSolution(t *testing.T) {
	t.Parallel()
	m := blocks(100, 50, 3, 3)
	o := smallOptions()
	f := fit(t, m, o)
	w := f.NewFoldIn()
	k := f.Dim()
	scores := make([]float64, m.NumItems)
	parts := make([]float64, m.NumItems)
	for u := 0; u < 10; u++ {
		items, values := m.Items[m.Indptr[u]:m.Indptr[u+1]], m.Values[m.Indptr[u]:m.Indptr[u+1]]
		if err := w.Solve(items, values); err != nil {
			t.Fatal(err)
		}
		w.Scores(scores)

		// A = YᵀY + λI + Σ (c−1) y yᵀ, b = Σ c y, solved densely.
		a := mat.NewSymDense(k, nil)
		for i := 0; i < m.NumItems; i++ {
			a.SymRankOne(a, 1, mat.NewVecDense(k, append([]float64(nil), f.Item(i)...)))
		}
		for d := 0; d < k; d++ {
			a.SetSym(d, d, a.At(d, d)+o.Lambda)
		}
		b := mat.NewVecDense(k, nil)
		for n, i := range items {
			c := 1 + o.Alpha*values[n]
			y := mat.NewVecDense(k, append([]float64(nil), f.Item(int(i))...))
			a.SymRankOne(a, c-1, y)
			b.AddScaledVec(b, c, y)
		}
		var x mat.VecDense
		if err := x.SolveVec(a, b); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < m.NumItems; j++ {
			want := mat.Dot(&x, mat.NewVecDense(k, append([]float64(nil), f.Item(j)...)))
			if math.Abs(scores[j]-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Fatalf("user %d item %d: fold-in score %v, dense solve %v", u, j, scores[j], want)
			}
			sum := w.Contributions(j, parts)
			total := 0.0
			for _, p := range parts[:len(items)] {
				total += p
			}
			if total != sum {
				t.Fatalf("user %d item %d: Contributions returned %v but the parts add to %v", u, j, sum, total)
			}
			if math.Abs(sum-scores[j]) > 1e-9 {
				t.Fatalf("user %d item %d: contributions sum to %v, score is %v", u, j, sum, scores[j])
			}
		}
	}
}

func TestFoldInDoesNotAllocate(t *testing.T) {
	m := blocks(100, 500, 5, 4)
	f := fit(t, m, smallOptions())
	w := f.NewFoldIn()
	scores := make([]float64, m.NumItems)
	parts := make([]float64, m.NumItems)
	items, values := m.Items[m.Indptr[0]:m.Indptr[1]], m.Values[m.Indptr[0]:m.Indptr[1]]
	_ = w.Solve(items, values) // sizes the workspace
	allocs := testing.AllocsPerRun(50, func() {
		if err := w.Solve(items, values); err != nil {
			t.Fatal(err)
		}
		w.Scores(scores)
		w.Contributions(7, parts)
	})
	if allocs != 0 {
		t.Fatalf("fold-in, scoring and contributions allocate %v times per request", allocs)
	}
}

func TestFoldInOfNoItemsScoresZero(t *testing.T) {
	t.Parallel()
	f := fit(t, blocks(30, 20, 2, 5), smallOptions())
	w := f.NewFoldIn()
	if err := w.Solve(nil, nil); err != nil {
		t.Fatal(err)
	}
	scores := make([]float64, f.NumItems())
	w.Scores(scores)
	for i, s := range scores {
		if s != 0 {
			t.Fatalf("item %d scores %v for a customer with no items", i, s)
		}
	}
}

func TestALSValidation(t *testing.T) {
	t.Parallel()
	good := blocks(10, 10, 2, 6)
	bad := []struct {
		name string
		m    *engine.Interactions
		o    func(*engine.ALSOptions)
	}{
		{"no factors", good, func(o *engine.ALSOptions) { o.Factors = 0 }},
		{"no iterations", good, func(o *engine.ALSOptions) { o.Iterations = 0 }},
		{"zero lambda", good, func(o *engine.ALSOptions) { o.Lambda = 0 }},
		{"negative alpha", good, func(o *engine.ALSOptions) { o.Alpha = -1 }},
		{"NaN lambda", good, func(o *engine.ALSOptions) { o.Lambda = math.NaN() }},
		{"no CG steps", good, func(o *engine.ALSOptions) { o.CGSteps = 0 }},
		{"row pointers", &engine.Interactions{NumUsers: 1, NumItems: 1, Indptr: []int{0}}, nil},
		{"item out of range", &engine.Interactions{NumUsers: 1, NumItems: 1, Indptr: []int{0, 1}, Items: []int32{1}, Values: []float64{1}}, nil},
		{"duplicate item", &engine.Interactions{NumUsers: 1, NumItems: 2, Indptr: []int{0, 2}, Items: []int32{1, 1}, Values: []float64{1, 1}}, nil},
		{"zero weight", &engine.Interactions{NumUsers: 1, NumItems: 2, Indptr: []int{0, 1}, Items: []int32{1}, Values: []float64{0}}, nil},
	}
	for _, c := range bad {
		o := smallOptions()
		if c.o != nil {
			c.o(&o)
		}
		if _, err := engine.FitALS(context.Background(), c.m, o); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}
