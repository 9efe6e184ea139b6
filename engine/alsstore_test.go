package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/internal/redistest"
)

func storedModel(tb testing.TB, f *engine.Factors, name string, at time.Time) *engine.ALSModel {
	tb.Helper()
	ids := make([]string, f.NumItems())
	for i := range ids {
		ids[i] = fmt.Sprintf("item%03d", i)
	}
	m, err := engine.NewALSModel(engine.ALSInfo{Version: name, TrainedAt: at, Items: len(ids),
		Options: engine.ALSOptions{Factors: f.Dim(), Lambda: 1, Alpha: 1}}, ids, f)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestALSStoreOverlappingTrainings: two `candor train` runs committing at
// the same time never leave the current pointer on a pruned version or on
// the older training, and keep no more than asked.
func TestALSStoreOverlappingTrainings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := redistest.New(t)
	st := engine.NewALSStore(r.Client, r.Keyspace())
	f := randomFactors(t, 200, 4)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for n := 0; n < 60; n++ {
		older := storedModel(t, f, fmt.Sprintf("als-old-%d", n), base.Add(time.Duration(2*n)*time.Minute))
		newer := storedModel(t, f, fmt.Sprintf("als-new-%d", n), base.Add(time.Duration(2*n+1)*time.Minute))
		var wg sync.WaitGroup
		for _, m := range []*engine.ALSModel{older, newer} {
			wg.Go(func() {
				if err := st.Save(ctx, m, 1); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		cur, err := st.Current(ctx)
		if err != nil || cur != newer.Info.Version {
			t.Fatalf("run %d: current is %q (%v), want the newer training %s", n, cur, err, newer.Info.Version)
		}
		if _, err := st.Load(ctx, cur); err != nil {
			t.Fatalf("run %d: the current version cannot be loaded: %v", n, err)
		}
		if versions, _ := st.Versions(ctx); len(versions) != 1 {
			t.Fatalf("run %d: %d versions kept, want 1", n, len(versions))
		}
	}
}

// TestALSStoreFollowRefusesStaleModels: a server does not serve an ALS
// model older than the maximum age (co-occurrence answers), drops the one
// it serves once it grows too old, does not load a too-old current version
// again at every check, and serves a new version again. Each step is one
// check of Follow on a fixed clock, so the outcome of every check is
// asserted, with no ticker and no sleeping.
func TestALSStoreFollowRefusesStaleModels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := redistest.New(t)
	st := engine.NewALSStore(r.Client, r.Keyspace())
	f := randomFactors(t, 200, 4)
	const maxAge = 24 * time.Hour
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var logs bytes.Buffer
	h := engine.NewHolder()
	check := engine.FollowCheck(st, h, maxAge, clock, slog.New(slog.NewTextHandler(&logs, nil)))
	const dropped = "is older than the maximum age and is no longer served"
	const refused = "the current ALS model is older than the maximum age; not serving it"
	expect := func(step, version string, drops, refusals int) {
		t.Helper()
		if v := h.ALSVersion(); v != version {
			t.Fatalf("%s: serving %q, want %q", step, v, version)
		}
		if n, m := strings.Count(logs.String(), dropped), strings.Count(logs.String(), refused); n != drops || m != refusals {
			t.Fatalf("%s: %d drops and %d refusals logged, want %d and %d:\n%s", step, n, m, drops, refusals, logs.String())
		}
		if strings.Contains(logs.String(), "level=ERROR") {
			t.Fatalf("%s: an error is logged:\n%s", step, logs.String())
		}
	}

	check(ctx)
	expect("no model trained yet", "", 0, 0)

	if err := st.Save(ctx, storedModel(t, f, "als-fresh", now.Add(-time.Hour)), 2); err != nil {
		t.Fatal(err)
	}
	check(ctx)
	expect("a fresh model", "als-fresh", 0, 0)
	loaded := h.Models().ALS
	check(ctx)
	expect("the same version again", "als-fresh", 0, 0)
	if h.Models().ALS != loaded {
		t.Fatal("an unchanged version was loaded again")
	}

	now = now.Add(maxAge - time.Hour) // als-fresh is exactly maxAge old
	check(ctx)
	expect("a model of exactly the maximum age", "als-fresh", 0, 0)

	now = now.Add(time.Minute)
	check(ctx)
	expect("the served model grew too old", "", 1, 1)
	for range 3 {
		check(ctx)
	}
	expect("the too-old current version at later checks", "", 1, 1)

	if err := st.Save(ctx, storedModel(t, f, "als-new", now), 2); err != nil {
		t.Fatal(err)
	}
	check(ctx)
	expect("a new version after a too-old one", "als-new", 1, 1)

	// A server that starts when the current version is already too old
	// does not serve it, from its first check on.
	r2 := redistest.New(t)
	st2 := engine.NewALSStore(r2.Client, r2.Keyspace())
	if err := st2.Save(ctx, storedModel(t, f, "als-ancient", now.Add(-2*maxAge)), 2); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	h = engine.NewHolder()
	check = engine.FollowCheck(st2, h, maxAge, clock, slog.New(slog.NewTextHandler(&logs, nil)))
	check(ctx)
	check(ctx)
	expect("a current version too old from the start", "", 0, 1)
}

// TestALSStoreFollowPolls: Follow checks at start and then every interval,
// and returns when its context is done. The waits are bounded waits for
// events that must happen; TestALSStoreFollowRefusesStaleModels covers what
// each check does.
func TestALSStoreFollowPolls(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := redistest.New(t)
	st := engine.NewALSStore(r.Client, r.Keyspace())
	f := randomFactors(t, 200, 4)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := st.Save(ctx, storedModel(t, f, "als-1", now.Add(-2*time.Hour)), 2); err != nil {
		t.Fatal(err)
	}
	h := engine.NewHolder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.Follow(ctx, h, time.Millisecond, 24*time.Hour, func() time.Time { return now }, slog.New(slog.DiscardHandler))
	}()
	waitUntil(t, func() bool { return h.ALSVersion() == "als-1" })
	if err := st.Save(ctx, storedModel(t, f, "als-2", now.Add(-time.Hour)), 2); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return h.ALSVersion() == "als-2" })
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not return within 10s of its context being done")
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
