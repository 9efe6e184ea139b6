package eval

import (
	"context"
	"io/fs"
	"math"
	"sync"
	"testing"
)

func TestAuditHandComputed(t *testing.T) {
	t.Parallel()
	// Users: 0 F 20, 1 M 30, 2 M 40, 3 M 50. Item 0 is rated by users 0
	// and 1 (tied on both attributes), item 1 by 1 and 2 (led by M; tied on
	// age), item 2 by 0 (led by F and by <25).
	ds := &Dataset{
		Users: []string{"1", "2", "3", "4"}, Items: []string{"a", "b", "c"},
		Ratings: []Rating{{User: 0, Item: 0}, {User: 1, Item: 0}, {User: 1, Item: 1}, {User: 2, Item: 1}, {User: 0, Item: 2}},
	}
	demo := &Demographics{Age: []int{20, 30, 40, 50}, Gender: []string{"F", "M", "M", "M"}}
	rep := &Report{Results: []*Result{
		{Model: "pop", ConsentRate: 1, folds: []*foldOutput{{
			lists: [][]int32{{1, 2}, {2}, nil, nil},
			ndcg:  []float64{0.5, 1, math.NaN(), math.NaN()},
		}}},
		{Model: "no lists kept"},
	}}
	audit := Audit(rep, ds, demo)
	if len(audit) != 1 || audit[0].Model != "pop" {
		t.Fatalf("audit: %+v", audit)
	}
	// Slots: user 0 sees item 1 (raters: one M of 25-34, one M of 35-44)
	// at weight 1 and item 2 (one F of <25) at w2; user 1 sees item 2 at 1.
	w2 := 1 / math.Log2(3)
	total := 2 + w2
	want := map[string]GroupResult{
		"gender/F":  {Users: 1, RatingShare: 0.4, ExposureShare: (1 + w2) / total, LedItemShare: 1.0 / 3, LedExposureShare: (1 + w2) / total, NDCG: 0.5},
		"gender/M":  {Users: 3, RatingShare: 0.6, ExposureShare: 1 / total, LedItemShare: 1.0 / 3, LedExposureShare: 1 / total, NDCG: 1},
		"age/<25":   {Users: 1, RatingShare: 0.4, ExposureShare: (1 + w2) / total, LedItemShare: 1.0 / 3, LedExposureShare: (1 + w2) / total, NDCG: 0.5},
		"age/25-34": {Users: 1, RatingShare: 0.4, ExposureShare: 0.5 / total, NDCG: 1},
		"age/35-44": {Users: 1, RatingShare: 0.2, ExposureShare: 0.5 / total},
		"age/45+":   {Users: 1},
	}
	if len(audit[0].Groups) != len(want) {
		t.Fatalf("%d groups, want %d", len(audit[0].Groups), len(want))
	}
	for _, g := range audit[0].Groups {
		w, ok := want[g.Attribute+"/"+g.Group]
		if !ok {
			t.Errorf("unexpected group %s/%s", g.Attribute, g.Group)
			continue
		}
		w.Attribute, w.Group = g.Attribute, g.Group
		near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
		if g.Users != w.Users || !near(g.RatingShare, w.RatingShare) || !near(g.ExposureShare, w.ExposureShare) ||
			!near(g.LedItemShare, w.LedItemShare) || !near(g.LedExposureShare, w.LedExposureShare) || !near(g.NDCG, w.NDCG) {
			t.Errorf("%s/%s: %+v, want %+v", g.Attribute, g.Group, g, w)
		}
	}
}

func TestAgeBands(t *testing.T) {
	t.Parallel()
	for age, want := range map[int]int{0: -1, 7: 0, 24: 0, 25: 1, 34: 1, 35: 2, 44: 2, 45: 3, 73: 3} {
		if got := ageBand(age); got != want {
			t.Errorf("age %d: band %d, want %d", age, got, want)
		}
	}
}

// recordingFS records which files were opened.
type recordingFS struct {
	fs.FS
	mu     sync.Mutex
	opened map[string]int
}

func (r *recordingFS) Open(name string) (fs.File, error) {
	r.mu.Lock()
	r.opened[name]++
	r.mu.Unlock()
	return r.FS.Open(name)
}

func (r *recordingFS) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.opened[name]
}

// spy is a model that, whenever it trains or ranks, checks that the
// demographics have not been opened.
type spy struct {
	Model
	fsys  *recordingFS
	calls *int
	mu    *sync.Mutex
	bad   *bool
}

func (s spy) check() {
	s.mu.Lock()
	defer s.mu.Unlock()
	*s.calls++
	if s.fsys.count(fileUsers) > 0 {
		*s.bad = true
	}
}

func (s spy) Fit(ctx context.Context, train *Matrix, seed uint64) (Fitted, error) {
	s.check()
	f, err := s.Model.Fit(ctx, train, seed)
	return spyFitted{f, s}, err
}

type spyFitted struct {
	Fitted
	s spy
}

func (f spyFitted) NewRanker() Ranker { return spyRanker{f.Fitted.NewRanker(), f.s} }

type spyRanker struct {
	Ranker
	s spy
}

func (r spyRanker) Rank(history []int32, k int, dst []int32) ([]int32, error) {
	r.s.check()
	return r.Ranker.Rank(history, k, dst)
}

// TestAuditNeverFeedsRanking proves that demographics cannot reach ranking:
// u.user is opened only by the audit, after the last list was ranked; the
// lists are identical with and without the audit, and whatever u.user says.
func TestAuditNeverFeedsRanking(t *testing.T) {
	t.Parallel()
	ds := synthetic(t, 40, 30, 3, 8)
	run := func(audit bool, shift int) (*Report, *recordingFS, int) {
		fsys := &recordingFS{FS: mapFS(map[string]string{"u.data": uData(ds), "u.user": uUser(ds, shift)}), opened: map[string]int{}}
		var (
			calls int
			mu    sync.Mutex
			bad   bool
		)
		var models []Model
		for _, m := range testModels() {
			models = append(models, spy{Model: m, fsys: fsys, calls: &calls, mu: &mu, bad: &bad})
		}
		rep, err := Run(t.Context(), fsys, Options{Models: models, Folds: 3, Seed: 3, Audit: audit, KeepLists: true, ConsentRates: []float64{1, 0.5}})
		if err != nil {
			t.Fatal(err)
		}
		if bad {
			t.Error("a model trained or ranked after u.user was opened")
		}
		return rep, fsys, calls
	}
	plain, plainFS, calls := run(false, 0)
	if calls == 0 {
		t.Fatal("the spy saw no call")
	}
	if plainFS.count(fileUsers) != 0 || plain.Audit != nil {
		t.Error("u.user was read without --audit")
	}
	audited, auditFS, _ := run(true, 0)
	if auditFS.count(fileUsers) != 1 || len(audited.Audit) != 2*len(testModels()) {
		t.Errorf("u.user opened %d times, %d audit results", auditFS.count(fileUsers), len(audited.Audit))
	}
	other, _, _ := run(true, 1)
	sameResults(t, plain.Results, audited.Results)
	sameResults(t, plain.Results, other.Results)
	if audited.Audit[0].Groups[0] == other.Audit[0].Groups[0] {
		t.Error("different demographics gave the same audit: the test is not exercising them")
	}
}
