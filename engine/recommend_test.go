package engine_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
)

func personalization(limit int) engine.Request {
	return engine.Request{Purpose: consent.Personalization, Limit: limit, Now: t0}
}

func TestRecommendOrderOfSources(t *testing.T) {
	t.Parallel()
	m := train(t, population(twoGroups...), engine.DefaultTrainOptions())
	cat := testCatalog(t, nil)
	usable := []features.Signal{sig("sig_1", consent.View, "a1", t0)}
	w := engine.DefaultWeights()
	res := m.Recommend(usable, cat, personalization(100), &w)
	checkWellFormed(t, res, usable)

	type want struct {
		id     string
		source engine.Source
		score  float64
	}
	wants := []want{
		// Neighbours of a1, by similarity (the view weighs exactly 1).
		{"a2", engine.SourceCooccurrence, 6 / math.Sqrt(54)},
		{"a3", engine.SourceCooccurrence, 5 / math.Sqrt(45)},
		{"a4", engine.SourceCooccurrence, 4 / math.Sqrt(36)},
		// Then popularity (customers / 9, the largest count), ties by id;
		// a1 was only viewed, so it may be shown; x1 is below support.
		{"a1", engine.SourcePopularity, 1},
		{"b1", engine.SourcePopularity, 7.0 / 9},
		{"b2", engine.SourcePopularity, 5.0 / 9},
		{"b3", engine.SourcePopularity, 5.0 / 9},
		{"b4", engine.SourcePopularity, 5.0 / 9},
		// Then the rest of the catalogue, newest first, ties by id.
		{"n1", engine.SourceCatalog, 0},
		{"n2", engine.SourceCatalog, 0},
		{"n3", engine.SourceCatalog, 0},
		{"x1", engine.SourceCatalog, 0},
	}
	if len(res.Items) != len(wants) {
		t.Fatalf("got items %v, want %d items", ids(res), len(wants))
	}
	for k, w := range wants {
		got := res.Items[k]
		if got.ItemID != w.id || got.Source != w.source || !closeTo(got.Score, w.score) {
			t.Errorf("item %d = %s/%s/%v, want %s/%s/%v", k, got.ItemID, got.Source, got.Score, w.id, w.source, w.score)
		}
	}
	if res.ModelVersion != m.Version || !res.Personalized() {
		t.Errorf("ModelVersion %q personalised %v, want %q and true", res.ModelVersion, res.Personalized(), m.Version)
	}
}

func TestRecommendContributionsAreExact(t *testing.T) {
	t.Parallel()
	m := train(t, population(twoGroups...), engine.DefaultTrainOptions())
	cat := testCatalog(t, nil)
	w := engine.DefaultWeights()
	day := 24 * time.Hour
	// Oldest first, as features.Usable orders them; ages not multiples of the
	// half-life, so weights are inexact binary fractions.
	usable := []features.Signal{
		sig("sig_01", consent.Purchase, "a3", t0.Add(-45*day-7*time.Minute)),
		rating("sig_02", "a4", 5, t0.Add(-20*day-3*time.Hour)),
		sig("sig_03", consent.View, "a1", t0.Add(-10*day-11*time.Second)),
		sig("sig_04", consent.View, "b4", t0.Add(-5*day-time.Hour)),
		rating("sig_05", "b1", 1, t0.Add(-2*day-17*time.Minute)),
		sig("sig_06", consent.View, "b2", t0.Add(-day-5*time.Minute)),
		sig("sig_07", consent.AddToCart, "a2", t0.Add(-3*time.Hour-time.Millisecond)),
		sig("sig_08", consent.View, "n1", t0.Add(-time.Hour)), // unknown to the model
	}
	res := m.Recommend(usable, cat, personalization(100), &w)
	checkWellFormed(t, res, usable)

	// Each contribution is the signal's decayed weight times the
	// similarity, the latter read from a one-view probe.
	sims := map[string]map[string]float64{}
	for _, s := range usable {
		if sims[s.ItemID] == nil {
			sims[s.ItemID] = neighbours(t, m, cat, s.ItemID)
		}
	}
	var cooc, negative int
	for _, it := range res.Items {
		if it.Source != engine.SourceCooccurrence {
			continue
		}
		cooc++
		for _, c := range it.Contributions {
			s := &usable[c.Signal]
			want := w.At(s, t0) * sims[s.ItemID][it.ItemID]
			if c.Value != want || c.Value == 0 {
				t.Errorf("%s: contribution of %s = %v, want weight × similarity = %v", it.ItemID, s.ID, c.Value, want)
			}
			if c.Value < 0 {
				negative++
			}
		}
	}
	if cooc < 5 || negative == 0 {
		t.Errorf("fixture too weak: %d co-occurrence items, %d negative contributions; items %v", cooc, negative, ids(res))
	}
	if p := placed(res); p["a3"] != 0 {
		t.Errorf("a3 was bought but is placed by %s", p["a3"])
	}
}

// TestRecommendProperties checks the invariants of checkWellFormed, and the
// rules, on a random population and random customers.
func TestRecommendProperties(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	const numItems = 60
	item := func() string { return fmt.Sprintf("i%02d", rng.IntN(numItems)) }
	types := []consent.SignalType{consent.View, consent.AddToCart, consent.Purchase, consent.Rating, consent.Search}
	randomSignals := func(n int) []features.Signal {
		sigs := make([]features.Signal, n)
		for k := range sigs {
			at := t0.Add(-time.Duration(rng.Int64N(int64(90 * 24 * time.Hour))))
			typ := types[rng.IntN(len(types))]
			sigs[k] = sig(fmt.Sprintf("sig_%03d", k), typ, item(), at)
			if typ == consent.Rating {
				sigs[k].Value = float64(1 + rng.IntN(5))
			}
		}
		slices.SortFunc(sigs, func(a, b features.Signal) int { return a.OccurredAt.Compare(b.OccurredAt) })
		return sigs
	}
	var customers [][]features.Signal
	for range 400 {
		customers = append(customers, randomSignals(2+rng.IntN(10)))
	}
	m := train(t, customers, engine.DefaultTrainOptions())

	var items []features.Item
	for i := range numItems {
		it := features.Item{ID: fmt.Sprintf("i%02d", i), Title: fmt.Sprintf("Item %d", i), UpdatedAt: t0.Add(-time.Duration(i%7) * time.Hour)}
		it.Promotional = i%5 == 0
		it.Sensitive = i%11 == 0
		items = append(items, it)
	}
	cat := catalogOf(t, items...)
	w := engine.DefaultWeights()

	var personalised int
	for c := range 200 {
		usable := randomSignals(1 + rng.IntN(30))
		req := personalization(1 + rng.IntN(15))
		req.ExcludePromotional = c%2 == 0
		req.AllowSensitive = c%3 == 0
		res := m.Recommend(usable, cat, req, &w)
		checkWellFormed(t, res, usable)
		// A limited answer is the start of the unlimited one: the engine
		// keeps the best items, not the first it meets.
		unlimited := req
		unlimited.Limit = numItems
		full := m.Recommend(usable, cat, unlimited, &w)
		if len(res.Items) != min(req.Limit, len(full.Items)) || !slices.EqualFunc(res.Items, full.Items[:len(res.Items)], func(a, b engine.Scored) bool {
			return a.ItemID == b.ItemID && a.Source == b.Source && a.Score == b.Score
		}) {
			t.Errorf("customer %d: limit %d gives %v, not the start of %v", c, req.Limit, ids(res), ids(full))
		}
		bought := map[string]bool{}
		for _, s := range usable {
			if s.Type == consent.Purchase {
				bought[s.ItemID] = true
			}
		}
		for _, it := range res.Items {
			ci := cat.Item(it.ItemID)
			switch {
			case bought[it.ItemID]:
				t.Errorf("customer %d: bought item %s recommended", c, it.ItemID)
			case req.ExcludePromotional && ci.Promotional:
				t.Errorf("customer %d: promotional item %s recommended on a surface that excludes them", c, it.ItemID)
			case ci.Sensitive && !(req.AllowSensitive && it.Source == engine.SourceCooccurrence):
				t.Errorf("customer %d: sensitive item %s placed by %s, allowed %v", c, it.ItemID, it.Source, req.AllowSensitive)
			}
		}
		if res.Personalized() {
			personalised++
		}
	}
	if personalised < 100 {
		t.Errorf("only %d of 200 random customers got a personalised answer: fixture too weak", personalised)
	}
}

func TestRecommendExcludesBoughtItems(t *testing.T) {
	t.Parallel()
	m := train(t, population(twoGroups...), engine.DefaultTrainOptions())
	cat := testCatalog(t, nil)
	view := sig("sig_v", consent.View, "a1", t0.Add(-time.Hour))
	tests := []struct {
		name   string
		signal features.Signal
		item   string
		want   engine.Source // 0: absent
	}{
		{"bought neighbour", sig("sig_p", consent.Purchase, "a2", t0), "a2", 0},
		{"viewed neighbour", sig("sig_p", consent.View, "a2", t0), "a2", engine.SourceCooccurrence},
		{"bought popular item", sig("sig_p", consent.Purchase, "b1", t0), "b1", 0},
		{"bought catalogue item", sig("sig_p", consent.Purchase, "n2", t0), "n2", 0},
		{"rated catalogue item", rating("sig_p", "n2", 5, t0), "n2", engine.SourceCatalog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			usable := []features.Signal{view, tt.signal}
			w := engine.DefaultWeights()
			res := m.Recommend(usable, cat, personalization(100), &w)
			checkWellFormed(t, res, usable)
			if got := placed(res)[tt.item]; got != tt.want {
				t.Errorf("%s placed by %v, want %v (items %v)", tt.item, got, tt.want, ids(res))
			}
		})
	}
}

func TestRecommendRules(t *testing.T) {
	t.Parallel()
	m := train(t, population(twoGroups...), engine.DefaultTrainOptions())
	flags := func(it *features.Item) {
		switch it.ID {
		case "a2", "b1", "n1":
			it.Promotional = true
		case "a3", "b2", "n2":
			it.Sensitive = true
		}
	}
	flagged := testCatalog(t, flags)
	missing := catalogOf(t,
		features.Item{ID: "a1", Title: "A1"}, features.Item{ID: "a4", Title: "A4"},
		features.Item{ID: "b2", Title: "B2"}, features.Item{ID: "n3", Title: "N3"})

	viewA1 := []features.Signal{sig("sig_1", consent.View, "a1", t0)}
	viewB1 := []features.Signal{sig("sig_1", consent.View, "b1", t0)}
	tests := []struct {
		name   string
		cat    *features.CatalogSnapshot
		usable []features.Signal
		mod    func(*engine.Request)
		want   map[string]engine.Source // 0: absent
	}{
		{
			name: "promotional items allowed", cat: flagged, usable: viewA1,
			want: map[string]engine.Source{"a2": engine.SourceCooccurrence, "b1": engine.SourcePopularity, "n1": engine.SourceCatalog},
		},
		{
			name: "promotional items excluded everywhere", cat: flagged, usable: viewA1,
			mod:  func(r *engine.Request) { r.ExcludePromotional = true },
			want: map[string]engine.Source{"a2": 0, "b1": 0, "n1": 0, "a4": engine.SourceCooccurrence, "b3": engine.SourcePopularity, "n3": engine.SourceCatalog},
		},
		{
			name: "sensitive items need explicit consent", cat: flagged, usable: viewA1,
			want: map[string]engine.Source{"a3": 0, "b2": 0, "n2": 0, "a4": engine.SourceCooccurrence},
		},
		{
			name: "sensitive items only from personal data", cat: flagged, usable: viewA1,
			mod:  func(r *engine.Request) { r.AllowSensitive = true },
			want: map[string]engine.Source{"a3": engine.SourceCooccurrence, "b2": 0, "n2": 0},
		},
		{
			name: "sensitive popular item reached through co-occurrence", cat: flagged, usable: viewB1,
			mod:  func(r *engine.Request) { r.AllowSensitive = true },
			want: map[string]engine.Source{"b2": engine.SourceCooccurrence, "a3": 0, "n2": 0},
		},
		{
			name: "sensitive item without signals", cat: flagged, usable: nil,
			mod:  func(r *engine.Request) { r.AllowSensitive = true },
			want: map[string]engine.Source{"a3": 0, "b2": 0, "n2": 0, "a1": engine.SourcePopularity},
		},
		{
			name: "items missing from the catalogue", cat: missing, usable: viewA1,
			want: map[string]engine.Source{
				"a1": engine.SourcePopularity, "a4": engine.SourceCooccurrence, "b2": engine.SourcePopularity, "n3": engine.SourceCatalog,
				"a2": 0, "a3": 0, "b1": 0, "b3": 0, "b4": 0, "x1": 0, "n1": 0, "n2": 0,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := personalization(100)
			if tt.mod != nil {
				tt.mod(&req)
			}
			w := engine.DefaultWeights()
			res := m.Recommend(tt.usable, tt.cat, req, &w)
			checkWellFormed(t, res, tt.usable)
			got := placed(res)
			for id, want := range tt.want {
				if got[id] != want {
					t.Errorf("%s placed by %v, want %v (items %v)", id, got[id], want, ids(res))
				}
			}
			for id := range got {
				if tt.cat.Item(id) == nil {
					t.Errorf("%s is not in the catalogue but was recommended", id)
				}
			}
		})
	}
}

func TestRecommendLimit(t *testing.T) {
	t.Parallel()
	m := train(t, population(twoGroups...), engine.DefaultTrainOptions())
	cat := testCatalog(t, nil)
	usable := []features.Signal{sig("sig_1", consent.View, "a1", t0)}
	w := engine.DefaultWeights()
	all := m.Recommend(usable, cat, personalization(1000), &w)
	if len(all.Items) != cat.Len() {
		t.Fatalf("with a large limit got %d items, want the whole catalogue (%d)", len(all.Items), cat.Len())
	}
	for _, limit := range []int{-5, -1, 0, 1, 2, 3, 4, 7, 8, 9, 11, 12, 13} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			t.Parallel()
			res := m.Recommend(usable, cat, personalization(limit), &w)
			want := min(max(limit, 0), len(all.Items))
			if len(res.Items) != want {
				t.Fatalf("limit %d: %d items, want %d", limit, len(res.Items), want)
			}
			// A smaller limit gives a prefix of the full answer.
			if !slices.EqualFunc(res.Items, all.Items[:want], func(a, b engine.Scored) bool {
				return a.ItemID == b.ItemID && a.Source == b.Source && a.Score == b.Score
			}) {
				t.Errorf("limit %d: %v is not a prefix of %v", limit, ids(res), ids(all))
			}
			if res.ModelVersion != m.Version {
				t.Errorf("ModelVersion = %q, want %q", res.ModelVersion, m.Version)
			}
		})
	}
}

func TestEmptyModelFillsFromCatalogue(t *testing.T) {
	t.Parallel()
	m := engine.EmptyModel()
	cat := testCatalog(t, func(it *features.Item) { it.Sensitive = it.ID == "n2" })
	usable := []features.Signal{sig("sig_1", consent.View, "a1", t0), sig("sig_2", consent.Purchase, "a2", t0)}
	w := engine.DefaultWeights()
	req := personalization(100)
	req.AllowSensitive = true
	res := m.Recommend(usable, cat, req, &w)
	checkWellFormed(t, res, usable)
	// Newest first, ties by id; a2 was bought; n2 is sensitive.
	want := []string{"n1", "n3", "a1", "a3", "a4", "b1", "b2", "b3", "b4", "x1"}
	if !slices.Equal(ids(res), want) {
		t.Errorf("items %v, want %v", ids(res), want)
	}
	for _, it := range res.Items {
		if it.Source != engine.SourceCatalog || it.Score != 0 {
			t.Errorf("%s: source %s score %v, want catalog fill with score 0", it.ItemID, it.Source, it.Score)
		}
	}
	if res.Personalized() || res.ModelVersion != "empty" || m.NumItems() != 0 {
		t.Errorf("personalised %v, version %q, %d items; want false, empty, 0", res.Personalized(), res.ModelVersion, m.NumItems())
	}
}

func TestResultPersonalized(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sources []engine.Source
		want    bool
	}{
		{"no items", nil, false},
		{"popularity", []engine.Source{engine.SourcePopularity, engine.SourcePopularity}, false},
		{"catalogue", []engine.Source{engine.SourceCatalog}, false},
		{"popularity and catalogue", []engine.Source{engine.SourcePopularity, engine.SourceCatalog}, false},
		{"one co-occurrence", []engine.Source{engine.SourceCooccurrence}, true},
		{"co-occurrence among others", []engine.Source{engine.SourcePopularity, engine.SourceCooccurrence, engine.SourceCatalog}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var res engine.Result
			for k, s := range tt.sources {
				res.Items = append(res.Items, engine.Scored{ItemID: fmt.Sprint(k), Source: s})
			}
			if got := res.Personalized(); got != tt.want {
				t.Errorf("Personalized() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSourceNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s        engine.Source
		name     string
		personal bool
	}{
		{engine.SourceCooccurrence, "cooccurrence", true},
		{engine.SourcePopularity, "popularity", false},
		{engine.SourceCatalog, "catalog", false},
	}
	for _, tt := range tests {
		if tt.s.String() != tt.name || tt.s.Personal() != tt.personal {
			t.Errorf("source %d: %q personal %v, want %q %v", tt.s, tt.s.String(), tt.s.Personal(), tt.name, tt.personal)
		}
	}
}
