package grpcapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
)

func TestToStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err     error
		code    codes.Code
		message string
	}{
		{fmt.Errorf("features.Track: %w", fault.Wrapf(features.ErrInvalid, "signals[0].type: unknown")), codes.InvalidArgument, "signals[0].type: unknown"},
		{fault.Wrapf(features.ErrNotFound, "item %q: not found", "sku-1"), codes.NotFound, "sku-1"},
		{fault.Wrapf(consent.ErrVersionConflict, "expected 3"), codes.Aborted, "expected 3"},
		{fmt.Errorf("features.Track: %w", features.ErrConflict), codes.Aborted, "a concurrent change got there first: try again"},
		{fault.New(fault.FailedPrecondition, "GPC keeps it off"), codes.FailedPrecondition, "GPC keeps it off"},
		{fault.New(fault.AlreadyExists, "case_1 is pending"), codes.AlreadyExists, "case_1 is pending"},
		{fault.New(fault.PermissionDenied, "not yours"), codes.PermissionDenied, "not yours"},
		{fmt.Errorf("redis: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "took too long"},
		{fmt.Errorf("redis: %w", context.Canceled), codes.Canceled, "canceled"},
		// An error of ours whose text looks like a field's is still internal:
		// no regex decides what a caller may read.
		{errors.New("item.title: a value stored at 10.0.0.7"), codes.Internal, "internal error"},
		{errors.New("dial tcp 10.0.0.7:6379: connection refused"), codes.Internal, "internal error"},
		{status.Error(codes.PermissionDenied, "no"), codes.PermissionDenied, "no"},
	}
	for _, c := range cases {
		var logs bytes.Buffer
		err := Status(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), "M", c.err)
		st, _ := status.FromError(err)
		if st.Code() != c.code || !strings.Contains(st.Message(), c.message) || strings.Contains(st.Message(), "features.") {
			t.Errorf("%v: %v %q; want %v containing %q", c.err, st.Code(), st.Message(), c.code, c.message)
		}
		if c.code == codes.Internal {
			if strings.Contains(st.Message(), "10.0.0.7") {
				t.Errorf("internal details reached the caller: %q", st.Message())
			}
			if !strings.Contains(logs.String(), "10.0.0.7") {
				t.Errorf("internal details were not logged server-side: %q", logs.String())
			}
		}
	}
}

// TestHTTPStatusDerivesFromTheTable: the pages and the gateway answer each
// code of the one table with the same HTTP status; FailedPrecondition is a
// conflict with the state (409), not a malformed request.
func TestHTTPStatusDerivesFromTheTable(t *testing.T) {
	t.Parallel()
	want := map[fault.Code]int{
		fault.Invalid: 400, fault.NotFound: 404, fault.AlreadyExists: 409, fault.FailedPrecondition: 409,
		fault.Conflict: 409, fault.PermissionDenied: 403, fault.Unauthenticated: 401, fault.Internal: 500,
		fault.TooLarge: 429, fault.DeadlineExceeded: 504, fault.Canceled: 499,
	}
	for code, status := range want {
		if got := HTTPStatus(Code(fault.New(code, "x"))); got != status {
			t.Errorf("%v: HTTP %d, want %d", code, got, status)
		}
	}
}
