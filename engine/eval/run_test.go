package eval

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/candorhq/candor/engine"
)

// smallALS is ALS with a two-candidate grid small enough for tests.
func smallALS() *ALS {
	var grid []engine.ALSOptions
	for _, lambda := range []float64{0.5, 5} {
		o := engine.DefaultALSOptions()
		o.Factors, o.Iterations, o.Lambda, o.Alpha = 6, 6, lambda, 2
		grid = append(grid, o)
	}
	return &ALS{Grid: grid, Workers: 2}
}

func testModels() []Model { return []Model{Pop{}, Cooc{}, smallALS()} }

// sameResults compares everything but timing.
func sameResults(tb testing.TB, a, b []*Result) {
	tb.Helper()
	if len(a) != len(b) {
		tb.Fatalf("%d results vs %d", len(a), len(b))
	}
	for k := range a {
		x, y := a[k], b[k]
		if x.Model != y.Model || x.Metrics != y.Metrics || x.Users != y.Users || x.ConsentRate != y.ConsentRate {
			tb.Errorf("%s: %+v vs %+v", x.Model, *x, *y)
		}
		if len(x.Hyperparameters) != len(y.Hyperparameters) {
			tb.Errorf("%s: hyperparameters %d vs %d folds", x.Model, len(x.Hyperparameters), len(y.Hyperparameters))
		}
		for f := range x.Hyperparameters {
			if x.Hyperparameters[f].String() != y.Hyperparameters[f].String() {
				tb.Errorf("%s fold %d: hyperparameters %s vs %s", x.Model, f, x.Hyperparameters[f], y.Hyperparameters[f])
			}
		}
		sameLists(tb, x, y)
	}
}

func sameLists(tb testing.TB, x, y *Result) {
	tb.Helper()
	if len(x.folds) != len(y.folds) {
		tb.Fatalf("%s: %d vs %d kept folds", x.Model, len(x.folds), len(y.folds))
	}
	for f := range x.folds {
		if !slices.EqualFunc(x.folds[f].lists, y.folds[f].lists, slices.Equal) {
			tb.Errorf("%s fold %d: the ranked lists differ", x.Model, f)
		}
	}
}

func TestEvaluateModels(t *testing.T) {
	t.Parallel()
	ds := synthetic(t, 80, 60, 4, 1)
	rep, err := Evaluate(t.Context(), ds, Options{Models: testModels(), Folds: 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 3 || rep.Folds != 3 || rep.Data.Ratings != len(ds.Ratings) {
		t.Fatalf("report: %+v", rep)
	}
	byName := map[string]*Result{}
	for _, r := range rep.Results {
		byName[r.Model] = r
		for _, v := range []float64{r.Precision, r.Recall, r.MAP, r.NDCG, r.MRR, r.Coverage} {
			if !(v >= 0 && v <= 1) {
				t.Errorf("%s: a metric out of [0, 1]: %+v", r.Model, r.Metrics)
			}
		}
		if r.Users < 70 || r.Users > 80 {
			t.Errorf("%s: %.1f users per fold", r.Model, r.Users)
		}
	}
	// The data is clustered: personal models must beat popularity.
	for _, name := range []string{"cooc", "als"} {
		if byName[name].NDCG <= byName["pop"].NDCG {
			t.Errorf("%s NDCG@10 %.3f does not beat pop %.3f", name, byName[name].NDCG, byName["pop"].NDCG)
		}
	}
	hp := byName["als"].Hyperparameters
	if len(hp) != 3 || hp[0].Candidates != 2 || hp[0].Values["factors"] != 6 {
		t.Errorf("als hyperparameters: %+v", hp)
	}
	if byName["pop"].Hyperparameters != nil || byName["cooc"].Hyperparameters != nil {
		t.Error("models without tuning report hyperparameters")
	}
}

func TestEvaluateDeterministic(t *testing.T) {
	t.Parallel()
	ds := synthetic(t, 50, 40, 3, 2)
	o := Options{Models: testModels(), Folds: 3, Seed: 4, KeepLists: true}
	a, err := Evaluate(t.Context(), ds, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Models, o.Workers = testModels(), 1
	b, err := Evaluate(t.Context(), ds, o)
	if err != nil {
		t.Fatal(err)
	}
	sameResults(t, a.Results, b.Results)
}

func TestConsentRateOneEqualsPlainRun(t *testing.T) {
	t.Parallel()
	ds := synthetic(t, 50, 40, 3, 3)
	plain, err := Evaluate(t.Context(), ds, Options{Models: testModels(), Folds: 3, Seed: 2, KeepLists: true})
	if err != nil {
		t.Fatal(err)
	}
	one, err := Evaluate(t.Context(), ds, Options{Models: testModels(), Folds: 3, Seed: 2, KeepLists: true, ConsentRates: []float64{1}})
	if err != nil {
		t.Fatal(err)
	}
	sameResults(t, plain.Results, one.Results)
}

// TestConsentNonInterference: what users without consent rated has no
// influence on any list. Their ratings are replaced by others (same count,
// same positions, so the folds and the consent draw are unchanged) and
// every ranked list stays the same; they all get the one fallback list.
func TestConsentNonInterference(t *testing.T) {
	t.Parallel()
	ds := synthetic(t, 60, 40, 3, 5)
	const rate, seed = 0.5, 6
	consents := drawConsent(ds.NumUsers(), rate, seed)
	other := *ds
	other.Ratings = slices.Clone(ds.Ratings)
	changed := 0
	for k, r := range other.Ratings {
		if !consents[r.User] {
			other.Ratings[k].Item = (r.Item + 17) % int32(ds.NumItems())
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("no rating of a non-consenting user to change")
	}
	o := Options{Models: testModels(), Folds: 3, Seed: seed, KeepLists: true, ConsentRates: []float64{rate}}
	a, err := Evaluate(t.Context(), ds, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Models = testModels()
	b, err := Evaluate(t.Context(), &other, o)
	if err != nil {
		t.Fatal(err)
	}
	for k := range a.Results {
		sameLists(t, a.Results[k], b.Results[k])
		for f, fo := range a.Results[k].folds {
			var fallback []int32
			for u, list := range fo.lists {
				if consents[u] || list == nil {
					continue
				}
				if fallback == nil {
					fallback = list
				} else if !slices.Equal(list, fallback) {
					t.Errorf("%s fold %d: user %d without consent got a personal list", a.Results[k].Model, f, u)
				}
			}
		}
	}
}

// leaky returns the customer's own history first, against the protocol.
type leaky struct{}

func (leaky) Name() string { return "leaky" }
func (leaky) Fit(context.Context, *Matrix, uint64) (Fitted, error) {
	return leaky{}, nil
}
func (leaky) NewRanker() Ranker { return leaky{} }
func (leaky) Params() *Params   { return nil }
func (leaky) Rank(history []int32, k int, dst []int32) ([]int32, error) {
	return append(dst[:0], history[:min(k, len(history))]...), nil
}

func TestEvaluateRejectsProtocolViolations(t *testing.T) {
	t.Parallel()
	ds := synthetic(t, 20, 30, 2, 1)
	_, err := Evaluate(t.Context(), ds, Options{Models: []Model{leaky{}}, Folds: 2})
	if err == nil || !strings.Contains(err.Error(), "training history") {
		t.Errorf("error %v, want a protocol violation", err)
	}
}

func TestEvaluateOptionsAndCancellation(t *testing.T) {
	t.Parallel()
	ds := synthetic(t, 20, 30, 2, 1)
	for _, o := range []Options{
		{},
		{Models: []Model{Pop{}}, Folds: 1},
		{Models: []Model{Pop{}}, ConsentRates: []float64{1.5}},
	} {
		if _, err := Evaluate(t.Context(), ds, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Evaluate(ctx, ds, Options{Models: []Model{Pop{}}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestNewModel(t *testing.T) {
	t.Parallel()
	for _, name := range ModelNames() {
		m, err := New(name)
		if err != nil || m.Name() != name {
			t.Errorf("%s: %v, %v", name, m, err)
		}
	}
	if _, err := New("bpr"); err == nil {
		t.Error("unknown model accepted")
	}
	for _, o := range DefaultALSGrid() {
		if err := o.Validate(); err != nil {
			t.Errorf("grid: %v", err)
		}
	}
}
