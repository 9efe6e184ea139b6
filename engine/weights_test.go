package engine_test

import (
	"math"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
)

func TestWeightsAt(t *testing.T) {
	t.Parallel()
	const halfLife = 10 * time.Hour
	decaying := engine.DefaultWeights()
	decaying.HalfLife = halfLife
	steep := decaying
	steep.PerType[consent.Rating] = 2.5
	flat := engine.DefaultWeights()
	flat.HalfLife = 0

	ago := func(d time.Duration) time.Time { return t0.Add(-d) }
	tests := []struct {
		name string
		w    engine.Weights
		s    features.Signal
		want float64
	}{
		{"view now", decaying, sig("s", consent.View, "i", t0), 1},
		{"view one half-life ago", decaying, sig("s", consent.View, "i", ago(halfLife)), 0.5},
		{"view two half-lives ago", decaying, sig("s", consent.View, "i", ago(2*halfLife)), 0.25},
		{"view three half-lives ago", decaying, sig("s", consent.View, "i", ago(3*halfLife)), 0.125},
		{"view from the future", decaying, sig("s", consent.View, "i", t0.Add(time.Minute)), 1},
		{"search now", decaying, sig("s", consent.Search, "i", t0), 1},
		{"add to cart one half-life ago", decaying, sig("s", consent.AddToCart, "i", ago(halfLife)), 1},
		{"purchase now", decaying, sig("s", consent.Purchase, "i", t0), 4},
		{"purchase one half-life ago", decaying, sig("s", consent.Purchase, "i", ago(halfLife)), 2},
		{"support ticket now", decaying, sig("s", consent.SupportTicket, "i", t0), 2},
		{"5 stars", decaying, rating("s", "i", 5, t0), 2},
		{"4 stars", decaying, rating("s", "i", 4, t0), 1},
		{"3 stars is neutral", decaying, rating("s", "i", 3, t0), 0},
		{"3 stars long ago", decaying, rating("s", "i", 3, ago(7*halfLife)), 0},
		{"2 stars", decaying, rating("s", "i", 2, t0), -1},
		{"1 star", decaying, rating("s", "i", 1, t0), -2},
		{"1 star one half-life ago", decaying, rating("s", "i", 1, ago(halfLife)), -1},
		{"4 stars two half-lives ago", decaying, rating("s", "i", 4, ago(2*halfLife)), 0.25},
		{"5 stars at 2.5 per star", steep, rating("s", "i", 5, t0), 5},
		{"1 star at 2.5 per star", steep, rating("s", "i", 1, t0), -5},
		{"4 stars at 2.5 per star, one half-life ago", steep, rating("s", "i", 4, ago(halfLife)), 1.25},
		{"no decay: old view", flat, sig("s", consent.View, "i", ago(5*365*24*time.Hour)), 1},
		{"no decay: old purchase", flat, sig("s", consent.Purchase, "i", ago(1000*time.Hour)), 4},
		{"no decay: old 1 star", flat, rating("s", "i", 1, ago(1000*time.Hour)), -2},
		{"default half-life is 30 days", engine.DefaultWeights(), sig("s", consent.Purchase, "i", ago(30*24*time.Hour)), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.w.At(&tt.s, t0); got != tt.want {
				t.Errorf("At = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWeightsDecayIsExponential(t *testing.T) {
	t.Parallel()
	w := engine.DefaultWeights()
	w.HalfLife = 10 * time.Hour
	for _, frac := range []float64{0.25, 0.5, 1.5, 3.75} {
		s := sig("s", consent.View, "i", t0.Add(-time.Duration(frac*float64(w.HalfLife))))
		if got, want := w.At(&s, t0), math.Pow(0.5, frac); math.Abs(got-want) > 1e-15 {
			t.Errorf("view %.2f half-lives old weighs %v, want %v", frac, got, want)
		}
	}
}

func TestDefaultTrainOptionsAreValid(t *testing.T) {
	t.Parallel()
	o := engine.DefaultTrainOptions()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.MinSupport < 2 {
		t.Errorf("default MinSupport %d is below the privacy minimum of 2", o.MinSupport)
	}
	if o.Weights != engine.DefaultWeights() {
		t.Errorf("default options carry weights %+v, want DefaultWeights", o.Weights)
	}
}
