package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
)

// neighbours returns what the model ranks from one fresh view of item (weight
// exactly 1, so each score is exactly the similarity): co-occurrence items
// with their scores.
func neighbours(tb testing.TB, m *engine.Model, cat *features.CatalogSnapshot, item string) map[string]float64 {
	tb.Helper()
	usable := []features.Signal{sig("sig_probe", consent.View, item, t0)}
	w := engine.DefaultWeights()
	res := m.Recommend(usable, cat, engine.Request{Purpose: consent.Personalization, Limit: 1000, Now: t0}, &w)
	checkWellFormed(tb, res, usable)
	out := map[string]float64{}
	for _, it := range res.Items {
		if it.Source == engine.SourceCooccurrence {
			out[it.ItemID] = it.Score
		}
	}
	return out
}

func TestTrainLearnsCooccurrence(t *testing.T) {
	t.Parallel()
	m := train(t, population(twoGroups...), engine.DefaultTrainOptions())
	cat := testCatalog(t, nil)

	tests := []struct {
		item string
		want map[string]float64 // neighbour -> c/sqrt(ni*nj), by hand
	}{
		{"a1", map[string]float64{
			"a2": 6 / math.Sqrt(9*6),
			"a3": 5 / math.Sqrt(9*5),
			"a4": 4 / math.Sqrt(9*4),
			// b1 co-occurs with a1 for 2 customers only: below support.
		}},
		{"a2", map[string]float64{"a1": 6 / math.Sqrt(6*9), "a3": 4 / math.Sqrt(6*5), "a4": 4 / math.Sqrt(6*4)}},
		{"a4", map[string]float64{"a1": 4 / math.Sqrt(4*9), "a2": 4 / math.Sqrt(4*6), "a3": 4 / math.Sqrt(4*5)}},
		{"b1", map[string]float64{"b2": 5 / math.Sqrt(7*5), "b3": 5 / math.Sqrt(7*5), "b4": 5 / math.Sqrt(7*5)}},
		{"b3", map[string]float64{"b1": 5 / math.Sqrt(5*7), "b2": 1, "b4": 1}},
		{"x1", map[string]float64{}},
		{"n1", map[string]float64{}}, // unknown to the model
	}
	for _, tt := range tests {
		t.Run(tt.item, func(t *testing.T) {
			t.Parallel()
			got := neighbours(t, m, cat, tt.item)
			if len(got) != len(tt.want) {
				t.Errorf("neighbours of %s = %v, want exactly %v", tt.item, got, tt.want)
			}
			for id, want := range tt.want {
				if g, ok := got[id]; !ok || !closeTo(g, want) {
					t.Errorf("sim(%s, %s) = %v (present %v), want %v", tt.item, id, g, ok, want)
				}
			}
			for id := range got {
				if id[0] != tt.item[0] {
					t.Errorf("%s has a neighbour %s from the other group", tt.item, id)
				}
			}
		})
	}
	if m.Customers != 16 || m.Signals != 48 {
		t.Errorf("model counts %d customers, %d signals; want 16, 48", m.Customers, m.Signals)
	}
	if m.NumItems() != 9 {
		t.Errorf("model knows %d items, want 9", m.NumItems())
	}
	if !m.BuiltAt.Equal(t0) || m.BuiltAt.Location() != time.UTC {
		t.Errorf("BuiltAt = %v, want %v in UTC", m.BuiltAt, t0)
	}
}

func TestTrainAsksOnlyForModelTrainingSignals(t *testing.T) {
	t.Parallel()
	src := &sliceSource{customers: population(twoGroups...)}
	if _, err := engine.Train(context.Background(), src, t0, engine.DefaultTrainOptions()); err != nil {
		t.Fatal(err)
	}
	calls, purposes := src.asked()
	if calls != 1 || !slices.Equal(purposes, []consent.Purpose{consent.ModelTraining}) {
		t.Errorf("Train scanned %d times for %v, want once for model_training", calls, purposes)
	}
}

func TestTrainMinSupport(t *testing.T) {
	t.Parallel()
	cat := catalogOf(t,
		features.Item{ID: "p", Title: "P"}, features.Item{ID: "q", Title: "Q"},
		features.Item{ID: "rare", Title: "Rare"}, features.Item{ID: "just", Title: "Just enough"})
	for _, support := range []int{2, 3, 4} {
		for _, pairs := range []int{support - 1, support} {
			t.Run(fmt.Sprintf("support %d pair %d", support, pairs), func(t *testing.T) {
				t.Parallel()
				// p and q each have ample support alone; they co-occur for
				// `pairs` customers. "rare" has support-1 customers, "just"
				// exactly support.
				customers := population(
					group{pairs, []string{"p", "q"}},
					group{support, []string{"p"}},
					group{support, []string{"q"}},
					group{support - 1, []string{"rare"}},
					group{support, []string{"just"}},
				)
				o := engine.DefaultTrainOptions()
				o.MinSupport = support
				m := train(t, customers, o)

				_, linked := neighbours(t, m, cat, "p")["q"]
				if want := pairs >= support; linked != want {
					t.Errorf("support %d, p and q together for %d customers: q is a neighbour of p = %v, want %v", support, pairs, linked, want)
				}
				w := engine.DefaultWeights()
				res := m.Recommend(nil, cat, engine.Request{Purpose: consent.Personalization, Limit: 10, Now: t0}, &w)
				checkWellFormed(t, res, nil)
				got := placed(res)
				if got["rare"] != engine.SourceCatalog {
					t.Errorf("support %d: item with %d customers placed by %v, want catalog fill only", support, support-1, got["rare"])
				}
				if got["just"] != engine.SourcePopularity {
					t.Errorf("support %d: item with %d customers placed by %v, want popularity", support, support, got["just"])
				}
			})
		}
	}
}

func TestTrainOptionsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mod     func(*engine.TrainOptions)
		wantErr string
	}{
		{"defaults", func(*engine.TrainOptions) {}, ""},
		{"support 2", func(o *engine.TrainOptions) { o.MinSupport = 2 }, ""},
		{"support 1", func(o *engine.TrainOptions) { o.MinSupport = 1 }, "min support"},
		{"support 0", func(o *engine.TrainOptions) { o.MinSupport = 0 }, "min support"},
		{"support negative", func(o *engine.TrainOptions) { o.MinSupport = -3 }, "min support"},
		{"no neighbours", func(o *engine.TrainOptions) { o.MaxNeighbors = 0 }, "neighbours"},
		{"one item per customer", func(o *engine.TrainOptions) { o.MaxItemsPerCustomer = 1 }, "items per customer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := engine.DefaultTrainOptions()
			tt.mod(&o)
			err := o.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error about %q", err, tt.wantErr)
			}
			// Train refuses the same options without reading anything.
			src := &sliceSource{customers: population(twoGroups...)}
			if m, err := engine.Train(context.Background(), src, t0, o); err == nil || m != nil {
				t.Errorf("Train = %v, %v; want an error", m, err)
			}
			if calls, _ := src.asked(); calls != 0 {
				t.Errorf("Train read the source %d times with invalid options", calls)
			}
		})
	}
}

func TestTrainIsDeterministic(t *testing.T) {
	t.Parallel()
	base := population(twoGroups...)
	want := train(t, base, engine.DefaultTrainOptions()).Version
	if !strings.HasPrefix(want, "cooc-") {
		t.Fatalf("Version = %q, want a cooc- fingerprint", want)
	}

	reversed := slices.Clone(base)
	slices.Reverse(reversed)
	shuffled := make([][]features.Signal, len(base))
	rng := rand.New(rand.NewPCG(1, 2))
	for i, j := range rng.Perm(len(base)) {
		shuffled[i] = slices.Clone(base[j])
		rng.Shuffle(len(shuffled[i]), func(a, b int) { shuffled[i][a], shuffled[i][b] = shuffled[i][b], shuffled[i][a] })
	}
	// Items first seen in a different order get different internal
	// numbers unless training renumbers them by id.
	bFirst := append(population(group{5, []string{"b4", "b3", "b2", "b1"}}), population(twoGroups[:3]...)...)
	bFirst = append(bFirst, population(twoGroups[4:]...)...)

	tests := []struct {
		name      string
		customers [][]features.Signal
		same      bool
	}{
		{"same data again", base, true},
		{"customers reversed", reversed, true},
		{"customers and signals shuffled", shuffled, true},
		{"other group seen first", bFirst, true},
		{"one more customer", append(slices.Clone(base), population(group{1, []string{"a3", "a4"}})...), false},
		{"one customer fewer", base[1:], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := train(t, tt.customers, engine.DefaultTrainOptions()).Version
			if (got == want) != tt.same {
				t.Errorf("Version = %q, base version %q; want same = %v", got, want, tt.same)
			}
		})
	}
}

func TestTrainCountsOnlyPositiveNetWeight(t *testing.T) {
	t.Parallel()
	cat := catalogOf(t, features.Item{ID: "a", Title: "A"}, features.Item{ID: "y", Title: "Y"}, features.Item{ID: "z", Title: "Z"})
	at := t0.Add(-time.Hour)
	tests := []struct {
		name   string
		extra  func(c int) []features.Signal // the customer's signals on z
		counts bool
	}{
		{"1 star", func(int) []features.Signal { return []features.Signal{rating("r", "z", 1, at)} }, false},
		{"2 stars", func(int) []features.Signal { return []features.Signal{rating("r", "z", 2, at)} }, false},
		{"3 stars is neutral", func(int) []features.Signal { return []features.Signal{rating("r", "z", 3, at)} }, false},
		{"view then 2 stars nets zero", func(int) []features.Signal {
			return []features.Signal{sig("v", consent.View, "z", at), rating("r", "z", 2, at)}
		}, false},
		{"view then 1 star", func(int) []features.Signal {
			return []features.Signal{sig("v", consent.View, "z", at), rating("r", "z", 1, at)}
		}, false},
		{"4 stars", func(int) []features.Signal { return []features.Signal{rating("r", "z", 4, at)} }, true},
		{"view", func(int) []features.Signal { return []features.Signal{sig("v", consent.View, "z", at)} }, true},
		{"purchase then 1 star", func(int) []features.Signal {
			return []features.Signal{sig("p", consent.Purchase, "z", at), rating("r", "z", 1, at)}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			customers := population(group{3, []string{"a", "y"}})
			for c := range 3 {
				customers = append(customers, append([]features.Signal{sig("va", consent.View, "a", at)}, tt.extra(c)...))
			}
			m := train(t, customers, engine.DefaultTrainOptions())
			_, linked := neighbours(t, m, cat, "a")["z"]
			if linked != tt.counts {
				t.Errorf("z is a neighbour of a = %v, want %v", linked, tt.counts)
			}
			w := engine.DefaultWeights()
			res := m.Recommend(nil, cat, engine.Request{Purpose: consent.Personalization, Limit: 10, Now: t0}, &w)
			if popular := placed(res)["z"] == engine.SourcePopularity; popular != tt.counts {
				t.Errorf("z is popular = %v, want %v", popular, tt.counts)
			}
		})
	}

	// Customers whose every item nets <= 0 are not counted at all: the
	// model is the one trained without them.
	base := population(group{3, []string{"a", "y"}}, group{3, []string{"a", "z"}})
	without := train(t, base, engine.DefaultTrainOptions())
	haters := slices.Clone(base)
	for range 4 {
		haters = append(haters, []features.Signal{rating("r1", "a", 1, at), rating("r2", "y", 2, at), rating("r3", "z", 3, at)})
	}
	with := train(t, haters, engine.DefaultTrainOptions())
	if with.Version != without.Version || with.Customers != without.Customers || with.Signals != without.Signals {
		t.Errorf("negative-only customers changed the model: %s/%d customers/%d signals, want %s/%d/%d",
			with.Version, with.Customers, with.Signals, without.Version, without.Customers, without.Signals)
	}
}

func TestTrainMaxItemsPerCustomerKeepsMostRecent(t *testing.T) {
	t.Parallel()
	cat := catalogOf(t, features.Item{ID: "old", Title: "Old"}, features.Item{ID: "mid", Title: "Mid"}, features.Item{ID: "new", Title: "New"})
	var customers [][]features.Signal
	for range 3 {
		customers = append(customers, []features.Signal{
			sig("s1", consent.View, "old", t0.Add(-3*time.Hour)),
			sig("s2", consent.View, "new", t0.Add(-1*time.Hour)),
			sig("s3", consent.View, "mid", t0.Add(-2*time.Hour)),
		})
	}
	o := engine.DefaultTrainOptions()
	o.MaxItemsPerCustomer = 2
	m := train(t, customers, o)
	got := neighbours(t, m, cat, "new")
	if _, ok := got["mid"]; !ok || len(got) != 1 {
		t.Errorf("neighbours of new = %v, want only mid (old is beyond the 2 most recent items)", got)
	}
}

func TestTrainMaxNeighbors(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t, nil)
	o := engine.DefaultTrainOptions()
	o.MaxNeighbors = 2
	m := train(t, population(twoGroups...), o)
	// a1's neighbours by similarity: a2 (0.816), a3 (0.745), a4 (0.667).
	got := neighbours(t, m, cat, "a1")
	if _, ok := got["a4"]; ok || len(got) != 2 {
		t.Errorf("neighbours of a1 with MaxNeighbors 2 = %v, want a2 and a3", got)
	}
}

func TestTrainSourceError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	m, err := engine.Train(context.Background(), &sliceSource{customers: population(twoGroups...), err: boom}, t0, engine.DefaultTrainOptions())
	if !errors.Is(err, boom) || m != nil {
		t.Fatalf("Train = %v, %v; want nil and an error wrapping %v", m, err, boom)
	}
}
