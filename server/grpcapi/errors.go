package grpcapi

import (
	"context"
	"log/slog"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/fault"
)

// grpcCodes is the one table from the core's error codes to gRPC codes;
// grpc-gateway turns those into HTTP statuses (InvalidArgument 400,
// NotFound 404, AlreadyExists and Aborted 409, FailedPrecondition 400 by
// default, here 409: see HTTPStatus). A failed test-and-set and contention
// are Aborted: the caller should read again and retry.
var grpcCodes = map[fault.Code]codes.Code{
	fault.Internal:           codes.Internal,
	fault.Invalid:            codes.InvalidArgument,
	fault.NotFound:           codes.NotFound,
	fault.AlreadyExists:      codes.AlreadyExists,
	fault.FailedPrecondition: codes.FailedPrecondition,
	fault.Conflict:           codes.Aborted,
	fault.PermissionDenied:   codes.PermissionDenied,
	fault.Unauthenticated:    codes.Unauthenticated,
	fault.Canceled:           codes.Canceled,
	fault.DeadlineExceeded:   codes.DeadlineExceeded,
	fault.TooLarge:           codes.ResourceExhausted,
}

// Code returns the gRPC code of an error of the core.
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if c, ok := grpcCodes[fault.CodeOf(err)]; ok {
		return c
	}
	return codes.Internal
}

// HTTPStatus is the HTTP status of a gRPC code, as the REST gateway answers
// it and the pages do. FailedPrecondition is 409 Conflict: the request is
// well formed, and the state (a browser's Global Privacy Control) refuses
// it.
func HTTPStatus(c codes.Code) int {
	if c == codes.FailedPrecondition {
		return 409
	}
	return runtime.HTTPStatusFromCode(c)
}

// Status turns an error of the core into the status a caller receives:
// the code from the table, and the message the error was made with.
// Anything without a code becomes Internal with a generic message; its
// details are logged here, server-side only, under the method's name.
func Status(ctx context.Context, log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := Code(err)
	if code == codes.Internal {
		log.ErrorContext(ctx, "internal error", "method", method, "err", err)
	}
	return status.Error(code, fault.MessageOf(err))
}
