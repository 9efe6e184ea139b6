package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"time"
)

// TopK is the length of every ranked list.
const TopK = 10

// Options configure an evaluation.
type Options struct {
	Models []Model
	// Folds is the number of cross-validation folds (default 5).
	Folds int
	// Seed seeds the fold shuffle, the consent draw, validation carving and
	// the models' own randomness.
	Seed uint64
	// ConsentRates are the shares of users who consent to model training
	// and personalisation, one evaluation per rate (default: 1).
	ConsentRates []float64
	// Audit runs the fairness audit after all ranking is done (needs u.user).
	Audit bool
	// KeepLists keeps every ranked list in the report's results (implied
	// by Audit).
	KeepLists bool
	// Workers rank users in parallel (default GOMAXPROCS).
	Workers int
	// Name is the dataset's name in the report (default: its layout).
	Name   string
	Logger *slog.Logger
}

func (o *Options) defaults() error {
	if o.Folds == 0 {
		o.Folds = 5
	}
	if len(o.ConsentRates) == 0 {
		o.ConsentRates = []float64{1}
	}
	if o.Workers <= 0 {
		o.Workers = defaultWorkers()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	switch {
	case len(o.Models) == 0:
		return errors.New("eval: no model to evaluate")
	case o.Folds < 2 || o.Folds > 100:
		return fmt.Errorf("eval: folds must be 2 to 100, got %d", o.Folds)
	}
	for _, r := range o.ConsentRates {
		if !(r >= 0 && r <= 1) {
			return fmt.Errorf("eval: consent rate must be from 0 to 1, got %g", r)
		}
	}
	return nil
}

// Report is the outcome of an evaluation.
type Report struct {
	Dataset  string      `json:"dataset"`
	Protocol string      `json:"protocol"`
	Data     DataSummary `json:"data"`
	Folds    int         `json:"folds"`
	Seed     uint64      `json:"seed"`
	Results  []*Result   `json:"results"`
	// Audit is set by the fairness audit, a separate pass over Results.
	Audit   []*AuditResult `json:"audit,omitempty"`
	Seconds float64        `json:"seconds"`
}

// DataSummary sizes the dataset.
type DataSummary struct {
	Layout     string `json:"layout"`
	Users      int    `json:"users"`
	Items      int    `json:"items"`
	Ratings    int    `json:"ratings"`
	Duplicates int    `json:"duplicates_dropped"`
}

// Result is one model's cross-validated figures at one consent rate.
type Result struct {
	Model string `json:"model"`
	Metrics
	ConsentRate float64 `json:"consent_rate"`
	// Users is the mean number of users evaluated per fold.
	Users float64 `json:"users"`
	// Seconds is the model's wall time over all folds, tuning included.
	Seconds float64 `json:"seconds"`
	// Hyperparameters chosen per fold on validation data, if any.
	Hyperparameters []*Params `json:"hyperparameters,omitempty"`

	folds []*foldOutput // lists and per-user NDCG, when kept
}

// foldOutput is what one fold's evaluation produced, by user index.
type foldOutput struct {
	lists [][]int32 // nil for users without test items
	ndcg  []float64 // NaN for users without test items
}

func defaultWorkers() int { return runtime.GOMAXPROCS(0) }

// Protocol describes the evaluation protocol for reports.
func Protocol(folds int, seed uint64) string {
	return fmt.Sprintf("Gorse 2019 ranking benchmark: %d-fold cross-validation over all ratings "+
		"(one shuffle seeded with %d, cut into equal chunks); every rating is positive feedback; "+
		"each user with test items ranked against all items not in their training set; top %d; "+
		"metrics averaged over users, then folds", folds, seed, TopK)
}

// Run loads the dataset in fsys, evaluates it, and, when asked, audits the
// finished rankings. The demographics file is opened only after every list
// has been ranked, and only when o.Audit is set.
func Run(ctx context.Context, fsys fs.FS, o Options) (*Report, error) {
	ds, err := Load(fsys)
	if err != nil {
		return nil, err
	}
	if o.Audit {
		o.KeepLists = true
	}
	rep, err := Evaluate(ctx, ds, o)
	if err != nil {
		return nil, err
	}
	if o.Audit {
		demo, err := ReadDemographics(fsys, ds)
		if err != nil {
			return nil, err
		}
		rep.Audit = Audit(rep, ds, demo)
	}
	return rep, nil
}

// Evaluate runs the cross-validation of every model at every consent rate.
func Evaluate(ctx context.Context, ds *Dataset, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	start := time.Now()
	name := o.Name
	if name == "" {
		name = ds.Layout
	}
	rep := &Report{
		Dataset:  name,
		Protocol: Protocol(o.Folds, o.Seed),
		Data:     DataSummary{Layout: ds.Layout, Users: ds.NumUsers(), Items: ds.NumItems(), Ratings: len(ds.Ratings), Duplicates: ds.Duplicates},
		Folds:    o.Folds,
		Seed:     o.Seed,
	}
	folds := Folds(ds, o.Folds, o.Seed)
	for _, rate := range o.ConsentRates {
		consents := drawConsent(ds.NumUsers(), rate, o.Seed)
		results := make([]*Result, len(o.Models))
		for m, model := range o.Models {
			results[m] = &Result{Model: model.Name(), ConsentRate: rate}
		}
		for f, fold := range folds {
			train := fold.Train.filter(consents)
			fallback, _ := newPopularity(train).NewRanker().Rank(nil, TopK, nil)
			for m, model := range o.Models {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				t := time.Now()
				fitted, err := model.Fit(ctx, train, o.Seed+uint64(f))
				if err != nil {
					return nil, fmt.Errorf("eval: %s, fold %d: %w", model.Name(), f+1, err)
				}
				out, metrics, users, err := evaluateFold(ctx, fitted, fold.Train, fold.Test, consents, fallback, o.Workers)
				if err != nil {
					return nil, fmt.Errorf("eval: %s, fold %d: %w", model.Name(), f+1, err)
				}
				r := results[m]
				r.Metrics.add(metrics)
				r.Users += float64(users)
				r.Seconds += time.Since(t).Seconds()
				if p := fitted.Params(); p != nil {
					r.Hyperparameters = append(r.Hyperparameters, p)
				}
				if o.KeepLists {
					r.folds = append(r.folds, out)
				}
				o.Logger.InfoContext(ctx, "fold evaluated", "model", model.Name(), "consent_rate", rate, "fold", f+1,
					"ndcg@10", metrics.NDCG, "seconds", time.Since(t).Seconds())
			}
		}
		for _, r := range results {
			r.Metrics.scale(1 / float64(o.Folds))
			r.Users /= float64(o.Folds)
		}
		rep.Results = append(rep.Results, results...)
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// evaluateFold ranks the top TopK for every user with test items and
// averages the metrics over them. Consenting users are ranked by the model
// from their training items, which are excluded; the others get the
// non-personalised fallback list as it is, since their history may not be
// used to personalise it (not even to remove what they already rated).
func evaluateFold(ctx context.Context, fitted Fitted, train, test *Matrix, consents []bool, fallback []int32, workers int) (*foldOutput, Metrics, int, error) {
	out := &foldOutput{lists: make([][]int32, test.NumUsers), ndcg: make([]float64, test.NumUsers)}
	per := make([]Metrics, test.NumUsers)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		firstEr error
	)
	const chunk = 64
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ranker := fitted.NewRanker()
			for start := range next {
				for u := start; u < min(start+chunk, test.NumUsers); u++ {
					relevant := test.Row(u)
					if len(relevant) == 0 {
						out.ndcg[u] = math.NaN()
						continue
					}
					var list []int32
					if consents[u] {
						history := train.Row(u)
						l, err := ranker.Rank(history, TopK, make([]int32, 0, TopK))
						if err == nil {
							err = checkList(l, history, test.NumItems)
						}
						if err != nil {
							mu.Lock()
							if firstEr == nil {
								firstEr = err
							}
							mu.Unlock()
							continue
						}
						list = l
					} else {
						list = fallback
					}
					out.lists[u] = list
					per[u] = userMetrics(relevant, list)
					out.ndcg[u] = per[u].NDCG
				}
			}
		}()
	}
	var err error
feed:
	for start := 0; start < test.NumUsers; start += chunk {
		select {
		case next <- start:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		err = firstEr
	}
	if err != nil {
		return nil, Metrics{}, 0, err
	}
	var sum Metrics
	users := 0
	seen := make([]bool, test.NumItems)
	distinct := 0
	for u := range test.NumUsers {
		if len(test.Row(u)) == 0 {
			continue
		}
		users++
		sum.add(per[u])
		for _, i := range out.lists[u] {
			if !seen[i] {
				seen[i] = true
				distinct++
			}
		}
	}
	if users > 0 {
		sum.scale(1 / float64(users))
	}
	if test.NumItems > 0 {
		sum.Coverage = float64(distinct) / float64(test.NumItems)
	}
	return out, sum, users, nil
}

// checkList enforces the protocol on a model's list: at most TopK distinct
// catalogue items, none from the history.
func checkList(list, history []int32, numItems int) error {
	if len(list) > TopK {
		return fmt.Errorf("ranked %d items, want at most %d", len(list), TopK)
	}
	for k, i := range list {
		if i < 0 || int(i) >= numItems {
			return fmt.Errorf("ranked item index %d outside the catalogue", i)
		}
		if contains(history, i) {
			return errors.New("ranked an item from the customer's training history")
		}
		for _, j := range list[:k] {
			if i == j {
				return errors.New("ranked an item twice")
			}
		}
	}
	return nil
}
