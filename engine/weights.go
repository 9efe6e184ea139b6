package engine

import (
	"math"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// Weights say how strongly each signal type counts, and how fast a signal's
// weight fades with age when scoring.
type Weights struct {
	// PerType is the weight of one signal of each type. Rating signals are
	// weighted by (value - 3) times PerType[Rating], so 4 and 5 stars count
	// for, 3 is neutral, and 1 and 2 stars count against.
	PerType [consent.NumSignalTypes]float64
	// HalfLife halves a signal's weight every HalfLife of age. Zero
	// disables decay.
	HalfLife time.Duration
}

// DefaultWeights: view 1, search 1, add_to_cart 2, purchase 4, rating ±1 per
// star from 3, support_ticket 2; half-life 30 days.
func DefaultWeights() Weights {
	var w Weights
	w.PerType[consent.View] = 1
	w.PerType[consent.Search] = 1
	w.PerType[consent.AddToCart] = 2
	w.PerType[consent.Purchase] = 4
	w.PerType[consent.Rating] = 1
	w.PerType[consent.SupportTicket] = 2
	w.HalfLife = 30 * 24 * time.Hour
	return w
}

// base is a signal's weight before decay.
func (w *Weights) base(s *features.Signal) float64 {
	if s.Type == consent.Rating {
		return (s.Value - 3) * w.PerType[consent.Rating]
	}
	return w.PerType[s.Type]
}

// At returns a signal's weight at time now.
func (w *Weights) At(s *features.Signal, now time.Time) float64 {
	b := w.base(s)
	if w.HalfLife <= 0 || b == 0 {
		return b
	}
	age := now.Sub(s.OccurredAt)
	if age <= 0 {
		return b
	}
	return b * math.Exp2(-float64(age)/float64(w.HalfLife))
}
