package app

import (
	"context"
	"sync"
	"time"
)

// Run does the core's background work until ctx is done: it trains the
// co-occurrence model first if none is in use (then closes trained, if not
// nil), then retrains every model refresh interval, sweeps signals past
// their retention, runs erasure follow-ups and follows new ALS model
// versions. It returns once all of it has stopped, so none of it outlives
// the store.
func (a *App) Run(ctx context.Context, trained chan<- struct{}) {
	if !a.models.Trained() {
		if err := a.TrainNow(ctx); err != nil {
			a.log.ErrorContext(ctx, "initial model training failed; serving catalogue fallbacks until the next run", "err", err)
		}
	}
	if trained != nil {
		close(trained)
	}
	var background sync.WaitGroup
	background.Go(func() { a.trainer.Run(ctx) })
	background.Go(func() { a.sweep(ctx) })
	background.Go(func() { a.RunFollowUps(ctx) })
	background.Go(func() { a.alsModels.Follow(ctx, a.models, a.cfg.ModelPoll, a.cfg.ModelMaxAge, a.now, a.log) })
	background.Wait()
}

// sweep deletes signals past their retention every model refresh interval.
func (a *App) sweep(ctx context.Context) {
	ticker := time.NewTicker(a.cfg.ModelRefresh)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			n, err := a.store.SweepExpired(ctx, a.now())
			switch {
			case err != nil && ctx.Err() == nil:
				a.log.ErrorContext(ctx, "retention sweep failed", "err", err)
			case n > 0:
				a.log.InfoContext(ctx, "retention sweep", "deleted_signals", n)
			}
		}
	}
}
