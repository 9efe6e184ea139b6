package consent

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Method is how a consent choice was collected.
type Method uint8

// The collection methods. Their order is part of the storage format.
const (
	MethodUnspecified Method = iota
	MethodUI                 // the customer chose in a user interface
	MethodAPI                // a system recorded the choice on the customer's behalf
	MethodGPC                // a Global Privacy Control signal (Sec-GPC: 1)
	MethodImport             // imported, e.g. from a TCF consent string
	MethodObjection          // the customer objected to profiling (GDPR article 21)
	numMethods
)

var methodNames = [numMethods]string{"", "ui", "api", "gpc", "import", "objection"}

// String returns the method's API name.
func (m Method) String() string {
	if m >= numMethods {
		return "unknown"
	}
	return methodNames[m]
}

// Valid reports whether m is a known method (MethodUnspecified is not).
func (m Method) Valid() bool { return m > MethodUnspecified && m < numMethods }

// ParseMethod turns an API name into a Method.
func ParseMethod(field, name string) (Method, error) {
	for i := MethodUI; i < numMethods; i++ {
		if methodNames[i] == name {
			return i, nil
		}
	}
	return 0, invalidf(field, "unknown method %q (known: ui, api, gpc, import, objection)", name)
}

// Status is a purpose's consent status, after the W3C DPV consent statuses.
type Status uint8

// The statuses. Their order is part of the storage format.
const (
	StatusUnknown   Status = iota // never asked (dpv:ConsentUnknown)
	StatusGiven                   // dpv:ConsentGiven
	StatusRefused                 // asked and said no, never having said yes (dpv:ConsentRefused)
	StatusWithdrawn               // said yes, then no (dpv:ConsentWithdrawn)
	numStatuses
)

var statusNames = [numStatuses]string{"unknown", "given", "refused", "withdrawn"}

// String returns the status's API name.
func (s Status) String() string {
	if s >= numStatuses {
		return "unknown"
	}
	return statusNames[s]
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s < numStatuses }

// Decision is the customer's current choice for one purpose.
type Decision struct {
	Status Status
	// SensitiveGranted is the separate, explicit consent that data about
	// sensitive items needs. Only meaningful while Status is StatusGiven.
	SensitiveGranted bool
	UpdatedAt        time.Time
	NoticeVersion    string
	Method           Method
	// OverGPC: the customer confirmed this grant although their browser's
	// Global Privacy Control asks for the purpose to stay off; the signal
	// does not withdraw it again.
	OverGPC bool
}

// Granted reports whether consent is given now.
func (d Decision) Granted() bool { return d.Status == StatusGiven }

// SettledUnderGPC reports whether a Global Privacy Control opt-out has
// nothing to change here: the purpose is refused or withdrawn already, or
// the customer confirmed its grant over the signal.
func (d Decision) SettledUnderGPC() bool {
	return d.Status == StatusRefused || d.Status == StatusWithdrawn || d.OverGPC
}

// State is a customer's decisions for every purpose. The zero State means
// "never asked" for all purposes: nothing is granted by default.
type State struct {
	Decisions [numPurposes]Decision
}

// Granted reports whether consent for p is given.
func (s *State) Granted(p Purpose) bool { return s.Decisions[p].Granted() }

// SensitiveGranted reports whether explicit consent for sensitive data is
// given for p.
func (s *State) SensitiveGranted(p Purpose) bool {
	d := s.Decisions[p]
	return d.Granted() && d.SensitiveGranted
}

// GrantedSet returns the purposes consent is given for.
func (s *State) GrantedSet() PurposeSet {
	var set PurposeSet
	for p := Purpose(0); p < numPurposes; p++ {
		if s.Granted(p) {
			set = set.With(p)
		}
	}
	return set
}

// Choice is one purpose's new consent.
type Choice struct {
	Purpose   Purpose
	Granted   bool
	Sensitive bool
	// DeleteData asks, with Granted false, that the data collected for the
	// purpose be deleted too.
	DeleteData bool
}

// GrantsGPCPurpose reports whether the choice turns on a purpose the
// Global Privacy Control keeps off.
func (ch Choice) GrantsGPCPurpose() bool { return ch.Granted && GPCPurposes.Has(ch.Purpose) }

// Change is a set of choices made at once, under one notice.
type Change struct {
	Choices       []Choice
	NoticeVersion string
	Method        Method
	// ActorRole is the role of the caller recording the change.
	ActorRole string
	At        time.Time
	// SkipOptedOut drops, at the moment the change is applied, the choices
	// whose purpose is already refused or withdrawn, or was granted over
	// GPC: an opt-out signal repeated on every request (GPC) records one
	// opt-out, not one per request, and never undoes the customer's
	// confirmed choice, however requests interleave.
	SkipOptedOut bool
	// OverGPC records that the customer confirmed, after being told of the
	// conflict, a grant of a purpose their browser's Global Privacy Control
	// keeps off (CCPA regulations § 7025(c)(3)); the ledger entries of such
	// grants say so.
	OverGPC bool
}

// ValidateNoticeVersion checks a notice version as the ledger records it
// (without surrounding spaces): required, at most MaxNoticeVersionLen
// printable characters.
func ValidateNoticeVersion(field, notice string) error {
	v := strings.TrimSpace(notice)
	switch {
	case v == "":
		return invalidf(field, "required: the version of the consent notice the customer saw")
	case len(v) > MaxNoticeVersionLen || !utf8.ValidString(v) || !printable(v):
		return invalidf(field, "must be at most %d printable characters", MaxNoticeVersionLen)
	}
	return nil
}

// MaxNoticeVersionLen bounds the notice version a caller may record.
const MaxNoticeVersionLen = 64

// Validate checks a change before anything is written.
func (c *Change) Validate() error {
	if len(c.Choices) == 0 {
		return invalidf("choices", "at least one choice is required")
	}
	if len(c.Choices) > NumPurposes {
		return invalidf("choices", "at most %d choices (one per purpose)", NumPurposes)
	}
	var seen PurposeSet
	for i, ch := range c.Choices {
		if !ch.Purpose.Valid() {
			return invalidf(indexed("choices", i, "purpose"), "unknown purpose")
		}
		if seen.Has(ch.Purpose) {
			return invalidf(indexed("choices", i, "purpose"), "%q appears more than once", ch.Purpose)
		}
		seen = seen.With(ch.Purpose)
		if ch.Granted && ch.DeleteData {
			return invalidf(indexed("choices", i, "delete_data"), "delete_data is only allowed when revoking (granted=false)")
		}
		if !ch.Granted && ch.Sensitive {
			return invalidf(indexed("choices", i, "sensitive"), "sensitive is only allowed when granting (granted=true)")
		}
	}
	if err := ValidateNoticeVersion("notice_version", c.NoticeVersion); err != nil {
		return err
	}
	if c.Method == MethodUnspecified || c.Method >= numMethods {
		return invalidf("method", "required: one of ui, api, gpc, import, objection")
	}
	if c.At.IsZero() {
		return invalidf("at", "the time of the change is required")
	}
	return nil
}

// LedgerEntry records one consent choice. The ledger is append-only.
type LedgerEntry struct {
	RecordedAt    time.Time `json:"recorded_at"`
	Purpose       string    `json:"purpose"`
	Granted       bool      `json:"granted"`
	Sensitive     bool      `json:"sensitive,omitempty"`
	NoticeVersion string    `json:"notice_version"`
	Method        string    `json:"method"`
	ActorRole     string    `json:"actor_role"`
	DeleteData    bool      `json:"delete_data,omitempty"`
	// OverGPC: a grant the customer confirmed although their browser's
	// Global Privacy Control asks for the purpose to stay off.
	OverGPC bool `json:"over_gpc,omitempty"`
}

// Apply returns the state after a validated change and the ledger entries
// that record it, one per choice.
func Apply(state State, c Change) (State, []LedgerEntry) {
	entries := make([]LedgerEntry, 0, len(c.Choices))
	notice := strings.TrimSpace(c.NoticeVersion)
	for _, ch := range c.Choices {
		prev := state.Decisions[ch.Purpose]
		next := Decision{
			UpdatedAt:     c.At,
			NoticeVersion: notice,
			Method:        c.Method,
		}
		switch {
		case ch.Granted:
			next.Status = StatusGiven
			next.SensitiveGranted = ch.Sensitive
			next.OverGPC = c.OverGPC && ch.GrantsGPCPurpose()
		case prev.Status == StatusGiven || prev.Status == StatusWithdrawn:
			next.Status = StatusWithdrawn
		default:
			next.Status = StatusRefused
		}
		state.Decisions[ch.Purpose] = next
		entries = append(entries, LedgerEntry{
			RecordedAt:    c.At,
			Purpose:       ch.Purpose.String(),
			Granted:       ch.Granted,
			Sensitive:     ch.Granted && ch.Sensitive,
			NoticeVersion: notice,
			Method:        c.Method.String(),
			ActorRole:     c.ActorRole,
			DeleteData:    ch.DeleteData,
			OverGPC:       next.OverGPC,
		})
	}
	return state, entries
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func indexed(list string, i int, field string) string {
	return fmt.Sprintf("%s[%d].%s", list, i, field)
}
