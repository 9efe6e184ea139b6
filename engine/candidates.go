package engine

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
)

// Candidate generation for large catalogues. Scoring every item reads every
// item's factors: at 100,000 items × 64 factors that is 51 MB per request,
// bound by memory bandwidth (about 10 ms here). Above CandidateThreshold
// items, the model instead keeps an inverted-file index: the items are
// clustered (k-means on their factors, √n clusters, items assigned by largest
// inner product); a request scores the cluster centroids with the customer's
// vector, then only the items of the best clusters, until CandidateBudget
// items are scored. The cost then stops growing with the catalogue (the
// centroids grow as √n, a few thousand multiplications). Clustering is on
// directions (spherical k-means: unit vectors, cosine assignment), which
// keeps clusters balanced; assigning raw vectors by inner product lets a few
// long centroids swallow most items. It is an
// approximation of the exact ranking (measured in BenchmarkALSRecommend as
// recall of the exact top 10, for customers of one taste and of many);
// contributions stay exact for the items chosen.

// Candidate generation parameters.
const (
	CandidateThreshold = 20_000
	CandidateBudget    = 8192
	kmeansIterations   = 4
)

type candidateIndex struct {
	k         int
	centroids []float64 // C×k
	members   [][]int32 // per cluster
}

// buildCandidateIndex clusters the items' factors. It is deterministic for a
// given model.
func buildCandidateIndex(f *Factors, seed uint64) *candidateIndex {
	n, k := f.n, f.k
	c := int(math.Round(math.Sqrt(float64(n))))
	ix := &candidateIndex{k: k, centroids: make([]float64, c*k), members: make([][]int32, c)}
	unit := make([]float64, n*k) // the items' directions
	zero := make([]bool, n)      // items whose factors are zero score 0 for everyone
	for i := 0; i < n; i++ {
		u := unit[i*k : (i+1)*k]
		copy(u, f.Item(i))
		zero[i] = !normalize(u)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for ci, i := range rng.Perm(n)[:c] {
		copy(ix.centroids[ci*k:(ci+1)*k], unit[i*k:(i+1)*k])
	}
	assign := make([]int32, n)
	const block = 4096
	sims := make([]float64, block*c)
	for it := 0; it < kmeansIterations; it++ {
		// Assign each item to the centroid of largest inner product, a block
		// of items at a time (one matrix product per block).
		for lo := 0; lo < n; lo += block {
			hi := min(lo+block, n)
			rows := hi - lo
			blas64.Gemm(blas.NoTrans, blas.Trans, 1,
				blas64.General{Rows: rows, Cols: k, Stride: k, Data: unit[lo*k : hi*k]},
				blas64.General{Rows: c, Cols: k, Stride: k, Data: ix.centroids}, 0,
				blas64.General{Rows: rows, Cols: c, Stride: c, Data: sims[:rows*c]})
			for r := 0; r < rows; r++ {
				assign[lo+r] = int32(floats.MaxIdx(sims[r*c : (r+1)*c]))
			}
		}
		// Move each centroid to the direction of its items' sum (an empty
		// cluster keeps its centroid).
		counts := make([]int, c)
		next := make([]float64, c*k)
		for i, a := range assign {
			if !zero[i] {
				counts[a]++
				floats.Add(next[int(a)*k:(int(a)+1)*k], unit[i*k:(i+1)*k])
			}
		}
		for ci := 0; ci < c; ci++ {
			if counts[ci] > 0 && normalize(next[ci*k:(ci+1)*k]) {
				copy(ix.centroids[ci*k:(ci+1)*k], next[ci*k:(ci+1)*k])
			}
		}
	}
	for i, a := range assign {
		if !zero[i] { // a zero item can never score above 0, so never be recommended
			ix.members[a] = append(ix.members[a], int32(i))
		}
	}
	return ix
}

// candidateScratch is a request's memory for candidate generation.
type candidateScratch struct {
	clusterScores []float64
	order         []int32
	items         []int32
}

// candidates scores the centroids with x and returns the members of the best
// clusters, at least budget items (or all).
func (ix *candidateIndex) candidates(x []float64, budget int, sc *candidateScratch) []int32 {
	c := len(ix.members)
	if cap(sc.clusterScores) < c {
		sc.clusterScores, sc.order = make([]float64, c), make([]int32, c)
	}
	scores, order := sc.clusterScores[:c], sc.order[:c]
	blas64.Gemv(blas.NoTrans, 1, blas64.General{Rows: c, Cols: ix.k, Stride: ix.k, Data: ix.centroids},
		blas64.Vector{N: ix.k, Inc: 1, Data: x}, 0, blas64.Vector{N: c, Inc: 1, Data: scores})
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(scores[b], scores[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	sc.items = sc.items[:0]
	for _, ci := range order {
		if len(sc.items) >= budget {
			break
		}
		sc.items = append(sc.items, ix.members[ci]...)
	}
	return sc.items
}

// normalize scales v to unit length; it reports false (and leaves v) when v
// is zero.
func normalize(v []float64) bool {
	norm := floats.Norm(v, 2)
	if norm == 0 {
		return false
	}
	floats.Scale(1/norm, v)
	return true
}
