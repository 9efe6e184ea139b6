package eval

import (
	"math/rand/v2"
	"slices"
)

// newRand returns the harness's seeded generator; stream separates the uses
// of one seed (the fold shuffle, the consent draw, validation carving).
func newRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x6a09e667f3bcc909^stream))
}

// Random streams.
const (
	streamFolds uint64 = iota + 1
	streamConsent
	streamValidation
)

// KFold shuffles the indexes 0..n-1 once with a generator seeded by seed and
// cuts them into k chunks of equal size (the first n mod k chunks hold one
// more), as Gorse's k-fold splitter does. Fold f tests on chunk f and trains
// on the others.
func KFold(n, k int, seed uint64) [][]int {
	perm := newRand(seed, streamFolds).Perm(n)
	chunks := make([][]int, k)
	begin := 0
	for f := range k {
		end := begin + n/k
		if f < n%k {
			end++
		}
		chunks[f] = perm[begin:end:end]
		begin = end
	}
	return chunks
}

// Matrix is a users × items set of (user, item) pairs in compressed sparse
// row form, items ascending within a row.
type Matrix struct {
	NumUsers, NumItems int
	Indptr             []int
	Items              []int32
}

// Row returns user u's items.
func (m *Matrix) Row(u int) []int32 { return m.Items[m.Indptr[u]:m.Indptr[u+1]] }

// Len returns the number of pairs.
func (m *Matrix) Len() int { return len(m.Items) }

// newMatrix builds the matrix of the given ratings, keeping those for which
// keep is nil or true.
func newMatrix(numUsers, numItems int, ratings []Rating, idx []int, keep func(Rating) bool) *Matrix {
	m := &Matrix{NumUsers: numUsers, NumItems: numItems, Indptr: make([]int, numUsers+1)}
	for _, j := range idx {
		if r := ratings[j]; keep == nil || keep(r) {
			m.Indptr[r.User+1]++
		}
	}
	for u := range numUsers {
		m.Indptr[u+1] += m.Indptr[u]
	}
	m.Items = make([]int32, m.Indptr[numUsers])
	next := slices.Clone(m.Indptr[:numUsers])
	for _, j := range idx {
		if r := ratings[j]; keep == nil || keep(r) {
			m.Items[next[r.User]] = r.Item
			next[r.User]++
		}
	}
	for u := range numUsers {
		slices.Sort(m.Items[m.Indptr[u]:m.Indptr[u+1]])
	}
	return m
}

// filter returns the matrix holding only the rows of users for whom keep is
// true (the others become empty).
func (m *Matrix) filter(keep []bool) *Matrix {
	out := &Matrix{NumUsers: m.NumUsers, NumItems: m.NumItems, Indptr: make([]int, m.NumUsers+1)}
	for u := range m.NumUsers {
		if keep[u] {
			out.Items = append(out.Items, m.Row(u)...)
		}
		out.Indptr[u+1] = len(out.Items)
	}
	return out
}

// holdOut carves a validation set out of a training matrix by the same
// protocol as the folds: its pairs are shuffled with a seeded generator and
// the first share of them (rounded down) become the validation set.
func (m *Matrix) holdOut(share float64, seed uint64) (train, valid *Matrix) {
	pairs := make([]Rating, 0, m.Len())
	for u := range m.NumUsers {
		for _, i := range m.Row(u) {
			pairs = append(pairs, Rating{User: int32(u), Item: i})
		}
	}
	perm := newRand(seed, streamValidation).Perm(len(pairs))
	cut := int(share * float64(len(pairs)))
	return newMatrix(m.NumUsers, m.NumItems, pairs, perm[cut:], nil), newMatrix(m.NumUsers, m.NumItems, pairs, perm[:cut], nil)
}

// Fold is one train/test split over all users and items of a dataset.
type Fold struct {
	Train, Test *Matrix
}

// Folds splits ds into k folds with KFold.
func Folds(ds *Dataset, k int, seed uint64) []Fold {
	chunks := KFold(len(ds.Ratings), k, seed)
	folds := make([]Fold, k)
	for f := range k {
		train := make([]int, 0, len(ds.Ratings)-len(chunks[f]))
		for g := range k {
			if g != f {
				train = append(train, chunks[g]...)
			}
		}
		folds[f] = Fold{
			Train: newMatrix(ds.NumUsers(), ds.NumItems(), ds.Ratings, train, nil),
			Test:  newMatrix(ds.NumUsers(), ds.NumItems(), ds.Ratings, chunks[f], nil),
		}
	}
	return folds
}

// drawConsent returns which users consent to model training and
// personalisation: exactly round(rate × users) of them, chosen by a seeded
// shuffle.
func drawConsent(numUsers int, rate float64, seed uint64) []bool {
	consents := make([]bool, numUsers)
	n := int(rate*float64(numUsers) + 0.5)
	for _, u := range newRand(seed, streamConsent).Perm(numUsers)[:n] {
		consents[u] = true
	}
	return consents
}
