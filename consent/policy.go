package consent

import (
	"fmt"
	"time"
)

// Policy is one version of the marketer's signal-set policy: for each
// purpose, the signal types allowed to feed it. Versions are immutable.
type Policy struct {
	Version    int64
	AuthorRole string
	CreatedAt  time.Time
	Allowed    [numPurposes]SignalTypeSet
}

// DefaultPolicyAuthor is the author of version 1, the built-in defaults.
const DefaultPolicyAuthor = "default"

// DefaultPolicy is version 1: what applies until a marketer changes it.
//   - personalization: view, add_to_cart, purchase, search, rating
//   - support: purchase, rating, support_ticket
//   - marketing_email: view, add_to_cart, purchase
//   - model_training: view, add_to_cart, purchase, rating (no search
//     history, no support requests)
func DefaultPolicy() Policy {
	var p Policy
	p.Version = 1
	p.AuthorRole = DefaultPolicyAuthor
	p.Allowed[Personalization] = NewSignalTypeSet(View, AddToCart, Purchase, Search, Rating)
	p.Allowed[Support] = NewSignalTypeSet(Purchase, Rating, SupportTicket)
	p.Allowed[MarketingEmail] = NewSignalTypeSet(View, AddToCart, Purchase)
	p.Allowed[ModelTraining] = NewSignalTypeSet(View, AddToCart, Purchase, Rating)
	return p
}

// Allows reports whether signals of type t may feed purpose p.
func (p *Policy) Allows(purpose Purpose, t SignalType) bool {
	return p.Allowed[purpose].Has(t)
}

// SignalSetInput is a signal set as a caller sends it, by name.
type SignalSetInput struct {
	Purpose     string
	SignalTypes []string
}

// ParseSignalSets validates a complete policy: every purpose listed exactly
// once, every type known. Omitting a purpose is an error rather than a silent
// "allow nothing", so that a marketer cannot switch a purpose off by accident.
func ParseSignalSets(sets []SignalSetInput) ([numPurposes]SignalTypeSet, error) {
	var allowed [numPurposes]SignalTypeSet
	var seen PurposeSet
	for i, in := range sets {
		p, err := ParsePurpose(indexed("signal_sets", i, "purpose"), in.Purpose)
		if err != nil {
			return allowed, err
		}
		if seen.Has(p) {
			return allowed, invalidf(indexed("signal_sets", i, "purpose"), "%q is listed more than once", in.Purpose)
		}
		seen = seen.With(p)
		for j, name := range in.SignalTypes {
			t, err := ParseSignalType(fmt.Sprintf("signal_sets[%d].signal_types[%d]", i, j), name)
			if err != nil {
				return allowed, err
			}
			allowed[p] |= NewSignalTypeSet(t)
		}
	}
	for p := Purpose(0); p < numPurposes; p++ {
		if !seen.Has(p) {
			return allowed, invalidf("signal_sets", "purpose %q is missing: list every purpose, with an empty signal_types list to allow nothing", p)
		}
	}
	return allowed, nil
}
