package server

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
)

func TestToStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err     error
		code    codes.Code
		message string
	}{
		{fmt.Errorf("%w: signals[0].type: unknown", features.ErrInvalid), codes.InvalidArgument, "signals[0].type: unknown"},
		{fmt.Errorf("item %q: %w", "sku-1", features.ErrNotFound), codes.NotFound, "sku-1"},
		{fmt.Errorf("%w: expected 3", consent.ErrVersionConflict), codes.Aborted, "expected 3"},
		{fmt.Errorf("features.Track: %w", features.ErrConflict), codes.Aborted, "concurrent change, try again"},
		{fmt.Errorf("redis: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "DeadlineExceeded"},
		{fmt.Errorf("redis: %w", context.Canceled), codes.Canceled, "Canceled"},
		{errors.New("dial tcp 10.0.0.7:6379: connection refused"), codes.Internal, "internal error"},
		{status.Error(codes.PermissionDenied, "no"), codes.PermissionDenied, "no"},
	}
	for _, c := range cases {
		var logs bytes.Buffer
		err := toStatus(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), "M", c.err)
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
