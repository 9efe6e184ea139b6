package consent

import (
	"strings"
	"time"
)

// SignalType is a kind of customer action. Each type is a data category with
// a default retention period.
type SignalType uint8

// The signal types candor knows. Their order is part of the storage format, so
// only ever append.
const (
	View SignalType = iota
	AddToCart
	Purchase
	Search
	Rating
	SupportTicket

	numSignalTypes
)

// NumSignalTypes is the number of signal types.
const NumSignalTypes = int(numSignalTypes)

const day = 24 * time.Hour

// SignalTypeInfo describes a signal type as a data category.
type SignalTypeInfo struct {
	Type SignalType
	Name string
	// DataCategory is the fideslang data category the type belongs to.
	DataCategory string
	// Retention is how long a signal of this type is used and kept, counted
	// from when it happened. Enforced when it is written and when it is read;
	// the store's sweep deletes it soon after.
	Retention   time.Duration
	Description string
}

var signalTypeInfos = [numSignalTypes]SignalTypeInfo{
	View:          {View, "view", "user.behavior.browsing_history", 90 * day, "viewed an item's page"},
	AddToCart:     {AddToCart, "add_to_cart", "user.behavior.browsing_history", 90 * day, "added an item to the cart"},
	Purchase:      {Purchase, "purchase", "user.behavior.purchase_history", 730 * day, "bought an item"},
	Search:        {Search, "search", "user.behavior.search_history", 30 * day, "found an item through search"},
	Rating:        {Rating, "rating", "user.content.private", 365 * day, "rated an item from 1 to 5"},
	SupportTicket: {SupportTicket, "support_ticket", "user.content.private", 365 * day, "opened a support request about an item"},
}

// SignalTypes returns every signal type in storage order.
func SignalTypes() []SignalType {
	out := make([]SignalType, NumSignalTypes)
	for i := range out {
		out[i] = SignalType(i)
	}
	return out
}

// Info returns the type's data category, retention and description.
func (t SignalType) Info() SignalTypeInfo { return signalTypeInfos[t] }

// String returns the type's API name, e.g. "add_to_cart".
func (t SignalType) String() string {
	if t >= numSignalTypes {
		return "unknown"
	}
	return signalTypeInfos[t].Name
}

// Valid reports whether t is a known signal type.
func (t SignalType) Valid() bool { return t < numSignalTypes }

// Retention returns how long signals of this type are kept.
func (t SignalType) Retention() time.Duration { return signalTypeInfos[t].Retention }

// ParseSignalType turns an API name into a SignalType. The error names the
// field and lists the known types.
func ParseSignalType(field, name string) (SignalType, error) {
	for i := range signalTypeInfos {
		if signalTypeInfos[i].Name == name {
			return SignalType(i), nil
		}
	}
	names := make([]string, 0, NumSignalTypes)
	for i := range signalTypeInfos {
		names = append(names, signalTypeInfos[i].Name)
	}
	return 0, invalidf(field, "unknown signal type %q (known: %s)", name, strings.Join(names, ", "))
}

// SignalTypeSet is a set of signal types, stored as a bit set.
type SignalTypeSet uint16

// NewSignalTypeSet returns the set holding ts.
func NewSignalTypeSet(ts ...SignalType) SignalTypeSet {
	var s SignalTypeSet
	for _, t := range ts {
		s |= 1 << t
	}
	return s
}

// Has reports whether t is in the set.
func (s SignalTypeSet) Has(t SignalType) bool { return s&(1<<t) != 0 }

// Types lists the set's members in storage order.
func (s SignalTypeSet) Types() []SignalType {
	var out []SignalType
	for t := SignalType(0); t < numSignalTypes; t++ {
		if s.Has(t) {
			out = append(out, t)
		}
	}
	return out
}

// Names lists the set's members by API name.
func (s SignalTypeSet) Names() []string {
	out := []string{}
	for _, t := range s.Types() {
		out = append(out, t.String())
	}
	return out
}
