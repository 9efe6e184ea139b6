package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// Implicit ALS: weighted regularised matrix factorisation for implicit
// feedback (Hu, Koren and Volinsky, "Collaborative Filtering for Implicit
// Feedback Datasets", ICDM 2008). Each observed (user, item) pair has
// preference 1 and confidence c = 1 + Alpha·r, where r is the pair's total
// signal weight; unobserved pairs have preference 0 and confidence 1. The
// factors minimise
//
//	Σ c_ui (p_ui − x_uᵀy_i)² + Lambda (Σ|x_u|² + Σ|y_i|²)
//
// by alternating least squares. Training solves each row with a few steps
// of conjugate gradient warm-started from the previous iteration (Takács,
// Pilászy and Tikk, RecSys 2011), which avoids the k² cost per observation
// of the exact update. Folding a customer in at request time (FoldIn) solves
// the same row exactly, by Cholesky, so that the score of item j is
//
//	y_jᵀ A⁻¹ b = Σ_i c_i · y_iᵀ (A⁻¹ y_j),  A = YᵀY + Σ_i (c_i − 1) y_i y_iᵀ + Lambda·I,  b = Σ_i c_i y_i
//
// an exact sum over the customer's items (section 5 of the paper): the
// explanation's contributions.

// Interactions is a users × items matrix of signal weights in compressed
// sparse row form.
type Interactions struct {
	NumUsers, NumItems int
	// Indptr has NumUsers+1 entries; row u is Items[Indptr[u]:Indptr[u+1]].
	Indptr []int
	// Items holds item indexes, ascending and distinct within a row.
	Items []int32
	// Values holds r_ui > 0 per entry; confidence is 1 + Alpha·r_ui.
	Values []float64
}

// Validate checks the matrix's shape.
func (m *Interactions) Validate() error {
	switch {
	case m.NumUsers < 0 || m.NumItems < 0:
		return errors.New("engine: negative matrix size")
	case len(m.Indptr) != m.NumUsers+1 || m.Indptr[0] != 0 || m.Indptr[m.NumUsers] != len(m.Items):
		return errors.New("engine: malformed row pointers")
	case len(m.Items) != len(m.Values):
		return errors.New("engine: items and values differ in length")
	}
	for u := 0; u < m.NumUsers; u++ {
		if m.Indptr[u+1] < m.Indptr[u] {
			return errors.New("engine: row pointers decrease")
		}
		last := int32(-1)
		for k := m.Indptr[u]; k < m.Indptr[u+1]; k++ {
			i := m.Items[k]
			if i <= last || int(i) >= m.NumItems {
				return fmt.Errorf("engine: row %d: item indexes must ascend within 0..%d", u, m.NumItems-1)
			}
			if v := m.Values[k]; !(v > 0) || math.IsInf(v, 0) {
				return fmt.Errorf("engine: row %d: weights must be finite and positive", u)
			}
			last = i
		}
	}
	return nil
}

// transpose returns the items × users matrix.
func (m *Interactions) transpose() *Interactions {
	t := &Interactions{NumUsers: m.NumItems, NumItems: m.NumUsers, Indptr: make([]int, m.NumItems+1), Items: make([]int32, len(m.Items)), Values: make([]float64, len(m.Values))}
	for _, i := range m.Items {
		t.Indptr[i+1]++
	}
	for i := 0; i < m.NumItems; i++ {
		t.Indptr[i+1] += t.Indptr[i]
	}
	next := append([]int(nil), t.Indptr[:m.NumItems]...)
	for u := 0; u < m.NumUsers; u++ { // users ascend, so each item's row ascends
		for k := m.Indptr[u]; k < m.Indptr[u+1]; k++ {
			i := m.Items[k]
			t.Items[next[i]] = int32(u)
			t.Values[next[i]] = m.Values[k]
			next[i]++
		}
	}
	return t
}

// ALSOptions are implicit ALS's hyperparameters.
type ALSOptions struct {
	Factors    int     `json:"factors"`    // k, the dimension of the factors
	Iterations int     `json:"iterations"` // alternating sweeps over users and items
	Lambda     float64 `json:"lambda"`     // L2 regularisation
	Alpha      float64 `json:"alpha"`      // confidence per unit of signal weight
	Seed       uint64  `json:"seed"`       // initial item factors; training is deterministic for a seed
	Workers    int     `json:"-"`          // goroutines per sweep; 0 means GOMAXPROCS (no effect on the result)
	CGSteps    int     `json:"cg_steps"`   // conjugate-gradient steps per row and sweep
}

// DefaultALSOptions is the setting the validation search of `candor eval`
// chose most often on MovieLens 100K (over the folds and consent rates of
// README's "Recommendation quality"), used by `candor train` unless flags
// say otherwise.
func DefaultALSOptions() ALSOptions {
	return ALSOptions{Factors: 64, Iterations: 15, Lambda: 20, Alpha: 1, Seed: 1, CGSteps: 3}
}

// Validate checks the options' ranges.
func (o ALSOptions) Validate() error {
	switch {
	case o.Factors < 1 || o.Factors > 1024:
		return fmt.Errorf("engine: ALS factors must be 1 to 1024, got %d", o.Factors)
	case o.Iterations < 1 || o.Iterations > 1000:
		return fmt.Errorf("engine: ALS iterations must be 1 to 1000, got %d", o.Iterations)
	case !(o.Lambda > 0) || math.IsInf(o.Lambda, 0):
		return fmt.Errorf("engine: ALS lambda must be positive, got %g", o.Lambda)
	case !(o.Alpha >= 0) || math.IsInf(o.Alpha, 0):
		return fmt.Errorf("engine: ALS alpha must not be negative, got %g", o.Alpha)
	case o.Workers < 0:
		return fmt.Errorf("engine: ALS workers must not be negative, got %d", o.Workers)
	case o.CGSteps < 1 || o.CGSteps > 100:
		return fmt.Errorf("engine: ALS conjugate-gradient steps must be 1 to 100, got %d", o.CGSteps)
	}
	return nil
}

// Factors is a trained item model: one k-vector per item, and what folding a
// customer in needs.
type Factors struct {
	k, n  int
	items []float64 // n×k, row-major: item i is items[i*k:(i+1)*k]
	// items32 is a float32 copy of items for ranking every item at serving
	// time: scoring a large catalogue is bound by memory bandwidth, and half
	// the bytes is nearly half the time. Nil until UseFloat32Scoring.
	items32 []float32
	// gram is YᵀY + Lambda·I, upper triangle, k×k row-major.
	gram   []float64
	alpha  float64
	lambda float64
}

// NumItems returns the number of items.
func (f *Factors) NumItems() int { return f.n }

// Dim returns k.
func (f *Factors) Dim() int { return f.k }

// Item returns item i's factor vector (not to be modified).
func (f *Factors) Item(i int) []float64 { return f.items[i*f.k : (i+1)*f.k] }

// FitALS trains item factors on data. The result is deterministic for a
// given data, options and seed, whatever the number of workers.
func FitALS(ctx context.Context, data *Interactions, o ALSOptions) (*Factors, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := data.Validate(); err != nil {
		return nil, err
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	k := o.Factors
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	users := make([]float64, data.NumUsers*k)
	items := make([]float64, data.NumItems*k)
	scale := 1 / math.Sqrt(float64(k))
	for j := range items {
		items[j] = rng.Float64() * scale
	}
	byItem := data.transpose()
	gram := make([]float64, k*k)
	for it := 0; it < o.Iterations; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		gramOf(items, data.NumItems, k, o.Lambda, gram)
		sweep(users, items, data, gram, k, o)
		gramOf(users, data.NumUsers, k, o.Lambda, gram)
		sweep(items, users, byItem, gram, k, o)
	}
	f := &Factors{k: k, n: data.NumItems, items: items, gram: make([]float64, k*k), alpha: o.Alpha, lambda: o.Lambda}
	gramOf(items, data.NumItems, k, o.Lambda, f.gram)
	return f, nil
}

// gramOf sets g (k×k, upper triangle) to MᵀM + lambda·I for the n×k matrix m.
func gramOf(m []float64, n, k int, lambda float64, g []float64) {
	clear(g)
	blas64.Syrk(blas.Trans, 1,
		blas64.General{Rows: n, Cols: k, Stride: k, Data: m}, 0,
		blas64.Symmetric{Uplo: blas.Upper, N: k, Stride: k, Data: g})
	for d := 0; d < k; d++ {
		g[d*k+d] += lambda
	}
}

// sweep updates every row of x given the other side's factors y, with a few
// conjugate-gradient steps per row. Rows are split among workers in fixed
// ranges; each row's arithmetic does not depend on the split.
func sweep(x, y []float64, m *Interactions, gram []float64, k int, o ALSOptions) {
	rows := m.NumUsers
	var wg sync.WaitGroup
	per := (rows + o.Workers - 1) / o.Workers
	for start := 0; start < rows; start += per {
		end := min(start+per, rows)
		wg.Go(func() {
			cg := newCGWork(k)
			for u := start; u < end; u++ {
				cg.solveRow(x[u*k:(u+1)*k], y, m, u, gram, k, o)
			}
		})
	}
	wg.Wait()
}

type cgWork struct{ r, p, ap []float64 }

func newCGWork(k int) *cgWork {
	return &cgWork{r: make([]float64, k), p: make([]float64, k), ap: make([]float64, k)}
}

// applyA sets out = A·v for row u: A = gram + Σ_i alpha·r_ui · y_i y_iᵀ.
func applyA(out, v, y []float64, m *Interactions, u int, gram []float64, k int, alpha float64) {
	blas64.Symv(1, blas64.Symmetric{Uplo: blas.Upper, N: k, Stride: k, Data: gram},
		blas64.Vector{N: k, Inc: 1, Data: v}, 0, blas64.Vector{N: k, Inc: 1, Data: out})
	for e := m.Indptr[u]; e < m.Indptr[u+1]; e++ {
		yi := y[int(m.Items[e])*k : (int(m.Items[e])+1)*k]
		floats.AddScaled(out, alpha*m.Values[e]*floats.Dot(yi, v), yi)
	}
}

func (w *cgWork) solveRow(x, y []float64, m *Interactions, u int, gram []float64, k int, o ALSOptions) {
	if m.Indptr[u] == m.Indptr[u+1] {
		clear(x) // no observation: the minimiser is 0
		return
	}
	// r = b − A·x, with b = Σ_i c_ui y_i.
	applyA(w.ap, x, y, m, u, gram, k, o.Alpha)
	for d := range w.r {
		w.r[d] = -w.ap[d]
	}
	for e := m.Indptr[u]; e < m.Indptr[u+1]; e++ {
		i := int(m.Items[e])
		floats.AddScaled(w.r, 1+o.Alpha*m.Values[e], y[i*k:(i+1)*k])
	}
	copy(w.p, w.r)
	rs := floats.Dot(w.r, w.r)
	for step := 0; step < o.CGSteps && rs > 1e-20; step++ {
		applyA(w.ap, w.p, y, m, u, gram, k, o.Alpha)
		a := rs / floats.Dot(w.p, w.ap)
		floats.AddScaled(x, a, w.p)
		floats.AddScaled(w.r, -a, w.ap)
		next := floats.Dot(w.r, w.r)
		for d := range w.p {
			w.p[d] = w.r[d] + next/rs*w.p[d]
		}
		rs = next
	}
}

// FoldIn computes a customer's vector at request time, exactly, and scores
// items with it. A FoldIn is reusable and not safe for concurrent use; after
// the first use of a given size it does not allocate.
type FoldIn struct {
	f     *Factors
	a     []float64 // k×k: A, then its Cholesky factor U (A = UᵀU)
	x     []float64 // the customer's vector
	x32   []float32 // x, for ScoresFloat32
	z     []float64 // A⁻¹ y_j, for contributions
	items []int32
	conf  []float64 // c_i per folded item
}

// NewFoldIn returns a workspace for f.
func (f *Factors) NewFoldIn() *FoldIn {
	return &FoldIn{f: f, a: make([]float64, f.k*f.k), x: make([]float64, f.k), x32: make([]float32, f.k), z: make([]float64, f.k)}
}

// ErrNotPositiveDefinite is returned when a fold-in's system cannot be
// solved (it cannot happen with Lambda > 0 unless the factors hold NaNs).
var ErrNotPositiveDefinite = errors.New("engine: fold-in matrix is not positive definite")

// Solve folds a customer in from their items and signal weights (r > 0;
// items distinct): x = A⁻¹ b as in the package comment.
func (w *FoldIn) Solve(items []int32, values []float64) error {
	f, k := w.f, w.f.k
	copy(w.a, f.gram)
	clear(w.x)
	w.items = append(w.items[:0], items...)
	w.conf = w.conf[:0]
	sym := blas64.Symmetric{Uplo: blas.Upper, N: k, Stride: k, Data: w.a}
	for n, i := range items {
		c := 1 + f.alpha*values[n]
		w.conf = append(w.conf, c)
		yi := f.Item(int(i))
		blas64.Syr(c-1, blas64.Vector{N: k, Inc: 1, Data: yi}, sym)
		floats.AddScaled(w.x, c, yi)
	}
	if len(items) == 0 {
		return nil // x = A⁻¹·0 = 0
	}
	if _, ok := lapack64.Potrf(sym); !ok {
		return ErrNotPositiveDefinite
	}
	w.solve(w.x)
	return nil
}

// solve overwrites v with A⁻¹v using the factor from Solve (A = UᵀU: solve
// Uᵀt = v, then Uz = t). Two level-2 triangular solves are much cheaper
// than LAPACK's Potrs for a single right-hand side.
func (w *FoldIn) solve(v []float64) {
	k := w.f.k
	u := blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: k, Stride: k, Data: w.a}
	x := blas64.Vector{N: k, Inc: 1, Data: v}
	blas64.Trsv(blas.Trans, u, x)
	blas64.Trsv(blas.NoTrans, u, x)
}

// UseFloat32Scoring makes ScoresFloat32 available (it keeps a float32 copy
// of the factors).
func (f *Factors) UseFloat32Scoring() {
	f.items32 = make([]float32, len(f.items))
	for i, v := range f.items {
		f.items32[i] = float32(v)
	}
}

// ScoresFloat32 sets out[i] to the customer's score for every item i, in
// float32 (for ranking; see Factors.items32). Call UseFloat32Scoring first.
func (w *FoldIn) ScoresFloat32(out []float32) {
	f := w.f
	for d, v := range w.x {
		w.x32[d] = float32(v)
	}
	blas32.Gemv(blas.NoTrans, 1, blas32.General{Rows: f.n, Cols: f.k, Stride: f.k, Data: f.items32},
		blas32.Vector{N: f.k, Inc: 1, Data: w.x32}, 0, blas32.Vector{N: f.n, Inc: 1, Data: out})
}

// Scores sets out[i] to the customer's score for every item i: Y·x.
func (w *FoldIn) Scores(out []float64) {
	f := w.f
	blas64.Gemv(blas.NoTrans, 1, blas64.General{Rows: f.n, Cols: f.k, Stride: f.k, Data: f.items},
		blas64.Vector{N: f.k, Inc: 1, Data: w.x}, 0, blas64.Vector{N: f.n, Inc: 1, Data: out})
}

// ScoreItems sets out[i] for the given items only (in float32 when
// UseFloat32Scoring was called, for ranking; see Factors.items32).
func (w *FoldIn) ScoreItems(items []int32, out []float64) {
	f := w.f
	if f.items32 == nil {
		for _, i := range items {
			out[i] = floats.Dot(f.Item(int(i)), w.x)
		}
		return
	}
	for d, v := range w.x {
		w.x32[d] = float32(v)
	}
	x := blas32.Vector{N: f.k, Inc: 1, Data: w.x32}
	for _, i := range items {
		row := blas32.Vector{N: f.k, Inc: 1, Data: f.items32[int(i)*f.k : (int(i)+1)*f.k]}
		out[i] = float64(blas32.Dot(row, x))
	}
}

// Contributions sets out[n] to the share of item j's score due to the n-th
// folded item, c_n · y_nᵀ A⁻¹ y_j, and returns their sum (the score, exactly
// as the sum of the parts).
func (w *FoldIn) Contributions(j int, out []float64) float64 {
	f := w.f
	copy(w.z, f.Item(j))
	if len(w.items) == 0 {
		return 0
	}
	w.solve(w.z)
	sum := 0.0
	for n, i := range w.items {
		out[n] = float64(w.conf[n] * floats.Dot(f.Item(int(i)), w.z))
		sum += out[n]
	}
	return sum
}
