package app

import (
	"context"

	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
)

// TrackSignals stores the signals the customer's purposes allow and says,
// signal by signal, what was stored and why anything was dropped.
func (a *App) TrackSignals(ctx context.Context, who Actor, customerID string, inputs []features.SignalInput) ([]features.TrackResult, error) {
	p, err := a.customer(ctx, OpTrackSignals, who, customerID)
	if err != nil {
		return nil, err
	}
	if n := len(inputs); n > features.MaxSignalsPerCall {
		return nil, fault.Invalidf("signals: at most %d signals per call, got %d: split the batch", features.MaxSignalsPerCall, n)
	}
	return a.store.Track(ctx, p, inputs, a.now())
}
