package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/candorhq/candor/engine"
)

// ALS is the engine's implicit ALS (engine.FitALS), ranked by folding each
// customer in from their training items (engine.FoldIn.Solve, exact) and
// scoring every item (Scores), training items excluded. Every rating is one
// unit of signal weight (r = 1, confidence 1 + Alpha). A customer with no
// training item gets the popularity ranking, as the engine's cold-start
// fallback does.
//
// With more than one candidate in Grid, Fit chooses the hyperparameters on
// validation data carved out of the training fold it is given (see
// ValidationShare), never on the test fold: it trains every candidate on
// the rest of the fold, keeps the one with the best validation NDCG@10
// (ties to the earlier candidate), and retrains it on the whole fold.
type ALS struct {
	Grid []engine.ALSOptions
	// ValidationShare of the training fold's ratings is held out to choose
	// among the Grid (default 0.1).
	ValidationShare float64
	// Workers for training and validation ranking (default GOMAXPROCS).
	Workers int
}

var _ Model = (*ALS)(nil)

// DefaultALSGrid is the documented search space: Factors ∈ {32, 64} ×
// Lambda ∈ {10, 20, 30} × Alpha ∈ {0.5, 1, 2}, each with 15 sweeps of 3
// conjugate-gradient steps. The ranges come from a coarser exploration on
// the validation split (10%) of the first MovieLens 100K training fold of
// seed 1 (Lambda 5 to 200, Alpha 0.25 to 4, Factors 32 to 128): quality
// peaked for Lambda 15 to 30 and Alpha 0.5 to 2, fell away above Lambda 30,
// and 128 factors did no better than 64. Eighteen candidates keep the whole
// 5-fold evaluation of every model, tuning included, near 70 seconds on two
// cores (the budget is three minutes).
func DefaultALSGrid() []engine.ALSOptions {
	var grid []engine.ALSOptions
	for _, factors := range []int{32, 64} {
		for _, lambda := range []float64{10, 20, 30} {
			for _, alpha := range []float64{0.5, 1, 2} {
				o := engine.DefaultALSOptions()
				o.Factors, o.Iterations, o.CGSteps = factors, 15, 3
				o.Lambda, o.Alpha = lambda, alpha
				grid = append(grid, o)
			}
		}
	}
	return grid
}

// Name implements Model.
func (*ALS) Name() string { return "als" }

// Fit implements Model.
func (a *ALS) Fit(ctx context.Context, train *Matrix, seed uint64) (Fitted, error) {
	if len(a.Grid) == 0 {
		return nil, fmt.Errorf("eval: als: empty hyperparameter grid")
	}
	workers := a.Workers
	if workers <= 0 {
		workers = defaultWorkers()
	}
	best, bestScore := 0, math.NaN()
	if len(a.Grid) > 1 {
		share := a.ValidationShare
		if share == 0 {
			share = 0.1
		}
		inner, valid := train.holdOut(share, seed)
		scores, err := a.validate(ctx, inner, valid, seed, workers)
		if err != nil {
			return nil, err
		}
		for c, s := range scores {
			if c == 0 || s > bestScore {
				best, bestScore = c, s
			}
		}
	}
	f, err := a.fit(ctx, train, a.Grid[best], seed, workers)
	if err != nil {
		return nil, err
	}
	o := a.Grid[best]
	f.params = &Params{
		Values:     map[string]float64{"factors": float64(o.Factors), "iterations": float64(o.Iterations), "lambda": o.Lambda, "alpha": o.Alpha, "cg_steps": float64(o.CGSteps)},
		Validation: bestScore,
		Candidates: len(a.Grid),
	}
	if len(a.Grid) == 1 {
		f.params.Validation = 0
	}
	return f, nil
}

// validate trains every candidate on inner and returns its NDCG@10 on valid.
// Candidates run concurrently, one goroutine each, since a single small fit
// does not keep several cores busy; scores do not depend on the schedule.
func (a *ALS) validate(ctx context.Context, inner, valid *Matrix, seed uint64, workers int) ([]float64, error) {
	all := make([]bool, inner.NumUsers)
	for u := range all {
		all[u] = true
	}
	scores := make([]float64, len(a.Grid))
	errs := make([]error, len(a.Grid))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(a.Grid)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				f, err := a.fit(ctx, inner, a.Grid[c], seed, 1)
				if err == nil {
					var m Metrics
					_, m, _, err = evaluateFold(ctx, f, inner, valid, all, nil, 1)
					scores[c] = m.NDCG
				}
				errs[c] = err
			}
		}()
	}
	for c := range a.Grid {
		next <- c
	}
	close(next)
	wg.Wait()
	return scores, errors.Join(errs...)
}

func (a *ALS) fit(ctx context.Context, train *Matrix, o engine.ALSOptions, seed uint64, workers int) (*alsFitted, error) {
	ones := make([]float64, train.Len())
	for k := range ones {
		ones[k] = 1
	}
	o.Seed, o.Workers = seed, workers
	factors, err := engine.FitALS(ctx, &engine.Interactions{
		NumUsers: train.NumUsers, NumItems: train.NumItems,
		Indptr: train.Indptr, Items: train.Items, Values: ones,
	}, o)
	if err != nil {
		return nil, fmt.Errorf("eval: als: %w", err)
	}
	return &alsFitted{factors: factors, pop: newPopularity(train)}, nil
}

type alsFitted struct {
	factors *engine.Factors
	pop     *popularity
	params  *Params
}

func (f *alsFitted) Params() *Params { return f.params }

func (f *alsFitted) NewRanker() Ranker {
	n := f.factors.NumItems()
	return &alsRanker{f: f, fold: f.factors.NewFoldIn(), scores: make([]float64, n), exclude: make([]bool, n), pop: f.pop.NewRanker()}
}

type alsRanker struct {
	f       *alsFitted
	fold    *engine.FoldIn
	scores  []float64
	exclude []bool
	ones    []float64
	pop     Ranker
}

func (r *alsRanker) Rank(history []int32, k int, dst []int32) ([]int32, error) {
	if len(history) == 0 {
		return r.pop.Rank(history, k, dst)
	}
	for len(r.ones) < len(history) {
		r.ones = append(r.ones, 1)
	}
	if err := r.fold.Solve(history, r.ones[:len(history)]); err != nil {
		return nil, err
	}
	r.fold.Scores(r.scores)
	for _, i := range history {
		r.exclude[i] = true
	}
	dst = topK(r.scores, r.exclude, k, dst)
	for _, i := range history {
		r.exclude[i] = false
	}
	return dst, nil
}
