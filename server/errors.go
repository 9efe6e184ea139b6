package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// errorCodes maps domain errors to gRPC codes; grpc-gateway turns the codes
// into HTTP statuses (InvalidArgument 400, NotFound 404, Aborted and
// FailedPrecondition 409/400, ...). Order matters: the first match wins.
var errorCodes = []struct {
	err  error
	code codes.Code
}{
	{consent.ErrInvalid, codes.InvalidArgument}, // also features.ErrInvalid
	{features.ErrNotFound, codes.NotFound},
	{consent.ErrNotFound, codes.NotFound},
	{consent.ErrVersionConflict, codes.FailedPrecondition},
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
				return status.Error(m.code, err.Error())
			}
			return status.Error(m.code, m.code.String())
		}
	}
	log.ErrorContext(ctx, "internal error", "method", method, "err", err)
	return status.Error(codes.Internal, "internal error")
}
