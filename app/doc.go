// Package app is candor's application core: one method per use case
// (recommend, track, change consent, GPC, TCF import, object, review,
// export, erase, correct, controls, tokens, the erasure follow-up,
// catalogue, policy), every rule once. Each method takes the Actor who is
// calling (role, key name, and the customer when acting with a customer
// token) and enforces the access table (access.go), the surface → purpose
// rules, the Global Privacy Control, review dedupe and the rest here, so
// that every door (the gRPC services, REST through the gateway, the why
// page, the privacy center, the demo, `candor train`) obeys the same rules.
//
// app returns domain values (consent, features, engine, explain types) and
// errors of the one vocabulary (internal/fault); the doors render them. It
// must never import a transport (grpc, the gateway, echo, the generated API
// types): depguard in .ci/run enforces it. It must never log a raw customer
// id, a key, a token or a feature vector.
package app
