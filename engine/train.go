package engine

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// TrainingSource yields, customer by customer, the signals usable for a
// purpose. features.Store implements it.
type TrainingSource interface {
	ScanUsable(ctx context.Context, purpose consent.Purpose, now time.Time, fn func(signals []features.Signal) error) error
}

var _ TrainingSource = (*features.Store)(nil)

// TrainOptions tune training.
type TrainOptions struct {
	// MinSupport is the smallest number of distinct customers behind any
	// statistic the model keeps: a co-occurrence or a popularity count below
	// it is dropped, so the model never reflects one or two people's
	// behaviour. At least 2.
	MinSupport int
	// MaxNeighbors bounds the neighbours kept per item.
	MaxNeighbors int
	// MaxItemsPerCustomer bounds the items one customer adds to the
	// co-occurrence counts (the most recent are kept).
	MaxItemsPerCustomer int
	Weights             Weights
}

// DefaultTrainOptions: support 3, 50 neighbours, 300 items per customer.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{MinSupport: 3, MaxNeighbors: 50, MaxItemsPerCustomer: 300, Weights: DefaultWeights()}
}

// Validate enforces the privacy minimum on MinSupport and sane bounds.
func (o TrainOptions) Validate() error {
	switch {
	case o.MinSupport < 2:
		return fmt.Errorf("engine: min support must be at least 2 customers, got %d", o.MinSupport)
	case o.MaxNeighbors < 1:
		return fmt.Errorf("engine: max neighbours must be positive, got %d", o.MaxNeighbors)
	case o.MaxItemsPerCustomer < 2:
		return fmt.Errorf("engine: max items per customer must be at least 2, got %d", o.MaxItemsPerCustomer)
	}
	return nil
}

// Train builds a model from the signals usable for model training now. It
// reads only what source yields for consent.ModelTraining; a customer who
// revoked that consent contributes nothing.
func Train(ctx context.Context, source TrainingSource, now time.Time, o TrainOptions) (*Model, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	b := newBuilder(o)
	err := source.ScanUsable(ctx, consent.ModelTraining, now, func(signals []features.Signal) error {
		b.addCustomer(signals)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("engine.Train: %w", err)
	}
	return b.build(now), nil
}

type builder struct {
	o         TrainOptions
	index     map[string]int32
	items     []string
	counts    []int32          // distinct customers per item
	pairs     map[uint64]int32 // (i<<32 | j), i < j -> distinct customers
	customers int
	signals   int
}

func newBuilder(o TrainOptions) *builder {
	return &builder{o: o, index: map[string]int32{}, pairs: map[uint64]int32{}}
}

// addCustomer counts one customer's positively weighted items.
func (b *builder) addCustomer(signals []features.Signal) {
	net := map[string]float64{}
	last := map[string]time.Time{}
	for i := range signals {
		s := &signals[i]
		net[s.ItemID] += b.o.Weights.base(s)
		if s.OccurredAt.After(last[s.ItemID]) {
			last[s.ItemID] = s.OccurredAt
		}
	}
	liked := make([]string, 0, len(net))
	for id, w := range net {
		if w > 0 {
			liked = append(liked, id)
		}
	}
	if len(liked) == 0 {
		return
	}
	b.customers++
	b.signals += len(signals)
	sort.Slice(liked, func(i, j int) bool {
		if !last[liked[i]].Equal(last[liked[j]]) {
			return last[liked[i]].After(last[liked[j]])
		}
		return liked[i] < liked[j]
	})
	if len(liked) > b.o.MaxItemsPerCustomer {
		liked = liked[:b.o.MaxItemsPerCustomer]
	}
	idx := make([]int32, len(liked))
	for k, id := range liked {
		i, ok := b.index[id]
		if !ok {
			i = int32(len(b.items))
			b.index[id] = i
			b.items = append(b.items, id)
			b.counts = append(b.counts, 0)
		}
		b.counts[i]++
		idx[k] = i
	}
	for x := 0; x < len(idx); x++ {
		for y := x + 1; y < len(idx); y++ {
			i, j := idx[x], idx[y]
			if i > j {
				i, j = j, i
			}
			b.pairs[uint64(i)<<32|uint64(j)]++
		}
	}
}

func (b *builder) build(now time.Time) *Model {
	// Items are renumbered in id order so the model does not depend on the
	// order customers were visited in.
	order := make([]int32, len(b.items))
	for i := range order {
		order[i] = int32(i)
	}
	sort.Slice(order, func(x, y int) bool { return b.items[order[x]] < b.items[order[y]] })
	renum := make([]int32, len(b.items))
	m := &Model{
		BuiltAt:    now.UTC(),
		Customers:  b.customers,
		Signals:    b.signals,
		items:      make([]string, len(b.items)),
		index:      make(map[string]int32, len(b.items)),
		neighbors:  make([][]neighbor, len(b.items)),
		popularity: make([]float64, len(b.items)),
	}
	for newIdx, old := range order {
		renum[old] = int32(newIdx)
		m.items[newIdx] = b.items[old]
		m.index[b.items[old]] = int32(newIdx)
	}

	minSupport := int32(b.o.MinSupport)
	var maxCount int32
	for _, c := range b.counts {
		maxCount = max(maxCount, c)
	}
	for old, c := range b.counts {
		if c >= minSupport {
			m.popularity[renum[old]] = float64(c) / float64(maxCount)
		}
	}
	for i, p := range m.popularity {
		if p > 0 {
			m.popular = append(m.popular, int32(i))
		}
	}
	sort.SliceStable(m.popular, func(x, y int) bool { return m.popularity[m.popular[x]] > m.popularity[m.popular[y]] })

	for key, c := range b.pairs {
		if c < minSupport {
			continue
		}
		i, j := renum[int32(key>>32)], renum[int32(key&0xffffffff)]
		ci, cj := b.counts[key>>32], b.counts[key&0xffffffff]
		sim := float64(c) / math.Sqrt(float64(ci)*float64(cj))
		m.neighbors[i] = append(m.neighbors[i], neighbor{item: j, sim: sim})
		m.neighbors[j] = append(m.neighbors[j], neighbor{item: i, sim: sim})
	}
	for i, nbs := range m.neighbors {
		sort.Slice(nbs, func(x, y int) bool {
			if nbs[x].sim != nbs[y].sim {
				return nbs[x].sim > nbs[y].sim
			}
			return nbs[x].item < nbs[y].item
		})
		if len(nbs) > b.o.MaxNeighbors {
			nbs = nbs[:b.o.MaxNeighbors]
		}
		sort.Slice(nbs, func(x, y int) bool { return nbs[x].item < nbs[y].item })
		m.neighbors[i] = nbs
	}
	return finishModel(m)
}
