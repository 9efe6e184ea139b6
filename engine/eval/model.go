package eval

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Model is a recommender under evaluation.
type Model interface {
	// Name is the model's name on the command line and in reports.
	Name() string
	// Fit learns from one training fold. Rows of users whose data may not
	// be used for training are empty. seed makes any randomness
	// reproducible.
	Fit(ctx context.Context, train *Matrix, seed uint64) (Fitted, error)
}

// Fitted is a trained model.
type Fitted interface {
	// NewRanker returns a ranker for one goroutine.
	NewRanker() Ranker
	// Params reports the hyperparameters in use, if any were chosen.
	Params() *Params
}

// Ranker ranks for one customer at a time. It is handed only the
// customer's usable history, never who they are.
type Ranker interface {
	// Rank writes to dst up to k item indexes, best first, none of them in
	// history (ascending item indexes).
	Rank(history []int32, k int, dst []int32) ([]int32, error)
}

// Params are hyperparameters chosen on validation data.
type Params struct {
	Values map[string]float64 `json:"values"`
	// Validation is the validation NDCG@10 of the chosen setting, and
	// Candidates the number of settings tried.
	Validation float64 `json:"validation_ndcg@10"`
	Candidates int     `json:"candidates"`
}

// String prints the values in name order.
func (p *Params) String() string {
	names := make([]string, 0, len(p.Values))
	for n := range p.Values {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for k, n := range names {
		parts[k] = fmt.Sprintf("%s=%g", n, p.Values[n])
	}
	return strings.Join(parts, " ")
}

// ModelNames lists the models New knows, in report order.
func ModelNames() []string { return []string{"pop", "cooc", "als"} }

// New returns the named model with its defaults.
func New(name string) (Model, error) {
	switch name {
	case "pop":
		return Pop{}, nil
	case "cooc":
		return Cooc{}, nil
	case "als":
		return &ALS{Grid: DefaultALSGrid()}, nil
	}
	return nil, fmt.Errorf("eval: unknown model %q (known: %s)", name, strings.Join(ModelNames(), ", "))
}

// Pop ranks items by their number of training ratings (Gorse's ItemPop).
type Pop struct{}

var _ Model = Pop{}

// Name implements Model.
func (Pop) Name() string { return "pop" }

// Fit counts each item's training ratings.
func (Pop) Fit(_ context.Context, train *Matrix, _ uint64) (Fitted, error) {
	return newPopularity(train), nil
}

// popularity scores items by training-rating count.
type popularity struct{ counts []float64 }

func newPopularity(train *Matrix) *popularity {
	p := &popularity{counts: make([]float64, train.NumItems)}
	for _, i := range train.Items {
		p.counts[i]++
	}
	return p
}

func (p *popularity) NewRanker() Ranker {
	return &popRanker{p: p, exclude: make([]bool, len(p.counts))}
}

func (p *popularity) Params() *Params { return nil }

type popRanker struct {
	p       *popularity
	exclude []bool
}

func (r *popRanker) Rank(history []int32, k int, dst []int32) ([]int32, error) {
	for _, i := range history {
		r.exclude[i] = true
	}
	dst = topK(r.p.counts, r.exclude, k, dst)
	for _, i := range history {
		r.exclude[i] = false
	}
	return dst, nil
}
