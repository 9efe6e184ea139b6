package features

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/candorhq/candor/consent"
)

// Signal is one stored customer action.
type Signal struct {
	ID         string
	Type       consent.SignalType
	ItemID     string
	Purposes   consent.PurposeSet // the consented collection purposes
	OccurredAt time.Time
	// ExpiresAt is when the signal's retention ends. Reads re-check it against
	// the retention configured now, whichever is sooner.
	ExpiresAt time.Time
	// Value is the rating (1 to 5) for rating signals, 0 otherwise.
	Value float64
}

// SignalInput is a signal as a caller sends it.
type SignalInput struct {
	Type     string
	ItemID   string
	Purposes []string
	// OccurredAt defaults to the time of the call when zero.
	OccurredAt time.Time
	Value      float64
}

// Limits on input.
const (
	MaxItemIDLen      = 128
	MaxSignalsPerCall = 500
	// MaxClockSkew is how far in the future a signal's time may be, to allow
	// for clocks that run slightly ahead.
	MaxClockSkew = time.Minute
)

// ValidateItemID checks an item id: 1 to MaxItemIDLen bytes of printable
// UTF-8 with no leading or trailing space.
func ValidateItemID(field, id string) error { return ValidateID(field, id, MaxItemIDLen) }

// ValidateID checks an identifier: 1 to maxLen bytes of printable UTF-8 with
// no leading or trailing space. The error names the field and never repeats
// the value (a customer id is personal data).
func ValidateID(field, id string, maxLen int) error {
	switch {
	case id == "":
		return invalidf(field, "required")
	case len(id) > maxLen:
		return invalidf(field, "at most %d bytes, got %d", maxLen, len(id))
	case !utf8.ValidString(id):
		return invalidf(field, "must be valid UTF-8")
	case strings.TrimSpace(id) != id:
		return invalidf(field, "must not start or end with white space")
	}
	for _, r := range id {
		if !unicode.IsPrint(r) {
			return invalidf(field, "must not contain control or invisible characters")
		}
	}
	return nil
}

// parsedSignal is a validated input: the signal to store (without id and
// purposes yet) and the collection purposes asked for.
type parsedSignal struct {
	signal    Signal
	requested consent.PurposeSet
}

// parseSignals validates a whole batch; the first problem fails it all.
func parseSignals(inputs []SignalInput, retention *Retention, now time.Time) ([]parsedSignal, error) {
	if len(inputs) == 0 {
		return nil, invalidf("signals", "at least one signal is required")
	}
	if len(inputs) > MaxSignalsPerCall {
		return nil, invalidf("signals", "at most %d signals per call, got %d: split the batch", MaxSignalsPerCall, len(inputs))
	}
	out := make([]parsedSignal, len(inputs))
	for i, in := range inputs {
		field := func(name string) string { return fmt.Sprintf("signals[%d].%s", i, name) }
		t, err := consent.ParseSignalType(field("type"), in.Type)
		if err != nil {
			return nil, err
		}
		if err := ValidateItemID(field("item_id"), in.ItemID); err != nil {
			return nil, err
		}
		if len(in.Purposes) == 0 {
			return nil, invalidf(field("purposes"), "at least one collection purpose is required (known: personalization, support, marketing_email, model_training)")
		}
		var requested consent.PurposeSet
		for j, name := range in.Purposes {
			p, err := consent.ParsePurpose(fmt.Sprintf("signals[%d].purposes[%d]", i, j), name)
			if err != nil {
				return nil, err
			}
			requested = requested.With(p)
		}
		at := in.OccurredAt
		if at.IsZero() {
			at = now
		}
		if at.After(now.Add(MaxClockSkew)) {
			return nil, invalidf(field("occurred_at"), "%s is in the future (server time %s)", at.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		if math.IsNaN(in.Value) || math.IsInf(in.Value, 0) {
			return nil, invalidf(field("value"), "must be a finite number")
		}
		if t == consent.Rating {
			if in.Value < 1 || in.Value > 5 {
				return nil, invalidf(field("value"), "a rating needs a value from 1 to 5, got %g", in.Value)
			}
		} else if in.Value != 0 {
			return nil, invalidf(field("value"), "only rating signals carry a value")
		}
		out[i] = parsedSignal{
			signal: Signal{
				Type:       t,
				ItemID:     in.ItemID,
				OccurredAt: at.UTC().Truncate(time.Millisecond),
				ExpiresAt:  at.UTC().Truncate(time.Millisecond).Add(retention.For(t)),
				Value:      in.Value,
			},
			requested: requested,
		}
	}
	return out, nil
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random identifier with the given prefix, e.g. "sig_...".
func NewID(prefix string) string {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("features: crypto/rand failed: " + err.Error())
	}
	return prefix + idEncoding.EncodeToString(b[:])
}

// ValidID reports whether id has the shape NewID(prefix) produces.
func ValidID(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) != 24 {
		return false
	}
	_, err := idEncoding.DecodeString(rest)
	return err == nil
}

// Retention is the retention period of each signal type.
type Retention struct {
	periods [consent.NumSignalTypes]time.Duration
}

// DefaultRetention returns the documented defaults (see consent.SignalTypeInfo).
func DefaultRetention() *Retention {
	var r Retention
	for _, t := range consent.SignalTypes() {
		r.periods[t] = t.Retention()
	}
	return &r
}

// Retention bounds accepted by Set.
const (
	MinRetention = time.Hour
	MaxRetention = 10 * 365 * 24 * time.Hour
)

// Set changes one type's retention.
func (r *Retention) Set(t consent.SignalType, d time.Duration) error {
	if d < MinRetention || d > MaxRetention {
		return invalidf("retention."+t.String(), "must be between %s and %s, got %s", MinRetention, MaxRetention, d)
	}
	r.periods[t] = d
	return nil
}

// For returns the retention of type t.
func (r *Retention) For(t consent.SignalType) time.Duration { return r.periods[t] }

// Expiry is when a signal's retention ends under the current settings: the
// sooner of what was stored and what applies now.
func (r *Retention) Expiry(s *Signal) time.Time {
	now := s.OccurredAt.Add(r.For(s.Type))
	if s.ExpiresAt.Before(now) {
		return s.ExpiresAt
	}
	return now
}
