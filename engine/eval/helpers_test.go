package eval

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/fstest"
)

// synthetic is a small clustered dataset: user u belongs to cluster u mod
// clusters and rates mostly the items of its cluster (item i belongs to
// cluster i mod clusters), a few others at random, and item popularity
// falls with the item index so that popularity is informative too.
func synthetic(tb testing.TB, users, items, clusters int, seed uint64) *Dataset {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	ds := &Dataset{Layout: LayoutML100K}
	for i := range items {
		ds.Items = append(ds.Items, fmt.Sprint(1000+i))
	}
	for u := range users {
		ds.Users = append(ds.Users, fmt.Sprint(u+1))
	}
	// First one rating per user, in user order, so that dense user indexes
	// match ds.Users whatever the rest is.
	type pair struct{ u, i int }
	var pairs []pair
	for u := range users {
		for i := range items {
			p := 0.03
			if i%clusters == u%clusters {
				p = 0.6 * (1 - float64(i)/float64(2*items))
			}
			if rng.Float64() < p {
				pairs = append(pairs, pair{u, i})
			}
		}
	}
	rng.Shuffle(len(pairs), func(a, b int) { pairs[a], pairs[b] = pairs[b], pairs[a] })
	first := make([]bool, users)
	var head, tail []Rating
	for n, p := range pairs {
		r := Rating{User: int32(p.u), Item: int32(p.i), Value: float64(1 + n%5), Time: int64(880000000 + n)}
		if !first[p.u] {
			first[p.u] = true
			head = append(head, r)
		} else {
			tail = append(tail, r)
		}
	}
	for u := range users {
		if !first[u] {
			tb.Fatalf("synthetic: user %d rated nothing; use more items", u)
		}
	}
	// head is in shuffled order; sort it by user so index u is ds.Users[u].
	byUser := make([]Rating, users)
	for _, r := range head {
		byUser[r.User] = r
	}
	ds.Ratings = append(byUser, tail...)
	return ds
}

// uData renders ds in the u.data layout, items by raw id.
func uData(ds *Dataset) string {
	var b strings.Builder
	for _, r := range ds.Ratings {
		fmt.Fprintf(&b, "%s\t%s\t%g\t%d\n", ds.Users[r.User], ds.Items[r.Item], r.Value, r.Time)
	}
	return b.String()
}

// uUser renders demographics for users 1..n of ds in the u.user layout:
// ages and genders cycle, offset by shift.
func uUser(ds *Dataset, shift int) string {
	ages := []int{19, 27, 38, 52, 23, 61}
	var b strings.Builder
	for n, id := range ds.Users {
		g := "M"
		if (n+shift)%3 == 0 {
			g = "F"
		}
		fmt.Fprintf(&b, "%s|%d|%s|other|00000\n", id, ages[(n+shift)%len(ages)], g)
	}
	return b.String()
}

// mapFS holds a dataset directory in memory.
func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	return fsys
}
