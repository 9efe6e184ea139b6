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
	st := engine.NewALSStore(r.Client, r.Namespace)
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

// TestFollowRefusesStaleModels: a server does not serve an ALS model older
// than the maximum age (co-occurrence answers), and drops the one it serves
// once it grows too old.
func TestFollowRefusesStaleModels(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := redistest.New(t)
	st := engine.NewALSStore(r.Client, r.Namespace)
	f := randomFactors(t, 200, 4)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	if err := st.Save(ctx, storedModel(t, f, "als-fresh", now.Add(-time.Hour)), 2); err != nil {
		t.Fatal(err)
	}
	h := engine.NewHolder()
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
	go st.Follow(ctx, h, 5*time.Millisecond, 24*time.Hour, clock, log)
	waitUntil(t, func() bool { return h.ALSVersion() == "als-fresh" })

	mu.Lock()
	now = now.Add(24 * time.Hour)
	mu.Unlock()
	waitUntil(t, func() bool { return h.ALSVersion() == "" })

	if err := st.Save(ctx, storedModel(t, f, "als-ancient", now.Add(-48*time.Hour)), 2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if v := h.ALSVersion(); v != "" {
		t.Fatalf("a model trained 48h ago is served: %s", v)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "older than the maximum age") {
		t.Fatalf("the refusal is not logged: %s", logs.String())
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
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
