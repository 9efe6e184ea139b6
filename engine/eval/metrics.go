package eval

import (
	"math"
	"slices"
)

// Metrics are ranking quality figures at a cut-off (10 in reports), each the
// mean over users, then over folds, of the per-user values defined in the
// package comment.
type Metrics struct {
	Precision float64 `json:"precision@10"`
	Recall    float64 `json:"recall@10"`
	MAP       float64 `json:"map@10"`
	NDCG      float64 `json:"ndcg@10"`
	MRR       float64 `json:"mrr@10"`
	// Coverage is the share of the catalogue in at least one user's list.
	Coverage float64 `json:"coverage"`
}

// contains reports whether the ascending slice relevant holds item.
func contains(relevant []int32, item int32) bool {
	_, ok := slices.BinarySearch(relevant, item)
	return ok
}

// Precision is hits / len(list) (Gorse: hits over the length of the list,
// which is the cut-off unless fewer candidates exist).
func Precision(relevant, list []int32) float64 {
	if len(list) == 0 {
		return 0
	}
	return float64(hits(relevant, list)) / float64(len(list))
}

// Recall is hits / |relevant|.
func Recall(relevant, list []int32) float64 {
	if len(relevant) == 0 {
		return 0
	}
	return float64(hits(relevant, list)) / float64(len(relevant))
}

// AveragePrecision is the sum, over the positions k of the list that hold a
// relevant item, of precision at k, divided by |relevant| (not by
// min(|relevant|, len(list)): Gorse divides by the size of the test set).
func AveragePrecision(relevant, list []int32) float64 {
	if len(relevant) == 0 {
		return 0
	}
	sum, hit := 0.0, 0
	for k, item := range list {
		if contains(relevant, item) {
			hit++
			sum += float64(hit) / float64(k+1)
		}
	}
	return sum / float64(len(relevant))
}

// NDCG is DCG / ideal DCG with binary gains: DCG = Σ over hits at position
// k (from 1) of 1/log2(k+1); the ideal DCG puts min(|relevant|, len(list))
// hits first.
func NDCG(relevant, list []int32) float64 {
	idcg := 0.0
	for k := 0; k < len(relevant) && k < len(list); k++ {
		idcg += 1 / math.Log2(float64(k)+2)
	}
	if idcg == 0 {
		return 0
	}
	dcg := 0.0
	for k, item := range list {
		if contains(relevant, item) {
			dcg += 1 / math.Log2(float64(k)+2)
		}
	}
	return dcg / idcg
}

// ReciprocalRank is 1/k for the first position k (from 1) holding a
// relevant item, 0 when none does.
func ReciprocalRank(relevant, list []int32) float64 {
	for k, item := range list {
		if contains(relevant, item) {
			return 1 / float64(k+1)
		}
	}
	return 0
}

func hits(relevant, list []int32) int {
	n := 0
	for _, item := range list {
		if contains(relevant, item) {
			n++
		}
	}
	return n
}

// userMetrics computes every per-user metric of one list.
func userMetrics(relevant, list []int32) Metrics {
	return Metrics{
		Precision: Precision(relevant, list),
		Recall:    Recall(relevant, list),
		MAP:       AveragePrecision(relevant, list),
		NDCG:      NDCG(relevant, list),
		MRR:       ReciprocalRank(relevant, list),
	}
}

func (m *Metrics) add(o Metrics) {
	m.Precision += o.Precision
	m.Recall += o.Recall
	m.MAP += o.MAP
	m.NDCG += o.NDCG
	m.MRR += o.MRR
	m.Coverage += o.Coverage
}

func (m *Metrics) scale(s float64) {
	m.Precision *= s
	m.Recall *= s
	m.MAP *= s
	m.NDCG *= s
	m.MRR *= s
	m.Coverage *= s
}

// topK writes to dst the k items with the highest scores, best first, ties
// to the lower index, skipping items marked in exclude (nil: none).
func topK(scores []float64, exclude []bool, k int, dst []int32) []int32 {
	dst = dst[:0]
	if k <= 0 {
		return dst
	}
	for i, s := range scores {
		if exclude != nil && exclude[i] {
			continue
		}
		n := len(dst)
		if n == k {
			if !(s > scores[dst[n-1]]) {
				continue
			}
			n--
		} else {
			dst = append(dst, 0)
		}
		for ; n > 0 && s > scores[dst[n-1]]; n-- {
			dst[n] = dst[n-1]
		}
		dst[n] = int32(i)
	}
	return dst
}
