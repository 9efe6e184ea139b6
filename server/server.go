package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/test/bufconn"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/server/grpcapi"
	"github.com/candorhq/candor/server/observe"
	"github.com/candorhq/candor/server/rest"
	"github.com/candorhq/candor/server/web"
)

// Options are a Server's optional dependencies.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Registry receives the metrics; nil keeps them private to this server.
	Registry *prometheus.Registry
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
	// After waits on the clock; nil uses time.After.
	After func(time.Duration) <-chan time.Time
}

// Server is a running candor: the application core behind its doors (gRPC,
// the REST gateway, the pages), health and metrics, over one store.
type Server struct {
	cfg      Config
	log      *slog.Logger
	core     *app.App
	grpc     *grpc.Server
	health   *health.Server
	pages    *web.Pages
	registry *prometheus.Registry
	inproc   *bufconn.Listener
}

// New wires a server over an open Redis client. cfg must be valid.
func New(cfg Config, rdb redis.UniversalClient, o Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	core, err := app.New(cfg.App(), rdb, app.Options{Logger: o.Logger, Now: o.Now, After: o.After, Records: grpcapi.Records{}})
	if err != nil {
		return nil, err
	}
	metrics := observe.New(o.Registry, o.Logger)
	g, err := grpcapi.NewServer(core, cfg.APIKeys, grpcapi.Options{Logger: o.Logger, Metrics: metrics, RequestTimeout: cfg.RequestTimeout})
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: o.Logger, core: core, grpc: g, health: health.NewServer(), registry: o.Registry,
		pages: web.New(core, web.Options{Logger: o.Logger, Metrics: metrics, ExportTimeout: grpcapi.StreamTimeout}),
	}
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return s, nil
}

// TrainNow rebuilds the item model from the store immediately.
func (s *Server) TrainNow(ctx context.Context) error { return s.core.TrainNow(ctx) }

// SeedDemo fills an empty store with the demo's data (app.SeedDemo).
func (s *Server) SeedDemo(ctx context.Context) (*app.Demo, error) { return s.core.SeedDemo(ctx) }

// Run serves gRPC on grpcLis and HTTP on httpLis until ctx is done, then
// shuts down gracefully: health turns NOT_SERVING, in-flight calls finish
// (up to the shutdown timeout), listeners close.
func (s *Server) Run(ctx context.Context, grpcLis, httpLis net.Listener) error {
	// The core's background work (training, the retention sweep, erasure
	// follow-ups, new models) stops and is waited for before Run returns,
	// so it never outlives the store.
	bgCtx, stopBackground := context.WithCancel(ctx)
	var background sync.WaitGroup
	defer func() {
		stopBackground()
		background.Wait()
	}()
	trained := make(chan struct{})
	background.Go(func() { s.core.Run(bgCtx, trained) })
	select {
	case <-trained:
	case <-ctx.Done():
	}

	// The gateway reaches the gRPC server through an in-process listener, so
	// REST calls pass through the same interceptors as native gRPC calls.
	s.inproc = bufconn.Listen(1 << 20)
	gateway, closeGateway, err := rest.NewGateway(ctx, s.inproc.DialContext)
	if err != nil {
		return err
	}
	defer closeGateway()
	httpSrv := &http.Server{
		Handler:           s.newEcho(gateway),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}

	errc := make(chan error, 3)
	go func() { errc <- serveErr("grpc", s.grpc.Serve(grpcLis)) }()
	go func() { errc <- serveErr("grpc in-process", s.grpc.Serve(s.inproc)) }()
	go func() { errc <- serveErr("http", httpSrv.Serve(httpLis)) }()
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.log.InfoContext(ctx, "serving", "grpc", grpcLis.Addr().String(), "http", httpLis.Addr().String())

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.health.Shutdown()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		s.log.WarnContext(ctx, "http shutdown", "err", err)
	}
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-shutdownCtx.Done():
		s.grpc.Stop()
	}
	s.log.InfoContext(ctx, "stopped")
	return runErr
}

// readyz answers 200 once the store answers and a model has been trained.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	switch err := s.core.Ready(ctx); {
	case errors.Is(err, app.ErrStoreUnreachable), errors.Is(err, app.ErrNotTrained):
		return c.String(http.StatusServiceUnavailable, err.Error()+"\n") // fixed texts
	case err != nil:
		return c.String(http.StatusServiceUnavailable, "not ready\n")
	}
	return c.String(http.StatusOK, "ready\n")
}

func serveErr(name string, err error) error {
	if err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return fmt.Errorf("%s server: %w", name, err)
}
