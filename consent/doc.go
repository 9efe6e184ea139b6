// Package consent owns what a customer can agree to and what follows from it:
// the purposes data may be used for (with their IAB TCF v2.2, fideslang and
// W3C DPV equivalents), the signal types as data categories, the customer's
// per-purpose consent state, the ledger entries that record every change, and
// the marketer's signal-set policy (which signal types may feed which
// purpose), versioned in Redis.
//
// consent decides; it never reads or writes a customer's data. The features
// package stores consent state and ledger beside the customer's signals, so
// that one customer's data is one pipelined round trip and one erasure. This
// package must never see a raw customer identifier, and its only Redis keys
// are the global policy keys (named, like every key, by internal/keyspace).
package consent
