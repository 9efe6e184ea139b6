package server

import (
	"context"
	"errors"
	"log/slog"
	"regexp"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// errorCodes maps domain errors to gRPC codes; grpc-gateway turns the codes
// into HTTP statuses (InvalidArgument 400, NotFound 404, Aborted 409, ...).
// A failed test-and-set (a policy version that is no longer current) and
// contention are Aborted: the caller should read again and retry. Order
// matters: the first match wins.
var errorCodes = []struct {
	err  error
	code codes.Code
}{
	{consent.ErrInvalid, codes.InvalidArgument}, // also features.ErrInvalid
	{features.ErrNotFound, codes.NotFound},
	{consent.ErrNotFound, codes.NotFound},
	{consent.ErrVersionConflict, codes.Aborted},
	{features.ErrConflict, codes.Aborted},
	{context.Canceled, codes.Canceled},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
}

// safeMessage reports whether the error's text may go to the caller: only for
// errors the caller caused, whose text names fields and values they sent.
func safeMessage(code codes.Code) bool {
	switch code {
	case codes.InvalidArgument, codes.NotFound, codes.FailedPrecondition, codes.Aborted:
		return true
	}
	return false
}

// opPrefix matches the operation names errors are wrapped with
// ("features.Track: ", "consent.Put: ").
var opPrefix = regexp.MustCompile(`^[a-z][a-z0-9]*\.[A-Za-z][A-Za-z0-9.]*: `)

// callerMessage is the error's text without the operation names that wrap
// it: those are for logs, not callers.
func callerMessage(err error) string {
	msg := err.Error()
	for {
		loc := opPrefix.FindStringIndex(msg)
		if loc == nil {
			return msg
		}
		msg = msg[loc[1]:]
	}
}

// toStatus turns a domain error into a status for the caller. Anything
// unknown becomes Internal with a generic message; the details are logged
// here, server-side only.
func toStatus(ctx context.Context, log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			if safeMessage(m.code) {
				return status.Error(m.code, callerMessage(err))
			}
			return status.Error(m.code, m.code.String())
		}
	}
	log.ErrorContext(ctx, "internal error", "method", method, "err", err)
	return status.Error(codes.Internal, "internal error")
}
