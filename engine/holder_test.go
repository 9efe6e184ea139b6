package engine_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
)

func TestHolderSwapUnderConcurrentReaders(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t, nil)
	m1 := train(t, population(twoGroups...), engine.DefaultTrainOptions())
	m2 := train(t, population(twoGroups[3:]...), engine.DefaultTrainOptions())
	if m1.Version == m2.Version {
		t.Fatal("fixture: both models have the same version")
	}
	usable := []features.Signal{sig("sig_1", consent.View, "a1", t0), sig("sig_2", consent.View, "b1", t0)}
	w := engine.DefaultWeights()
	req := personalization(6)

	h := engine.NewHolder()
	if h.Trained() {
		t.Error("Trained() before the first Swap")
	}
	empty := h.Model()
	if empty == nil || empty.Version != "empty" || empty.NumItems() != 0 {
		t.Fatalf("a new holder serves %+v, want the empty model", empty)
	}
	// What each model answers when it is alone.
	want := map[*engine.Model]engine.Result{}
	for _, m := range []*engine.Model{empty, m1, m2} {
		want[m] = m.Recommend(usable, cat, req, &w)
	}

	const readers, reads, swaps = 4, 300, 300
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range reads {
				m := h.Model()
				exp, ok := want[m]
				if !ok {
					t.Errorf("Model() returned an unknown model %p", m)
					return
				}
				if got := m.Recommend(usable, cat, req, &w); !reflect.DeepEqual(got, exp) {
					t.Errorf("model %s answered %v, want %v", m.Version, ids(got), ids(exp))
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		for k := range swaps {
			if k%2 == 0 {
				h.Swap(m1)
			} else {
				h.Swap(m2)
			}
		}
	}()
	close(start)
	wg.Wait()
	if !h.Trained() {
		t.Error("Trained() false after Swap")
	}
	if h.Model() != m2 {
		t.Errorf("after the last swap the holder serves %s, want %s", h.Model().Version, m2.Version)
	}
}

func TestTrainerTrainOnce(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := engine.NewHolder()
	tr := &engine.Trainer{
		Source:  &sliceSource{customers: population(twoGroups...)},
		Holder:  h,
		Options: engine.DefaultTrainOptions(),
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
		Now:     func() time.Time { return t0 },
	}
	m, err := tr.TrainOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h.Model() != m || !h.Trained() {
		t.Fatalf("holder serves %s (trained %v), want the new model %s", h.Model().Version, h.Trained(), m.Version)
	}
	if want := train(t, population(twoGroups...), engine.DefaultTrainOptions()); m.Version != want.Version || !m.BuiltAt.Equal(t0) {
		t.Errorf("TrainOnce built %s at %v, want %s at %v", m.Version, m.BuiltAt, want.Version, t0)
	}
	if !strings.Contains(logs.String(), m.Version) {
		t.Errorf("log does not name the model version: %q", logs.String())
	}

	// A failing run returns the error and keeps the model in use.
	boom := errors.New("redis down")
	tests := []struct {
		name string
		src  engine.TrainingSource
		opts engine.TrainOptions
	}{
		{"source fails at once", &sliceSource{err: boom}, engine.DefaultTrainOptions()},
		{"source fails midway", &sliceSource{customers: population(twoGroups[3:]...), err: boom}, engine.DefaultTrainOptions()},
		{"invalid options", &sliceSource{customers: population(twoGroups[3:]...)}, engine.TrainOptions{}},
	}
	for _, tt := range tests {
		tr.Source, tr.Options = tt.src, tt.opts
		got, err := tr.TrainOnce(context.Background())
		if err == nil || got != nil {
			t.Errorf("%s: TrainOnce = %v, %v; want an error", tt.name, got, err)
		}
		if _, ok := tt.src.(*sliceSource); ok && tt.opts.MinSupport > 0 && !errors.Is(err, boom) {
			t.Errorf("%s: error %v does not wrap the source's error", tt.name, err)
		}
		if h.Model() != m {
			t.Errorf("%s: holder serves %s, want the previous model %s", tt.name, h.Model().Version, m.Version)
		}
	}
}

func TestTrainerRunKeepsLastGoodModel(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := engine.NewHolder()
	src := &countingSource{sliceSource: sliceSource{customers: population(twoGroups...)}, failFrom: 2, ran: make(chan int, 16)}
	tr := &engine.Trainer{
		Source: src, Holder: h, Options: engine.DefaultTrainOptions(), Interval: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return t0 },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.Run(ctx)
	}()
	// Scan 1 succeeds (and its model is swapped in before scan 2 starts);
	// scans 2 and 3 fail.
	for n := range src.ran {
		if n >= 3 {
			break
		}
	}
	cancel()
	<-done // Run returns once ctx is done
	want := train(t, population(twoGroups...), engine.DefaultTrainOptions())
	if !h.Trained() || h.Model().Version != want.Version {
		t.Errorf("after failed runs the holder serves %s (trained %v), want the last good model %s", h.Model().Version, h.Trained(), want.Version)
	}
	if !strings.Contains(logs.String(), "keeping the previous model") {
		t.Errorf("a failed run was not logged: %q", logs.String())
	}
}

// countingSource reports each scan on ran and fails from scan failFrom on.
type countingSource struct {
	sliceSource
	failFrom int
	mu       sync.Mutex
	n        int
	ran      chan int
}

func (s *countingSource) ScanUsable(ctx context.Context, p consent.Purpose, now time.Time, fn func([]features.Signal) error) error {
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	defer func() {
		select {
		case s.ran <- n:
		default:
		}
	}()
	if n >= s.failFrom {
		return errors.New("scan failed")
	}
	return s.sliceSource.ScanUsable(ctx, p, now, fn)
}
