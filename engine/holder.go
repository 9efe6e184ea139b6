package engine

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Holder holds the model in use. Requests take the current model with one
// atomic load; a new model is swapped in atomically, so requests in flight
// finish on the model they started with and none fail during a swap.
type Holder struct {
	current atomic.Pointer[Model]
	als     atomic.Pointer[ALSModel]
	trained atomic.Bool
}

// NewHolder returns a holder serving the empty model.
func NewHolder() *Holder {
	h := &Holder{}
	h.current.Store(EmptyModel())
	return h
}

// Model returns the model in use.
func (h *Holder) Model() *Model { return h.current.Load() }

// Swap installs a new model.
func (h *Holder) Swap(m *Model) {
	h.current.Store(m)
	h.trained.Store(true)
}

// Models returns the models in use, read together.
func (h *Holder) Models() Models { return Models{ALS: h.als.Load(), Cooc: h.current.Load()} }

// SwapALS installs a new ALS model.
func (h *Holder) SwapALS(m *ALSModel) { h.als.Store(m) }

// ALSVersion returns the version of the ALS model in use, or "".
func (h *Holder) ALSVersion() string {
	if m := h.als.Load(); m != nil {
		return m.Info.Version
	}
	return ""
}

// Trained reports whether a trained model has been installed.
func (h *Holder) Trained() bool { return h.trained.Load() }

// Trainer rebuilds the model from the store at start and then periodically.
type Trainer struct {
	Source   TrainingSource
	Holder   *Holder
	Options  TrainOptions
	Interval time.Duration
	Logger   *slog.Logger
	Now      func() time.Time
}

// TrainOnce builds a model now and swaps it in.
func (t *Trainer) TrainOnce(ctx context.Context) (*Model, error) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	start := time.Now()
	m, err := Train(ctx, t.Source, now(), t.Options)
	if err != nil {
		return nil, err
	}
	t.Holder.Swap(m)
	if t.Logger != nil {
		t.Logger.InfoContext(ctx, "model trained",
			"version", m.Version, "items", m.NumItems(), "customers", m.Customers,
			"signals", m.Signals, "duration_ms", time.Since(start).Milliseconds())
	}
	return m, nil
}

// Run trains every Interval until ctx is done. A failed run is logged and the
// previous model stays in use.
func (t *Trainer) Run(ctx context.Context) {
	ticker := time.NewTicker(t.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if _, err := t.TrainOnce(ctx); err != nil && ctx.Err() == nil && t.Logger != nil {
				t.Logger.ErrorContext(ctx, "model training failed; keeping the previous model", "err", err)
			}
		}
	}
}
