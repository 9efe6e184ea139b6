package eval

import (
	"slices"
	"testing"
)

func TestKFoldPartitions(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ n, k int }{{103, 5}, {100, 5}, {7, 3}, {10, 10}} {
		chunks := KFold(c.n, c.k, 42)
		if len(chunks) != c.k {
			t.Fatalf("n=%d k=%d: %d chunks", c.n, c.k, len(chunks))
		}
		seen := make([]int, c.n)
		for f, ch := range chunks {
			want := c.n / c.k
			if f < c.n%c.k {
				want++
			}
			if len(ch) != want {
				t.Errorf("n=%d k=%d: chunk %d holds %d, want %d", c.n, c.k, f, len(ch), want)
			}
			for _, j := range ch {
				seen[j]++
			}
		}
		for j, s := range seen {
			if s != 1 {
				t.Errorf("n=%d k=%d: index %d in %d chunks", c.n, c.k, j, s)
			}
		}
	}
}

func TestKFoldDeterministic(t *testing.T) {
	t.Parallel()
	a, b, c := KFold(500, 5, 7), KFold(500, 5, 7), KFold(500, 5, 8)
	same := func(x, y [][]int) bool { return slices.EqualFunc(x, y, slices.Equal) }
	if !same(a, b) {
		t.Error("the same seed gave different folds")
	}
	if same(a, c) {
		t.Error("different seeds gave the same folds")
	}
	if slices.IsSorted(a[0]) {
		t.Error("chunk 0 is sorted: the ratings were not shuffled")
	}
}

func TestFoldsSplitEveryRating(t *testing.T) {
	t.Parallel()
	ds := synthetic(t, 30, 40, 3, 1)
	folds := Folds(ds, 5, 3)
	for f, fold := range folds {
		if got := fold.Train.Len() + fold.Test.Len(); got != len(ds.Ratings) {
			t.Fatalf("fold %d: %d train + test pairs, want %d", f, got, len(ds.Ratings))
		}
		for _, r := range ds.Ratings {
			inTrain := contains(fold.Train.Row(int(r.User)), r.Item)
			inTest := contains(fold.Test.Row(int(r.User)), r.Item)
			if inTrain == inTest {
				t.Fatalf("fold %d: rating (%d, %d) in train %t, in test %t", f, r.User, r.Item, inTrain, inTest)
			}
		}
	}
	// Each rating is tested exactly once over the folds.
	tested := 0
	for _, fold := range folds {
		tested += fold.Test.Len()
	}
	if tested != len(ds.Ratings) {
		t.Errorf("%d ratings tested over all folds, want %d", tested, len(ds.Ratings))
	}
}

func TestHoldOut(t *testing.T) {
	t.Parallel()
	ds := synthetic(t, 30, 40, 3, 2)
	train := Folds(ds, 5, 1)[0].Train
	inner, valid := train.holdOut(0.1, 9)
	if want := int(0.1 * float64(train.Len())); valid.Len() != want {
		t.Errorf("validation holds %d pairs, want %d", valid.Len(), want)
	}
	for u := range train.NumUsers {
		merged := append(slices.Clone(inner.Row(u)), valid.Row(u)...)
		slices.Sort(merged)
		if !slices.Equal(merged, train.Row(u)) {
			t.Fatalf("user %d: inner ∪ validation differs from the training row", u)
		}
	}
	inner2, _ := train.holdOut(0.1, 9)
	if !slices.Equal(inner.Items, inner2.Items) {
		t.Error("hold-out is not deterministic for a seed")
	}
}

func TestDrawConsent(t *testing.T) {
	t.Parallel()
	count := func(b []bool) int {
		n := 0
		for _, x := range b {
			if x {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		rate float64
		want int
	}{{1, 943}, {0.8, 754}, {0.5, 472}, {0.2, 189}, {0, 0}} {
		if got := count(drawConsent(943, c.rate, 5)); got != c.want {
			t.Errorf("rate %g: %d consent, want %d", c.rate, got, c.want)
		}
	}
	if !slices.Equal(drawConsent(100, 0.5, 5), drawConsent(100, 0.5, 5)) {
		t.Error("the consent draw is not deterministic for a seed")
	}
}
