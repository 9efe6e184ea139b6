package eval_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/engine/eval"
)

// BenchmarkFitALSMovieLens trains the default ALS model (what `candor train`
// fits) on every rating of a MovieLens directory, with both cores:
//
//	CANDOR_EVAL_DATASET=/path/to/ml-100k go test -run '^$' -bench FitALSMovieLens ./engine/eval/
//
// The data is read from where it lies; without the variable the benchmark
// has nothing to train on and says so.
func BenchmarkFitALSMovieLens(b *testing.B) {
	dir := os.Getenv("CANDOR_EVAL_DATASET")
	if dir == "" {
		b.Skip("set CANDOR_EVAL_DATASET to a MovieLens directory (u.data or ratings.csv)")
	}
	ds, err := eval.Load(os.DirFS(dir))
	if err != nil {
		b.Fatal(err)
	}
	rows := make([][]int32, ds.NumUsers())
	for _, r := range ds.Ratings {
		rows[r.User] = append(rows[r.User], int32(r.Item))
	}
	m := &engine.Interactions{NumUsers: ds.NumUsers(), NumItems: ds.NumItems(), Indptr: []int{0}}
	for _, row := range rows {
		slices.Sort(row)
		row = slices.Compact(row)
		for _, i := range row {
			m.Items = append(m.Items, i)
			m.Values = append(m.Values, 1)
		}
		m.Indptr = append(m.Indptr, len(m.Items))
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := engine.FitALS(context.Background(), m, engine.DefaultALSOptions()); err != nil {
			b.Fatal(err)
		}
	}
}
