// Package server is candor's transport layer: the gRPC services, the REST
// gateway (grpc-gateway, served by echo under /v1/ and dialled through an
// in-process connection so that REST calls pass through exactly the same
// interceptors as native gRPC), the customer's "why am I seeing this" page
// (/why, server-rendered), health and readiness endpoints, metrics,
// authentication by API key and the role table that says who may call what,
// and the mapping of domain errors to gRPC status codes.
//
// server validates and translates; it holds no business rule that the
// domain packages (consent, features, engine, explain) own. It must never log
// a raw customer id, an API key, a request body or a feature vector, and never
// send an internal error's details to a caller.
package server
