package engine

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// Source names the model that placed an item.
type Source uint8

// Sources, from most to least personal.
const (
	// SourceCooccurrence: ranked from the customer's usable signals through
	// item-to-item co-occurrence. The score is the exact sum of the
	// contributions.
	SourceCooccurrence Source = iota + 1
	// SourcePopularity: popular with other customers; no personal data.
	SourcePopularity
	// SourceCatalog: newest in the catalogue, when the model has too little
	// to offer; no personal data.
	SourceCatalog
	// SourceALS: ranked from the customer's usable signals, folded into the
	// ALS item model. The score is the exact sum of the contributions.
	SourceALS
)

var sourceNames = map[Source]string{SourceCooccurrence: "cooccurrence", SourcePopularity: "popularity", SourceCatalog: "catalog", SourceALS: "als"}

// String returns the source's API name.
func (s Source) String() string { return sourceNames[s] }

// Personal reports whether items from this source were ranked from the
// customer's own data.
func (s Source) Personal() bool { return s == SourceCooccurrence || s == SourceALS }

// Request is what to rank for.
type Request struct {
	Purpose consent.Purpose
	Limit   int
	Now     time.Time
	// ExcludePromotional drops items flagged promotional (support surface).
	ExcludePromotional bool
	// AllowSensitive lets sensitive items be ranked from personal data; the
	// caller sets it only when the customer gave explicit consent for
	// sensitive data for this purpose. Sensitive items are never filled in
	// from popularity or the catalogue.
	AllowSensitive bool
	// Controls are the customer's controls: items and categories they are
	// not interested in are never placed. Nil means none.
	Controls *features.Controls
}

// Contribution is one signal's exact share of a score.
type Contribution struct {
	// Signal indexes the usable signals the engine was given.
	Signal int
	Value  float64
}

// Scored is one ranked item.
type Scored struct {
	ItemID string
	Score  float64
	Source Source
	// Contributions, for personal sources, sum to Score; largest
	// magnitude first.
	Contributions []Contribution
}

// Result is a ranked answer.
type Result struct {
	Items        []Scored
	ModelVersion string
}

// Personalized reports whether any item was ranked from personal data.
func (r *Result) Personalized() bool {
	for i := range r.Items {
		if r.Items[i].Source.Personal() {
			return true
		}
	}
	return false
}

// Recommend ranks items with the co-occurrence model alone (see
// Models.Recommend).
func (m *Model) Recommend(usable []features.Signal, catalog *features.CatalogSnapshot, req Request, w *Weights) Result {
	return Models{Cooc: m}.Recommend(usable, catalog, req, w)
}

// scoreCooccurrence scores every neighbour of the usable signals' items and
// returns the best eligible ones with their contributions.
func (m *Model) scoreCooccurrence(usable []features.Signal, req Request, w *Weights, eligible func(string, bool) bool) []Scored {
	if len(m.items) == 0 || len(usable) == 0 {
		return nil
	}
	sc := m.scratch.Get().(*scoreScratch)
	defer sc.reset(m)

	// Scatter: each signal adds weight × similarity to each neighbour of its
	// item, in signal order.
	weights := sc.weights[:0]
	sources := sc.sources[:0]
	for s := range usable {
		i, ok := m.index[usable[s].ItemID]
		if !ok {
			i = -1
		}
		sources = append(sources, i)
		weights = append(weights, 0)
		if i < 0 {
			continue
		}
		weights[s] = w.At(&usable[s], req.Now)
		if weights[s] == 0 {
			// A neutral signal (a 3-star rating) moves no score; it must
			// not be cited as a reason that "added 0.00".
			sources[s] = -1
			continue
		}
		for _, nb := range m.neighbors[i] {
			if sc.slot[nb.item] == 0 {
				sc.slot[nb.item] = -1 // touched, not chosen
				sc.touched = append(sc.touched, nb.item)
			}
			// float64(...) rounds the product, which keeps the compiler
			// from fusing it with the addition (FMA on arm64, amd64 v3):
			// the score must be the sum of the rounded contributions.
			sc.scores[nb.item] += float64(weights[s] * nb.sim)
		}
	}
	sc.weights, sc.sources = weights, sources

	// Select the best eligible candidates without sorting them all: keep
	// the top Limit in a small sorted slice; eligibility is checked only for
	// candidates that would enter it.
	better := func(a, b int32) bool {
		if sc.scores[a] != sc.scores[b] {
			return sc.scores[a] > sc.scores[b]
		}
		return m.items[a] < m.items[b]
	}
	top := sc.top[:0]
	for _, j := range sc.touched {
		if sc.scores[j] <= 0 {
			continue
		}
		if len(top) == req.Limit && !better(j, top[len(top)-1]) {
			continue
		}
		if !eligible(m.items[j], true) {
			continue
		}
		k := len(top)
		if k < req.Limit {
			top = append(top, j)
		} else {
			k--
		}
		for ; k > 0 && better(j, top[k-1]); k-- {
			top[k] = top[k-1]
		}
		top[k] = j
	}
	sc.top = top

	out := make([]Scored, len(top))
	for slot, j := range top {
		sc.slot[j] = int32(slot + 1)
		out[slot] = Scored{ItemID: m.items[j], Source: SourceCooccurrence}
	}
	// Gather the contributions of the chosen items, in the same order as the
	// scatter above, so each score is exactly the sum of its contributions.
	// A first pass counts them, so that all items share one allocation.
	counts := make([]int, len(out))
	total := 0
	for _, i := range sources {
		if i < 0 {
			continue
		}
		for _, nb := range m.neighbors[i] {
			if slot := sc.slot[nb.item]; slot > 0 {
				counts[slot-1]++
				total++
			}
		}
	}
	all := make([]Contribution, total)
	for k := range out {
		out[k].Contributions, all = all[:0:counts[k]], all[counts[k]:]
	}
	for s, i := range sources {
		if i < 0 {
			continue
		}
		for _, nb := range m.neighbors[i] {
			if slot := sc.slot[nb.item]; slot > 0 {
				it := &out[slot-1]
				v := float64(weights[s] * nb.sim) // rounded: no fused multiply-add
				it.Score += v
				it.Contributions = append(it.Contributions, Contribution{Signal: s, Value: v})
			}
		}
	}
	for k := range out {
		c := out[k].Contributions
		slices.SortStableFunc(c, func(a, b Contribution) int { return cmp.Compare(math.Abs(b.Value), math.Abs(a.Value)) })
	}
	return out
}
