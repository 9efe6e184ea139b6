// Package rest is candor's REST door: the grpc-gateway in front of the gRPC
// services (server/grpcapi), reached through a connection the caller dials,
// so that every REST call passes through exactly the same interceptors
// (auth, audit, metrics) as a native gRPC call. It owns the gateway's mux
// and its JSON marshalers (proto field names, ?pretty for indented answers),
// the headers it forwards (Authorization, Sec-GPC) and returns
// (Content-Disposition of an export), and every answer given before a call
// reaches the gRPC server, in the API's {"code", "message", "details"}
// shape: the Bearer challenge of a 401, a 405 with Allow for a wrong method
// (from the route table read off the google.api.http annotations), a body
// that does not decode named field by field, a query parameter the call
// does not take, a path or query that is not UTF-8, and the 413 of a body
// over MaxBodyBytes.
//
// rest decides nothing: who may call what, and every rule, is the core's
// (package app), reached through the gRPC door; rest only translates HTTP
// to gRPC and back. It must never log a request or response body, a
// customer id or an API key, and never put an internal error's details in
// an answer (the one error table, grpcapi.HTTPStatus, says what a caller
// sees).
package rest
