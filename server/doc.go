// Package server wires candor's doors to its core and runs them: the
// application core (package app) behind the gRPC services (server/grpcapi),
// the REST gateway (server/rest, served by echo under /v1/ and dialled
// through an in-process connection so that REST calls pass through exactly
// the same interceptors as native gRPC), the customer's pages (server/web),
// health and readiness endpoints, metrics (server/observe), and graceful
// shutdown. It is handed an open store (internal/redisconn opens one).
//
// server decides nothing: every rule is the core's, every translation a
// door's. It must never log a raw customer id, an API key, a request body or
// a feature vector, and never send an internal error's details to a caller.
package server
