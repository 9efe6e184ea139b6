package grpcapi

import (
	"log/slog"
	"time"

	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // clients may ask for gzip (grpc.UseCompressor)

	"github.com/candorhq/candor/app"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
	"github.com/candorhq/candor/server/observe"
)

// Options configure the gRPC door.
type Options struct {
	Logger *slog.Logger
	// Metrics receive every call (shared with the pages).
	Metrics *observe.Metrics
	// RequestTimeout bounds a unary call; streaming calls are bounded by
	// StreamTimeout.
	RequestTimeout time.Duration
}

// NewServer returns a gRPC server with candor's interceptors and every
// service of the API registered over the core. The caller adds health and
// reflection and serves it.
func NewServer(core *app.App, keys []APIKey, o Options) (*grpc.Server, error) {
	ring, err := newKeyring(keys)
	if err != nil {
		return nil, err
	}
	auth := &authenticator{keys: ring, core: core}
	s := grpc.NewServer(
		grpc.ChainUnaryInterceptor(recoverUnary(o.Logger), observeUnary(o.Metrics), auth.unary, deadlineUnary(o.RequestTimeout)),
		grpc.ChainStreamInterceptor(recoverStream(o.Logger), observeStream(o.Metrics), auth.stream, deadlineStream(StreamTimeout)),
	)
	d := door{core: core, log: o.Logger}
	candorv1.RegisterConsentServiceServer(s, &consentService{door: d})
	candorv1.RegisterSignalServiceServer(s, &signalService{door: d})
	candorv1.RegisterCatalogServiceServer(s, &catalogService{door: d})
	candorv1.RegisterPolicyServiceServer(s, &policyService{door: d})
	candorv1.RegisterRecommendationServiceServer(s, &recommendationService{door: d})
	candorv1.RegisterControlServiceServer(s, &controlService{door: d})
	candorv1.RegisterAccessServiceServer(s, &accessService{door: d})
	candorv1.RegisterRightsServiceServer(s, &rightsService{door: d})
	candorv1.RegisterReviewServiceServer(s, &reviewService{door: d})
	return s, nil
}

// door is what every service shares: the core, and the log for errors.
type door struct {
	core *app.App
	log  *slog.Logger
}
