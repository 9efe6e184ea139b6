package eval

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
)

// Cooc is the engine's own item co-occurrence model, trained by engine.Train
// and ranked by Model.Recommend exactly as the server does. Every training
// rating becomes a purchase signal collected for model training and
// personalisation, so the engine itself excludes the customer's training
// items ("already bought"). Weights are uniform (one per signal, no decay),
// MinSupport is 2 (the privacy minimum), at most 50 neighbours per item, and
// no customer's history is truncated. When co-occurrence yields fewer than
// k items the engine fills with popularity, then the catalogue, as it does
// in production.
type Cooc struct{}

var _ Model = Cooc{}

// Name implements Model.
func (Cooc) Name() string { return "cooc" }

// coocEpoch is the time of every synthetic signal and of training; with no
// decay it only has to be fixed.
var coocEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Fit implements Model.
func (Cooc) Fit(ctx context.Context, train *Matrix, _ uint64) (Fitted, error) {
	ids := make([]string, train.NumItems)
	index := make(map[string]int32, train.NumItems)
	items := make([]features.Item, train.NumItems)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
		index[ids[i]] = int32(i)
		items[i] = features.Item{ID: ids[i], Title: "item " + ids[i]}
	}
	o := engine.DefaultTrainOptions()
	o.MinSupport = 2
	o.MaxItemsPerCustomer = max(2, train.NumItems)
	o.Weights = uniformWeights()
	m, err := engine.Train(ctx, &matrixSource{m: train, ids: ids}, coocEpoch, o)
	if err != nil {
		return nil, fmt.Errorf("eval: cooc: %w", err)
	}
	return &coocFitted{model: m, catalog: features.NewCatalogSnapshot(1, items), ids: ids, index: index, weights: o.Weights}, nil
}

func uniformWeights() engine.Weights {
	var w engine.Weights
	w.PerType[consent.Purchase] = 1
	return w
}

// matrixSource is an engine.TrainingSource over a training matrix: one
// customer per non-empty row, one purchase per item.
type matrixSource struct {
	m   *Matrix
	ids []string
}

var _ engine.TrainingSource = (*matrixSource)(nil)

func (s *matrixSource) ScanUsable(ctx context.Context, purpose consent.Purpose, _ time.Time, fn func([]features.Signal) error) error {
	if purpose != consent.ModelTraining {
		return fmt.Errorf("eval: training asked for purpose %s", purpose)
	}
	var sigs []features.Signal
	for u := range s.m.NumUsers {
		if u%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		row := s.m.Row(u)
		if len(row) == 0 {
			continue
		}
		sigs = appendPurchases(sigs[:0], row, s.ids)
		if err := fn(sigs); err != nil {
			return err
		}
	}
	return nil
}

var coocPurposes = consent.NewPurposeSet(consent.ModelTraining, consent.Personalization)

func appendPurchases(dst []features.Signal, items []int32, ids []string) []features.Signal {
	for _, i := range items {
		dst = append(dst, features.Signal{Type: consent.Purchase, ItemID: ids[i], Purposes: coocPurposes, OccurredAt: coocEpoch})
	}
	return dst
}

type coocFitted struct {
	model   *engine.Model
	catalog *features.CatalogSnapshot
	ids     []string
	index   map[string]int32
	weights engine.Weights
}

func (f *coocFitted) NewRanker() Ranker { return &coocRanker{f: f} }
func (f *coocFitted) Params() *Params   { return nil }

type coocRanker struct {
	f    *coocFitted
	sigs []features.Signal
}

func (r *coocRanker) Rank(history []int32, k int, dst []int32) ([]int32, error) {
	r.sigs = appendPurchases(r.sigs[:0], history, r.f.ids)
	res := r.f.model.Recommend(r.sigs, r.f.catalog, engine.Request{Purpose: consent.Personalization, Limit: k, Now: coocEpoch}, &r.f.weights)
	dst = dst[:0]
	for _, it := range res.Items {
		i, ok := r.f.index[it.ItemID]
		if !ok {
			return nil, fmt.Errorf("eval: cooc recommended an item outside the catalogue")
		}
		dst = append(dst, i)
	}
	return dst, nil
}
