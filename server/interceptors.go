package server

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// metrics are labelled only by method and code, both from small fixed sets.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "candor_grpc_requests_total",
			Help: "API calls (gRPC and REST) by method and status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "candor_grpc_request_duration_seconds",
			Help:    "API call latency by method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration)
	}
	return m
}

// methodLabel keeps metric labels to the known methods.
func methodLabel(full string) string {
	if _, ok := access[full]; ok || publicMethod(full) {
		return full
	}
	return "other"
}

// observeUnary logs and measures every call: method, code, duration and role,
// never the request, the customer or the caller's address.
func observeUnary(log *slog.Logger, m *metrics) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		m.observe(ctx, log, info.FullMethod, start, err)
		return resp, err
	}
}

// observeStream does the same for streaming calls.
func observeStream(log *slog.Logger, m *metrics) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		m.observe(ss.Context(), log, info.FullMethod, start, err)
		return err
	}
}

func (m *metrics) observe(ctx context.Context, log *slog.Logger, method string, start time.Time, err error) {
	code := status.Code(err)
	elapsed := time.Since(start)
	label := methodLabel(method)
	m.requests.WithLabelValues(label, code.String()).Inc()
	m.duration.WithLabelValues(label).Observe(elapsed.Seconds())
	if publicMethod(method) {
		return
	}
	level := slog.LevelInfo
	if code == codes.Internal || code == codes.Unknown {
		level = slog.LevelError
	}
	log.Log(ctx, level, "call", "method", label, "code", code.String(), "duration_ms", float64(elapsed.Microseconds())/1000)
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

// deadlineUnary bounds every call's time on the server.
func deadlineUnary(max time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, cancel := context.WithTimeout(ctx, max)
		defer cancel()
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

// streamTimeout bounds a streaming call (an export of a very long history
// takes seconds; this is the backstop).
const streamTimeout = 10 * time.Minute

// deadlineStream bounds every streaming call's time on the server.
func deadlineStream(max time.Duration) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, cancel := context.WithTimeout(ss.Context(), max)
		defer cancel()
		return handler(srv, &checkedStream{ServerStream: ss, ctx: ctx})
	}
}
