// Package keyspace names every Redis key of candor. It is the one place a key
// name is made: every store asks it, none concatenates its own, so the whole
// layout can be read (and reviewed) in one file.
//
// Every key starts with the namespace ("<ns>:"). Hash tags decide what Redis
// Cluster puts in one slot:
//
//   - all keys of one customer share {u:<pseudonym>}, so one customer's reads
//     are one pipelined round trip, transactions over them are allowed, and
//     erasing the customer is one slot's business;
//   - the keys that change together in one transaction share a tag of their
//     own: {catalog}, {policy}, {model}, {reviews}; the erasure receipts live
//     under {erasures};
//   - stored recommendations (<ns>:rec:<id>) carry no tag and spread across
//     the cluster.
//
// keyspace must never hold data or talk to Redis: it only names keys. And it
// must never put anything but a pseudonym (inside its hash tag) into a
// customer's key: no raw customer id, no item, no purpose, nothing that says
// what the customer did.
package keyspace

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/candorhq/candor/internal/fault"
)

// ErrInvalidNamespace is returned for a namespace ValidateNamespace refuses.
var ErrInvalidNamespace = fault.Kind(fault.Invalid, "invalid key namespace")

var namespacePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ValidateNamespace checks a key namespace: 1 to 32 of a-z, 0-9, '_' and '-',
// not starting with '_' or '-', so it can never contain a hash tag, a
// separator or a glob character.
func ValidateNamespace(ns string) error {
	if !namespacePattern.MatchString(ns) {
		return fault.Wrapf(ErrInvalidNamespace, "namespace %q: use 1 to 32 characters from a-z, 0-9, '_' and '-'", ns)
	}
	return nil
}

// Pseudonym is a customer's storage identity: a keyed HMAC of the customer
// id, made by features.Pseudonymizer (features.Pseudonym is this type). It is
// the only form of a customer identifier that reaches Redis. keyspace never
// makes one; it only puts one into the customer's hash tag.
type Pseudonym string

// Keyspace names every key under one namespace. The zero Keyspace names
// nothing; make one with New.
type Keyspace struct {
	ns string
}

// New returns the keyspace for namespace ns (see ValidateNamespace).
func New(ns string) (Keyspace, error) {
	if err := ValidateNamespace(ns); err != nil {
		return Keyspace{}, err
	}
	return Keyspace{ns: ns}, nil
}

// Namespace returns the namespace every key starts with.
func (k Keyspace) Namespace() string { return k.ns }

// IsZero reports whether k is the zero Keyspace (not made by New).
func (k Keyspace) IsZero() bool { return k.ns == "" }

// CustomerKeys are the Redis keys of one customer. They share the hash tag
// {u:<pseudonym>}, so they live in one cluster slot.
type CustomerKeys struct {
	// Prefix starts every key of the customer and no one else's:
	// <ns>:{u:<pseudonym>}: (for checks that nothing is left of them).
	Prefix string
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

// Customer returns the keys of one customer.
func (k Keyspace) Customer(p Pseudonym) CustomerKeys {
	tag := k.customerPrefix() + string(p) + "}:"
	return CustomerKeys{
		Prefix:          tag,
		Consent:         tag + "consent",
		Ledger:          tag + "ledger",
		Signals:         tag + "signals",
		Controls:        tag + "controls",
		ControlLog:      tag + "controls_log",
		Reviews:         tag + "reviews",
		Recommendations: tag + "recs",
	}
}

// All lists every key of the customer (not Prefix, which is no key).
func (c CustomerKeys) All() []string {
	return []string{c.Consent, c.Ledger, c.Signals, c.Controls, c.ControlLog, c.Reviews, c.Recommendations}
}

func (k Keyspace) customerPrefix() string { return k.ns + ":{u:" }

// CustomerSignalsPattern matches every customer's signals key (a SCAN
// pattern; the namespace holds no glob character).
func (k Keyspace) CustomerSignalsPattern() string { return k.customerPrefix() + "*}:signals" }

// CustomerOf returns the pseudonym whose hash tag a customer key carries, and
// false for a key that is not a customer key of this namespace.
func (k Keyspace) CustomerOf(key string) (Pseudonym, bool) {
	rest, ok := strings.CutPrefix(key, k.customerPrefix())
	if !ok {
		return "", false
	}
	p, _, ok := strings.Cut(rest, "}:")
	return Pseudonym(p), ok && p != ""
}

// Recommendation is the global key of one stored recommendation (a sealed
// answer with its explanations, under a TTL). It carries no hash tag: stored
// answers spread across the cluster.
func (k Keyspace) Recommendation(id string) string { return k.ns + ":rec:" + id }

// Review cases, their queues and their pending markers share the {reviews}
// hash tag, so that a case, the queue it is filed in and the marker that
// keeps a second case of its kind out change in one transaction. (They are
// one cluster slot: review requests are a human's workload, far too few
// for that to matter.)

// ReviewCase is the global key of one review case, named by its handle (a
// keyed HMAC of the case id, explain.CaseHandle), never by its id.
func (k Keyspace) ReviewCase(handle string) string { return k.ns + ":{reviews}:case:" + handle }

// ReviewQueue is the global sorted set of the handles of the cases with a
// status, scored by each case's place in the order cases were opened
// (ReviewSeq), not by a time.
func (k Keyspace) ReviewQueue(status string) string { return k.ns + ":{reviews}:status:" + status }

// ReviewPending is the global key that marks the pending case (open or in
// review) of one kind about one answer of one customer, named by a keyed
// HMAC of the three (explain.PendingHandle), never by them, and holding
// the case's handle. Opening a case sets it in the transaction that
// writes the case, so a second request of that kind is refused in that
// same transaction; it is deleted when the case is answered or erased.
func (k Keyspace) ReviewPending(handle string) string { return k.ns + ":{reviews}:pending:" + handle }

// ReviewSeq is the global counter that numbers review cases in the order
// they are opened.
func (k Keyspace) ReviewSeq() string { return k.ns + ":{reviews}:seq" }

// ErasureReceipts is the global list of erasure receipts (no personal data).
func (k Keyspace) ErasureReceipts() string { return k.ns + ":{erasures}:receipts" }

// CatalogKeys are the keys of the item catalogue. They share the {catalog}
// hash tag, so that a catalogue change is one transaction.
type CatalogKeys struct {
	Items   string // hash, item id -> item JSON
	Version string // integer, bumped by every change
	Changes string // sorted set, item id -> version of its last change
}

// Catalog returns the catalogue's keys.
func (k Keyspace) Catalog() CatalogKeys {
	tag := k.ns + ":{catalog}:"
	return CatalogKeys{Items: tag + "items", Version: tag + "version", Changes: tag + "changes"}
}

// The marketer's signal-set policy versions share the {policy} hash tag, so
// that writing a version and moving the current-version pointer is one
// transaction.

// PolicyCurrent is the integer key holding the current policy version number
// (absent: version 1, the defaults).
func (k Keyspace) PolicyCurrent() string { return k.ns + ":{policy}:version" }

// Policy is the key of one policy version (JSON; versions are immutable).
func (k Keyspace) Policy(version int64) string {
	return k.ns + ":{policy}:v:" + strconv.FormatInt(version, 10)
}

// The trained ALS model versions share the {model} hash tag, so that moving
// the current pointer and pruning old versions is one transaction. The model
// holds item factors and counts only: no customer's data.

// ModelCurrent is the key holding the current ALS model version id.
func (k Keyspace) ModelCurrent() string { return k.ns + ":{model}:current" }

// ModelVersions is the sorted set of the stored ALS model versions, version
// id -> trained at (unix ms).
func (k Keyspace) ModelVersions() string { return k.ns + ":{model}:versions" }

// Model is the hash holding one ALS model version (its fields are the model
// store's business).
func (k Keyspace) Model(version string) string { return k.ns + ":{model}:v:" + version }
