package features

import (
	"regexp"
	"strings"

	"github.com/candorhq/candor/internal/fault"
)

var namespacePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ValidateNamespace checks a key namespace: 1 to 32 of a-z, 0-9, '_' and '-',
// so it can never contain a hash tag or a glob character.
func ValidateNamespace(ns string) error {
	if !namespacePattern.MatchString(ns) {
		return fault.Wrapf(ErrInvalid, "namespace %q: use 1 to 32 characters from a-z, 0-9, '_' and '-'", ns)
	}
	return nil
}

// CustomerKeys are the Redis keys of one customer. They share the hash tag
// {u:<pseudonym>}, so they live in one cluster slot: one customer's reads are
// one pipelined round trip, transactions over them are allowed, and erasing
// the customer is one slot's business.
type CustomerKeys struct {
	// Consent: hash, purpose name -> sealed decision.
	Consent string
	// Ledger: list of sealed consent ledger entries, oldest first.
	Ledger string
	// Signals: hash, signal id -> sealed signal.
	Signals string
	// Controls: hash, blinded kind and target -> sealed control.
	Controls string
	// ControlLog: list of sealed control changes, oldest first.
	ControlLog string
	// Reviews: hash, the customer's index of their review cases (the cases
	// live under global keys, so the privacy officer can work one queue):
	// a keyed HMAC of the customer and the case id -> the case id, sealed.
	// Neither field nor value matches a case's key or queue entry.
	Reviews string
	// Recommendations: sorted set, recommendation id -> expiry (unix ms,
	// rounded up to a day), the index of the customer's stored explanations
	// (held under global keys).
	Recommendations string
}

// Keyspace names every key under one namespace.
type Keyspace struct {
	ns string
}

// NewKeyspace returns the keyspace for namespace ns (see ValidateNamespace).
func NewKeyspace(ns string) (Keyspace, error) {
	if err := ValidateNamespace(ns); err != nil {
		return Keyspace{}, err
	}
	return Keyspace{ns: ns}, nil
}

// Namespace returns the namespace every key starts with.
func (k Keyspace) Namespace() string { return k.ns }

// Customer returns the keys of one customer.
func (k Keyspace) Customer(p Pseudonym) CustomerKeys {
	tag := k.ns + ":{u:" + string(p) + "}:"
	return CustomerKeys{
		Consent:         tag + "consent",
		Ledger:          tag + "ledger",
		Signals:         tag + "signals",
		Controls:        tag + "controls",
		ControlLog:      tag + "controls_log",
		Reviews:         tag + "reviews",
		Recommendations: tag + "recs",
	}
}

// All lists every key of the customer.
func (c CustomerKeys) All() []string {
	return []string{c.Consent, c.Ledger, c.Signals, c.Controls, c.ControlLog, c.Reviews, c.Recommendations}
}

// customerSignalsPattern matches every customer's signals key (for SCAN).
func (k Keyspace) customerSignalsPattern() string { return k.ns + ":{u:*}:signals" }

// pseudonymFromKey extracts the pseudonym from a customer key.
func (k Keyspace) pseudonymFromKey(key string) (Pseudonym, bool) {
	rest, ok := strings.CutPrefix(key, k.ns+":{u:")
	if !ok {
		return "", false
	}
	p, _, ok := strings.Cut(rest, "}:")
	return Pseudonym(p), ok && p != ""
}

// Recommendation is the global key of one stored recommendation.
func (k Keyspace) Recommendation(id string) string { return k.ns + ":rec:" + id }

// Review cases and their queues share the {reviews} hash tag, so that a
// case and the queue it is filed in change in one transaction. (They are
// one cluster slot: review requests are a human's workload, far too few
// for that to matter.)

// ReviewCase is the global key of one review case, named by its handle (a
// keyed HMAC of the case id, explain.CaseHandle), never by its id.
func (k Keyspace) ReviewCase(handle string) string { return k.ns + ":{reviews}:case:" + handle }

// ReviewQueue is the global sorted set of the handles of the cases with a
// status, scored by each case's place in the order cases were opened
// (ReviewSeq), not by a time.
func (k Keyspace) ReviewQueue(status string) string { return k.ns + ":{reviews}:status:" + status }

// ReviewSeq is the global counter that numbers review cases in the order
// they are opened.
func (k Keyspace) ReviewSeq() string { return k.ns + ":{reviews}:seq" }

// ErasureReceipts is the global list of erasure receipts (no personal data).
func (k Keyspace) ErasureReceipts() string { return k.ns + ":{erasures}:receipts" }

// catalogKeys share the {catalog} hash tag so that a catalogue change is one
// transaction.
type catalogKeys struct {
	Items   string // hash, item id -> item JSON
	Version string // integer, bumped on every change
	Changes string // sorted set, item id -> version of its last change
}

func (k Keyspace) catalog() catalogKeys {
	tag := k.ns + ":{catalog}:"
	return catalogKeys{Items: tag + "items", Version: tag + "version", Changes: tag + "changes"}
}
