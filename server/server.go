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

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// app holds what the services share.
type app struct {
	cfg          Config
	log          *slog.Logger
	rdb          redis.UniversalClient
	pseudonyms   *features.Pseudonymizer
	store        *features.Store
	catalog      *features.Catalog
	policies     *consent.PolicyStore
	explanations *explain.Store
	reviews      *explain.Reviews
	models       *engine.Holder
	trainer      *engine.Trainer
	alsModels    *engine.ALSStore
	now          func() time.Time
	// followUps are erasures waiting for their follow-up
	// (erasure_followup.go).
	followUps chan erasureFollowUp
}

func (a *app) status(ctx context.Context, method string, err error) error {
	return toStatus(ctx, a.log, method, err)
}

// rankingFacts are the parameters the ranking description states.
func (a *app) rankingFacts(policy *consent.Policy) explain.RankingFacts {
	return explain.RankingFacts{
		Policy: policy, Retention: a.store.Retention(),
		PerType: a.cfg.Train.Weights.PerType, HalfLife: a.cfg.Train.Weights.HalfLife,
		MinSupport: a.cfg.Train.MinSupport, ExplanationRetention: a.cfg.ExplanationRetention,
	}
}

// Options are a Server's optional dependencies.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Registry receives the metrics; nil keeps them private to this server.
	Registry *prometheus.Registry
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
}

// Server is a running candor: gRPC services, the REST gateway and the web
// endpoints, over one store.
type Server struct {
	*app
	grpc     *grpc.Server
	health   *health.Server
	echo     *echo.Echo
	registry *prometheus.Registry
	inproc   *bufconn.Listener
	tokens   *tokens
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
	if o.Now == nil {
		o.Now = time.Now
	}
	keys, err := features.NewKeyspace(cfg.Namespace)
	if err != nil {
		return nil, err
	}
	auth, err := newAuthenticator(cfg.APIKeys)
	if err != nil {
		return nil, err
	}
	codec := features.NewCodec(cfg.Secret)
	auth.tokens = &tokens{codec: codec, now: o.Now}
	policies := consent.NewPolicyStore(rdb, cfg.Namespace)
	catalog := features.NewCatalog(rdb, keys)
	store := features.NewStore(rdb, features.StoreOptions{
		Keyspace: keys, Codec: codec, Retention: cfg.SignalRetention, Policies: policies, Catalog: catalog,
	})
	models := engine.NewHolder()
	a := &app{
		cfg:          cfg,
		log:          o.Logger,
		rdb:          rdb,
		pseudonyms:   features.NewPseudonymizer(cfg.Secret),
		store:        store,
		catalog:      catalog,
		policies:     policies,
		explanations: explain.NewStore(rdb, keys, codec),
		reviews:      explain.NewReviews(rdb, keys, codec),
		models:       models,
		alsModels:    engine.NewALSStore(rdb, cfg.Namespace),
		trainer: &engine.Trainer{
			Source: store, Holder: models, Options: cfg.Train, Interval: cfg.ModelRefresh,
			Logger: o.Logger, Now: o.Now,
		},
		now:       o.Now,
		followUps: make(chan erasureFollowUp, maxPendingFollowUps),
	}
	auth.pseudonyms = a.pseudonyms
	s := &Server{app: a, registry: o.Registry, health: health.NewServer(), tokens: auth.tokens}
	m := newMetrics(o.Registry)
	s.grpc = grpc.NewServer(
		grpc.ChainUnaryInterceptor(recoverUnary(a.log), observeUnary(a.log, m), auth.authUnary, deadlineUnary(cfg.RequestTimeout), a.gpcUnary),
		grpc.ChainStreamInterceptor(recoverStream(a.log), observeStream(a.log, m), auth.authStream, deadlineStream(streamTimeout), a.gpcStream),
	)
	candorv1.RegisterConsentServiceServer(s.grpc, &consentService{app: a})
	candorv1.RegisterSignalServiceServer(s.grpc, &signalService{app: a})
	candorv1.RegisterCatalogServiceServer(s.grpc, &catalogService{app: a})
	candorv1.RegisterPolicyServiceServer(s.grpc, &policyService{app: a})
	candorv1.RegisterRecommendationServiceServer(s.grpc, &recommendationService{app: a})
	candorv1.RegisterControlServiceServer(s.grpc, &controlService{app: a})
	candorv1.RegisterAccessServiceServer(s.grpc, &accessService{app: a, tokens: auth.tokens})
	candorv1.RegisterRightsServiceServer(s.grpc, &rightsService{app: a})
	candorv1.RegisterReviewServiceServer(s.grpc, &reviewService{app: a})
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return s, nil
}

// TrainNow rebuilds the item model from the store immediately.
func (s *Server) TrainNow(ctx context.Context) error {
	_, err := s.trainer.TrainOnce(ctx)
	return err
}

// Run serves gRPC on grpcLis and HTTP on httpLis until ctx is done, then
// shuts down gracefully: health turns NOT_SERVING, in-flight calls finish
// (up to the shutdown timeout), listeners close.
func (s *Server) Run(ctx context.Context, grpcLis, httpLis net.Listener) error {
	if !s.models.Trained() {
		if err := s.TrainNow(ctx); err != nil {
			s.log.ErrorContext(ctx, "initial model training failed; serving catalogue fallbacks until the next run", "err", err)
		}
	}
	// Background work (retraining, the retention sweep, erasure follow-ups) stops and is
	// waited for before Run returns, so it never outlives the store.
	bgCtx, stopBackground := context.WithCancel(ctx)
	var background sync.WaitGroup
	defer func() {
		stopBackground()
		background.Wait()
	}()
	background.Go(func() { s.trainer.Run(bgCtx) })
	background.Go(func() { s.sweep(bgCtx) })
	background.Go(func() { s.runFollowUps(bgCtx) })
	background.Go(func() { s.alsModels.Follow(bgCtx, s.models, s.cfg.ModelPoll, s.cfg.ModelMaxAge, s.now, s.log) })

	// The gateway reaches the gRPC server through an in-process listener, so
	// REST calls pass through the same interceptors as native gRPC calls.
	s.inproc = bufconn.Listen(1 << 20)
	gateway, closeGateway, err := s.newGateway(ctx)
	if err != nil {
		return err
	}
	defer closeGateway()
	s.echo = s.newEcho(gateway)
	httpSrv := &http.Server{
		Handler:           s.echo,
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

// sweep deletes signals past their retention every model refresh interval.
func (s *Server) sweep(ctx context.Context) {
	ticker := time.NewTicker(s.cfg.ModelRefresh)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			n, err := s.store.SweepExpired(ctx, s.now())
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.ErrorContext(ctx, "retention sweep failed", "err", err)
			case n > 0:
				s.log.InfoContext(ctx, "retention sweep", "deleted_signals", n)
			}
		}
	}
}

func serveErr(name string, err error) error {
	if err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return fmt.Errorf("%s server: %w", name, err)
}
