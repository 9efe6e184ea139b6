// Package grpcapi is candor's gRPC door: the services of proto/candor/v1
// as thin adapters over the application core (package app), the
// interceptors every call passes through (recovery, observation,
// authentication by API key or customer token, the deadline), the one table
// that maps the core's error codes to gRPC codes (HTTP statuses derive from
// it, the pages' included), and the rendering of domain values into API
// messages. The REST door (server/rest) reaches these services through the
// same interceptors, over the in-process connection package server wires.
//
// A service method here parses its request, calls one use case with the
// Actor the interceptors authenticated, and renders the result: it decides
// nothing. It must never log a raw customer id, an API key, a token or a
// request body, and never send an internal error's details to a caller.
package grpcapi
