package engine

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// ALSInfo describes one trained ALS model version.
type ALSInfo struct {
	// Version identifies the model by its content: training on the same
	// data with the same options gives the same version.
	Version   string    `json:"version"`
	TrainedAt time.Time `json:"trained_at"`
	// Customers, Signals and Items count what training used.
	Customers int `json:"customers"`
	Signals   int `json:"signals"`
	Items     int `json:"items"`
	// DataFingerprint is a SHA-256 of the training matrix (item ids and
	// weights per customer row), so that two runs can be compared.
	DataFingerprint string        `json:"data_fingerprint"`
	Options         ALSOptions    `json:"options"`
	MinSupport      int           `json:"min_support"`
	Duration        time.Duration `json:"duration_ns"`
}

// ALSModel is a trained ALS item model ready to serve. It is immutable and
// safe for concurrent use.
type ALSModel struct {
	Info    ALSInfo
	factors *Factors
	items   []string
	index   map[string]int32
	// candidates narrows scoring for large catalogues; nil below
	// CandidateThreshold items, where every item is scored.
	candidates *candidateIndex
	scratch    sync.Pool // *alsScratch
}

// NewALSModel wraps trained factors for serving; items names the factor rows.
func NewALSModel(info ALSInfo, items []string, f *Factors) (*ALSModel, error) {
	if len(items) != f.NumItems() {
		return nil, fmt.Errorf("engine: %d item ids for %d factor rows", len(items), f.NumItems())
	}
	m := &ALSModel{Info: info, factors: f, items: items, index: make(map[string]int32, len(items))}
	for i, id := range items {
		if _, dup := m.index[id]; dup {
			return nil, fmt.Errorf("engine: item %q appears twice in the model", id)
		}
		m.index[id] = int32(i)
	}
	if f.NumItems() >= CandidateThreshold {
		m.candidates = buildCandidateIndex(f, info.Options.Seed)
	}
	f.UseFloat32Scoring()
	m.scratch.New = func() any { return newALSScratch(f) }
	return m, nil
}

// NumItems returns the number of items the model knows.
func (m *ALSModel) NumItems() int { return len(m.items) }

// alsScratch is one request's memory, reused through the model's pool.
type alsScratch struct {
	fold     *FoldIn
	scores   []float64 // per model item
	scores32 []float32 // per model item, when every item is scored
	slot     []int32   // per model item: 0, or 1 + its position among folded
	folded   []int32   // items folded in, in order of first signal
	weight   []float64 // per folded item: total signal weight r
	sigPos   []int32   // per usable signal: its folded position, or -1
	sigW     []float64 // per usable signal: its weight
	parts    []float64 // per folded item: contribution to one result
	top      []int32
	packedI  []int32   // folded items with r > 0
	packedR  []float64 // their weights
	remap    []int32   // folded position -> packed position, or -1
	cands    candidateScratch
}

func newALSScratch(f *Factors) *alsScratch {
	sc := &alsScratch{fold: f.NewFoldIn(), scores: make([]float64, f.NumItems()), slot: make([]int32, f.NumItems())}
	if f.items32 != nil {
		sc.scores32 = make([]float32, f.NumItems())
	}
	return sc
}

// score folds the customer's usable signals into the model and returns the
// best eligible items with each signal's exact contribution.
//
// A customer's weight on an item is the sum of their usable signals' weights
// on it; items with a positive total are folded in with confidence
// 1 + Alpha·r. Item i's part of an item's score, c_i·y_iᵀA⁻¹y_j, is shared
// among i's signals in proportion to their weights, so the contributions sum
// to the score. Items the customer interacted with are not recommended back
// to them.
func (m *ALSModel) score(usable []features.Signal, req Request, w *Weights, eligible func(string, bool) bool) []Scored {
	sc := m.scratch.Get().(*alsScratch)
	defer m.scratch.Put(sc)
	defer func() {
		for _, i := range sc.folded {
			sc.slot[i] = 0
		}
	}()
	sc.folded, sc.weight, sc.sigPos, sc.sigW = sc.folded[:0], sc.weight[:0], sc.sigPos[:0], sc.sigW[:0]
	for s := range usable {
		pos := int32(-1)
		wt := 0.0
		if i, ok := m.index[usable[s].ItemID]; ok {
			wt = w.At(&usable[s], req.Now)
			if wt != 0 {
				if sc.slot[i] == 0 {
					sc.folded = append(sc.folded, i)
					sc.weight = append(sc.weight, 0)
					sc.slot[i] = int32(len(sc.folded))
				}
				pos = sc.slot[i] - 1
				sc.weight[pos] += wt
			}
		}
		sc.sigPos = append(sc.sigPos, pos)
		sc.sigW = append(sc.sigW, wt)
	}
	// Only items with a positive total enter the fold-in.
	sc.packedI, sc.packedR, sc.remap = sc.packedI[:0], sc.packedR[:0], sc.remap[:0]
	for p, i := range sc.folded {
		if sc.weight[p] > 0 {
			sc.remap = append(sc.remap, int32(len(sc.packedI)))
			sc.packedI = append(sc.packedI, i)
			sc.packedR = append(sc.packedR, sc.weight[p])
		} else {
			sc.remap = append(sc.remap, -1)
		}
	}
	if len(sc.packedI) == 0 {
		return nil
	}
	if err := sc.fold.Solve(sc.packedI, sc.packedR); err != nil {
		return nil // cannot happen with Lambda > 0; the fallbacks answer
	}
	var candidates []int32 // nil: every item
	switch {
	case m.candidates != nil:
		candidates = m.candidates.candidates(sc.fold.x, CandidateBudget, &sc.cands)
		sc.fold.ScoreItems(candidates, sc.scores)
	case sc.scores32 != nil:
		// Ranking in float32 reads half the bytes; the scores reported
		// are the exact sums of the contributions, computed below.
		sc.fold.ScoresFloat32(sc.scores32)
		for i, v := range sc.scores32 {
			sc.scores[i] = float64(v)
		}
	default:
		sc.fold.Scores(sc.scores)
	}

	better := func(a, b int32) bool {
		if sc.scores[a] != sc.scores[b] {
			return sc.scores[a] > sc.scores[b]
		}
		return m.items[a] < m.items[b]
	}
	top := sc.top[:0]
	n := len(sc.scores)
	if candidates != nil {
		n = len(candidates)
	}
	for c := 0; c < n; c++ {
		j := c
		if candidates != nil {
			j = int(candidates[c])
		}
		jj := int32(j)
		if sc.slot[j] != 0 || !(sc.scores[j] > 0) {
			continue // interacted with already, or not recommended
		}
		if len(top) == req.Limit && !better(jj, top[len(top)-1]) {
			continue
		}
		if !eligible(m.items[j], true) {
			continue
		}
		k := len(top)
		if k < req.Limit {
			top = append(top, jj)
		} else {
			k--
		}
		for ; k > 0 && better(jj, top[k-1]); k-- {
			top[k] = top[k-1]
		}
		top[k] = jj
	}
	sc.top = top

	if cap(sc.parts) < len(sc.packedI) {
		sc.parts = make([]float64, len(sc.packedI))
	}
	parts := sc.parts[:len(sc.packedI)]
	out := make([]Scored, len(top))
	for slot, j := range top {
		sc.fold.Contributions(int(j), parts)
		it := Scored{ItemID: m.items[j], Source: SourceALS, Contributions: make([]Contribution, 0, len(usable))}
		for s, pos := range sc.sigPos {
			if pos < 0 {
				continue
			}
			q := sc.remap[pos]
			if q < 0 {
				continue
			}
			v := float64(parts[q] * float64(sc.sigW[s]/sc.packedR[q]))
			it.Score += v
			it.Contributions = append(it.Contributions, Contribution{Signal: s, Value: v})
		}
		slices.SortStableFunc(it.Contributions, func(a, b Contribution) int { return cmp.Compare(math.Abs(b.Value), math.Abs(a.Value)) })
		out[slot] = it
	}
	// Ranking used Y·x; the reported score is the sum of the contributions,
	// equal to it up to rounding. Order by the reported score.
	slices.SortStableFunc(out, func(a, b Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ItemID, b.ItemID)
	})
	return out
}

// ExactTop returns the ids of the n best items for the usable signals with
// every item scored (no candidate generation and no business rules), for
// measuring what candidate generation misses.
func (m *ALSModel) ExactTop(usable []features.Signal, req Request, w *Weights, n int) []string {
	exact := &ALSModel{Info: m.Info, factors: m.factors, items: m.items, index: m.index}
	exact.scratch.New = func() any { return newALSScratch(m.factors) }
	req.Limit = n
	var ids []string
	for _, it := range exact.score(usable, req, w, func(string, bool) bool { return true }) {
		ids = append(ids, it.ItemID)
	}
	return ids
}

// ALSTrainOptions tune TrainALS.
type ALSTrainOptions struct {
	ALS     ALSOptions
	Weights Weights
	// MinSupport drops items fewer distinct customers interacted with, so
	// that no item's factors reflect one or two people. At least 2.
	MinSupport int
}

// TrainALS trains an ALS model from the signals usable for model training
// now. Customers are rows in pseudonym order, items are columns in id order,
// so the model does not depend on the order data was stored in, and a
// customer who revoked model_training is simply not a row. Training is
// deterministic for a given store, options and now (signal weights decay
// with age, so a later run on the same signals gives slightly other
// factors).
func TrainALS(ctx context.Context, source TrainingSource, now time.Time, o ALSTrainOptions) (*ALSModel, error) {
	if err := o.ALS.Validate(); err != nil {
		return nil, err
	}
	if o.MinSupport < 2 {
		return nil, fmt.Errorf("engine: min support must be at least 2 customers, got %d", o.MinSupport)
	}
	start := time.Now()
	type entry struct {
		item string
		r    float64
	}
	var rows [][]entry
	signals := 0
	support := map[string]int{}
	err := source.ScanUsable(ctx, consent.ModelTraining, now, func(usable []features.Signal) error {
		total := map[string]float64{}
		for i := range usable {
			total[usable[i].ItemID] += o.Weights.At(&usable[i], now)
		}
		var row []entry
		for id, r := range total {
			if r > 0 {
				row = append(row, entry{id, r})
				support[id]++
			}
		}
		if len(row) > 0 {
			rows = append(rows, row)
			signals += len(usable)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("engine.TrainALS: %w", err)
	}
	var items []string
	for id, n := range support {
		if n >= o.MinSupport {
			items = append(items, id)
		}
	}
	sort.Strings(items)
	index := make(map[string]int32, len(items))
	for i, id := range items {
		index[id] = int32(i)
	}
	data := &Interactions{NumItems: len(items), Indptr: []int{0}}
	fp := sha256.New()
	var buf [8]byte
	for _, row := range rows {
		kept := row[:0]
		for _, e := range row {
			if _, ok := index[e.item]; ok {
				kept = append(kept, e)
			}
		}
		if len(kept) == 0 {
			continue
		}
		slices.SortFunc(kept, func(a, b entry) int { return cmp.Compare(index[a.item], index[b.item]) })
		for _, e := range kept {
			data.Items = append(data.Items, index[e.item])
			data.Values = append(data.Values, e.r)
			fp.Write([]byte(e.item))
			binary.BigEndian.PutUint64(buf[:], math.Float64bits(e.r))
			fp.Write(buf[:])
		}
		fp.Write([]byte{0})
		data.Indptr = append(data.Indptr, len(data.Items))
		data.NumUsers++
	}
	if data.NumItems == 0 {
		return nil, fmt.Errorf("engine.TrainALS: %w", ErrNoTrainingData)
	}
	f, err := FitALS(ctx, data, o.ALS)
	if err != nil {
		return nil, fmt.Errorf("engine.TrainALS: %w", err)
	}
	info := ALSInfo{
		TrainedAt:       now.UTC(),
		Customers:       data.NumUsers,
		Signals:         signals,
		Items:           data.NumItems,
		DataFingerprint: hex.EncodeToString(fp.Sum(nil)),
		Options:         o.ALS,
		MinSupport:      o.MinSupport,
		Duration:        time.Since(start),
	}
	info.Options.Workers = 0 // not part of the model: any worker count gives the same factors
	info.Version = alsVersion(info, f)
	return NewALSModel(info, items, f)
}

// ErrNoTrainingData is returned when no customer's usable signals leave an
// item with enough support to train on.
var ErrNoTrainingData = fmt.Errorf("no signals usable for model training with enough support")

// alsVersion hashes what determines a model's answers.
func alsVersion(info ALSInfo, f *Factors) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%+v|%d|", info.DataFingerprint, info.Options, info.MinSupport)
	var buf [8]byte
	for _, v := range f.items {
		binary.BigEndian.PutUint64(buf[:], math.Float64bits(v))
		h.Write(buf[:])
	}
	return "als-" + hex.EncodeToString(h.Sum(nil)[:6])
}
