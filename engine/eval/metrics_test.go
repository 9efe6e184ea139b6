package eval

import (
	"math"
	"slices"
	"testing"
)

func TestMetricsHandComputed(t *testing.T) {
	t.Parallel()
	l2 := math.Log2
	cases := []struct {
		name           string
		relevant, list []int32
		p, r, ap, ndcg float64
		rr             float64
	}{
		{
			// Hits at positions 1, 3 and 6 of 10; 4 relevant items.
			name:     "three hits of four",
			relevant: []int32{1, 3, 7, 9},
			list:     []int32{1, 20, 3, 21, 22, 9, 23, 24, 25, 26},
			p:        3.0 / 10, r: 3.0 / 4,
			ap:   (1.0/1 + 2.0/3 + 3.0/6) / 4,
			ndcg: (1/l2(2) + 1/l2(4) + 1/l2(7)) / (1/l2(2) + 1/l2(3) + 1/l2(4) + 1/l2(5)),
			rr:   1,
		},
		{
			// More relevant items than the list holds: IDCG over 10
			// positions, AP still divided by |relevant| (Gorse).
			name:     "twelve relevant, hits at 2 and 10",
			relevant: []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
			list:     []int32{50, 4, 51, 52, 53, 54, 55, 56, 57, 11},
			p:        2.0 / 10, r: 2.0 / 12,
			ap:   (1.0/2 + 2.0/10) / 12,
			ndcg: (1/l2(3) + 1/l2(11)) / idcg(10),
			rr:   1.0 / 2,
		},
		{
			name:     "no hit",
			relevant: []int32{5},
			list:     []int32{1, 2, 3},
		},
		{
			// A short list: precision over its length, as Gorse.
			name:     "short list, one relevant item found last",
			relevant: []int32{2},
			list:     []int32{0, 1, 2, 3},
			p:        1.0 / 4, r: 1, ap: 1.0 / 3 / 1,
			ndcg: (1 / l2(4)) / 1,
			rr:   1.0 / 3,
		},
	}
	for _, c := range cases {
		m := userMetrics(c.relevant, c.list)
		for _, got := range []struct {
			name      string
			got, want float64
		}{{"precision", m.Precision, c.p}, {"recall", m.Recall, c.r}, {"AP", m.MAP, c.ap}, {"NDCG", m.NDCG, c.ndcg}, {"RR", m.MRR, c.rr}} {
			if math.Abs(got.got-got.want) > 1e-12 {
				t.Errorf("%s: %s = %.6f, want %.6f", c.name, got.name, got.got, got.want)
			}
		}
	}
}

func idcg(n int) float64 {
	s := 0.0
	for k := 1; k <= n; k++ {
		s += 1 / math.Log2(float64(k)+1)
	}
	return s
}

func TestMetricsEdges(t *testing.T) {
	t.Parallel()
	if got := userMetrics(nil, nil); got != (Metrics{}) {
		t.Errorf("empty: %+v", got)
	}
	if got := userMetrics([]int32{1}, nil); got != (Metrics{}) {
		t.Errorf("empty list: %+v", got)
	}
	if got := NDCG([]int32{1, 2}, []int32{1, 2}); got != 1 {
		t.Errorf("perfect list: NDCG %v", got)
	}
}

func TestTopK(t *testing.T) {
	t.Parallel()
	scores := []float64{3, 5, 5, 1, 9, 5, 0, 7}
	cases := []struct {
		name    string
		exclude []bool
		k       int
		want    []int32
	}{
		{"ties to the lower index", nil, 5, []int32{4, 7, 1, 2, 5}},
		{"exclusions skipped", []bool{false, true, false, false, true, false, false, false}, 3, []int32{7, 2, 5}},
		{"more than there are", nil, 20, []int32{4, 7, 1, 2, 5, 0, 3, 6}},
		{"none", nil, 0, []int32{}},
	}
	for _, c := range cases {
		got := topK(scores, c.exclude, c.k, nil)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPopRankerReproducesProtocol(t *testing.T) {
	t.Parallel()
	// Items 0..4 with 3, 1, 4, 1, 5 training ratings.
	train := newMatrix(5, 5, []Rating{
		{0, 0, 1, 0}, {1, 0, 1, 0}, {2, 0, 1, 0},
		{0, 1, 1, 0},
		{0, 2, 1, 0}, {1, 2, 1, 0}, {2, 2, 1, 0}, {3, 2, 1, 0},
		{1, 3, 1, 0},
		{0, 4, 1, 0}, {1, 4, 1, 0}, {2, 4, 1, 0}, {3, 4, 1, 0}, {4, 4, 1, 0},
	}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, nil)
	fitted, err := Pop{}.Fit(t.Context(), train, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := fitted.NewRanker()
	got, _ := r.Rank(train.Row(0), 3, nil) // user 0 rated 0, 1, 2, 4
	if !slices.Equal(got, []int32{3}) {
		t.Errorf("user 0: %v, want [3]", got)
	}
	got, _ = r.Rank(nil, 3, nil)
	if !slices.Equal(got, []int32{4, 2, 0}) {
		t.Errorf("no history: %v, want [4 2 0]", got)
	}
	got, _ = r.Rank(train.Row(4), 5, nil) // user 4 rated 4
	if !slices.Equal(got, []int32{2, 0, 1, 3}) {
		t.Errorf("user 4: %v, want [2 0 1 3] (ties to the lower index)", got)
	}
}
