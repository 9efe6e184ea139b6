package grpcapi

import (
	"context"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/server/observe"
)

// methodPrefix starts the full name of every method of the API.
const methodPrefix = "/candor.v1."

// opOf is the use case a full method name runs.
func opOf(fullMethod string) app.Op { return app.Op(strings.TrimPrefix(fullMethod, methodPrefix)) }

// methodLabel keeps metric labels to the known methods.
func methodLabel(full string) string {
	if strings.HasPrefix(full, methodPrefix) && len(app.RolesFor(opOf(full))) > 0 || publicMethod(full) {
		return full
	}
	return "other"
}

// observeUnary records every call: method, code and duration, never the
// request, the customer or the caller's address.
func observeUnary(m *observe.Metrics) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		record(ctx, m, info.FullMethod, start, err)
		return resp, err
	}
}

// observeStream does the same for streaming calls.
func observeStream(m *observe.Metrics) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		record(ss.Context(), m, info.FullMethod, start, err)
		return err
	}
}

// record counts every call; public ones (health checks, reflection) are
// not logged, so probes do not flood the call log.
func record(ctx context.Context, m *observe.Metrics, method string, start time.Time, err error) {
	code := status.Code(err)
	m.APICall(ctx, methodLabel(method), observe.Outcome{
		Code: code.String(), Failed: code == codes.Internal || code == codes.Unknown, Quiet: publicMethod(method),
	}, time.Since(start))
}

// recoverUnary turns a panic into Internal and logs the stack, not the request.
func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ctx, "panic", "method", methodLabel(info.FullMethod), "panic", r, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(ctx, req)
	}
}

// recoverStream turns a panic in a streaming handler into Internal.
func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ss.Context(), "panic", "method", methodLabel(info.FullMethod), "panic", r, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(srv, ss)
	}
}

// deadlineUnary bounds every call's time on the server.
func deadlineUnary(max time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, cancel := context.WithTimeout(ctx, max)
		defer cancel()
		return handler(ctx, req)
	}
}

// StreamTimeout bounds a streaming call (an export of a very long history
// takes seconds; this is the backstop).
const StreamTimeout = 10 * time.Minute

// deadlineStream bounds every streaming call's time on the server.
func deadlineStream(max time.Duration) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, cancel := context.WithTimeout(ss.Context(), max)
		defer cancel()
		return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
	}
}
