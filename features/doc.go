// Package features owns everything candor stores about customers and items,
// and turns it into what a request may use. It holds:
//
//   - the customer's data in Redis, under one hash tag per pseudonymised
//     customer (consent state, consent ledger, signals, controls and their
//     log, the indexes of their stored recommendations and review cases), so
//     one customer is one slot, one round trip and one erasure; the key names
//     are internal/keyspace's;
//   - erasure, export and rectification of one customer (rights.go) and the
//     erasure receipts, which name no one;
//   - the pseudonymiser (keyed HMAC of customer ids) and the one codec that
//     encrypts every stored value that reveals behaviour (AES-256-GCM, bound
//     to its key and field);
//   - signal validation, retention (on write and on read) and consent-gated
//     writes: a signal is stored only with the purposes the customer
//     consented to;
//   - the catalogue (item features: titles, categories, flags);
//   - the usability filter: usable = collected for the purpose ∧ consented now
//     ∧ allowed by the policy version ∧ fresh ∧ not suppressed by the customer
//     ∧ (for sensitive items) explicitly consented, with the reason for
//     everything left out; training reads through the same filter.
//
// It must never write a raw customer id anywhere (keys, values, logs, errors),
// never store a value that reveals behaviour without the codec, and never hand
// a signal to a caller for a purpose it is not usable for.
package features
