package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/candorhq/candor/server/grpcapi"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// maxBodyBytes bounds request bodies, 4 MiB (a full catalogue batch fits):
// limitBody answers 413 past it.
const maxBodyBytes = 4 << 20

// prettyJSON is the media type of indented answers, asked for with ?pretty.
const prettyJSON = "application/json+pretty"

// pretty turns a "pretty" query parameter into an Accept header asking the
// gateway for indented JSON (handy with curl).
func pretty(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		q := r.URL.Query()
		if q.Has("pretty") {
			q.Del("pretty")
			r.URL.RawQuery = q.Encode()
			r.Header.Set("Accept", prettyJSON)
		}
		return next(c)
	}
}

// validUTF8 answers 400 for a path or query that is not UTF-8: the gateway
// would fail to marshal it into a proto string and answer 500 (before auth).
func validUTF8(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ok := utf8.ValidString(r.URL.Path)
		for k, vs := range r.URL.Query() {
			ok = ok && utf8.ValidString(k)
			for _, v := range vs {
				ok = ok && utf8.ValidString(v)
			}
		}
		if !ok {
			return apiError(c, http.StatusBadRequest, codes.InvalidArgument, "path and query must be valid UTF-8")
		}
		return next(c)
	}
}

// longExport lets an export take longer than the server's write timeout
// (the gRPC call keeps its own bound, grpcapi.StreamTimeout).
func longExport(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/export") {
			_ = http.NewResponseController(c.Response().Writer).SetWriteDeadline(time.Now().Add(grpcapi.StreamTimeout))
		}
		return next(c)
	}
}

// gatewayServices are the services the REST gateway serves: their gRPC
// names (whose google.api.http annotations give the routes) and the
// generated functions that register them.
var gatewayServices = []struct {
	name     string
	register func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error
}{
	{candorv1.ConsentService_ServiceDesc.ServiceName, candorv1.RegisterConsentServiceHandler},
	{candorv1.SignalService_ServiceDesc.ServiceName, candorv1.RegisterSignalServiceHandler},
	{candorv1.CatalogService_ServiceDesc.ServiceName, candorv1.RegisterCatalogServiceHandler},
	{candorv1.PolicyService_ServiceDesc.ServiceName, candorv1.RegisterPolicyServiceHandler},
	{candorv1.RecommendationService_ServiceDesc.ServiceName, candorv1.RegisterRecommendationServiceHandler},
	{candorv1.ControlService_ServiceDesc.ServiceName, candorv1.RegisterControlServiceHandler},
	{candorv1.AccessService_ServiceDesc.ServiceName, candorv1.RegisterAccessServiceHandler},
	{candorv1.RightsService_ServiceDesc.ServiceName, candorv1.RegisterRightsServiceHandler},
	{candorv1.ReviewService_ServiceDesc.ServiceName, candorv1.RegisterReviewServiceHandler},
}

// newGateway returns the REST gateway, dialled to the gRPC server through the
// in-process listener. Requests it refuses before any call are answered in
// the API's words: a wrong method is a 405 with Allow (routingError), a body
// that does not decode names the field and what it must be (apiJSON), and
// an unknown query parameter is named (gatewayHandler). The path-length
// fallback is off: it served a form-encoded POST to a PATCH or PUT path as
// the GET of that path, a 200 that changed nothing.
func (s *Server) newGateway(ctx context.Context) (http.Handler, func(), error) {
	names := make([]string, len(gatewayServices))
	for i, svc := range gatewayServices {
		names[i] = svc.name
	}
	routes, err := newGatewayRoutes(names)
	if err != nil {
		return nil, nil, err
	}
	conn, err := grpc.NewClient("passthrough:///candor-in-process",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return s.inproc.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("server: gateway connection: %w", err)
	}
	// HTTPBodyMarshaler passes google.api.HttpBody answers (the export)
	// through as they are.
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: &apiJSON{runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}}),
		runtime.WithMarshalerOption(prettyJSON, &runtime.HTTPBodyMarshaler{Marshaler: &apiJSON{runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true, Multiline: true, Indent: "  "},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}}),
		runtime.WithErrorHandler(errorHandler),
		runtime.WithRoutingErrorHandler(routes.routingError),
		runtime.WithDisablePathLengthFallback(),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
	)
	for _, svc := range gatewayServices {
		if err := svc.register(ctx, mux, conn); err != nil {
			_ = conn.Close()
			return nil, nil, fmt.Errorf("server: gateway: %w", err)
		}
	}
	return gatewayHandler{mux: mux, routes: routes}, func() { _ = conn.Close() }, nil
}

// incomingHeader forwards the Global Privacy Control header besides what
// the gateway forwards by default (Authorization among it).
func incomingHeader(key string) (string, bool) {
	if http.CanonicalHeaderKey(key) == "Sec-Gpc" {
		return grpcapi.GPCHeader, true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// outgoingHeader turns the export's content-disposition metadata into the
// header that makes a browser save the document; other metadata keeps the
// gateway's Grpc-Metadata- prefix.
func outgoingHeader(key string) (string, bool) {
	if key == "content-disposition" {
		return "Content-Disposition", true
	}
	return runtime.MetadataHeaderPrefix + key, true
}

// errorHandler answers as grpc-gateway does ({"code", "message",
// "details"} with the HTTP status of the code), except that a 401 carries a
// proper Bearer challenge (the default handler would put the error message in
// WWW-Authenticate), a body past the limit is a 413, not a 400, and
// FailedPrecondition is 409, as the one error table says
// (grpcapi.HTTPStatus).
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	code := status.Code(err)
	switch {
	case bodyTooLarge(r, err):
		err = &runtime.HTTPStatusError{HTTPStatus: http.StatusRequestEntityTooLarge, Err: err}
	case code == codes.FailedPrecondition:
		err = &runtime.HTTPStatusError{HTTPStatus: grpcapi.HTTPStatus(code), Err: err}
	}
	if code == codes.Unauthenticated {
		w = bearerChallenge{w}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

type bearerChallenge struct{ http.ResponseWriter }

func (b bearerChallenge) WriteHeader(code int) {
	b.Header().Set("WWW-Authenticate", `Bearer realm="candor"`)
	b.ResponseWriter.WriteHeader(code)
}

// newEcho serves the gateway under /v1/, /healthz, /readyz, /metrics and the
// customer's pages (package web): "why am I seeing this" under /why/ and
// the privacy center under /privacy.
func (s *Server) newEcho(gateway http.Handler) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(limitBody)
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
		ReferrerPolicy: "no-referrer",
	}))
	e.Any("/v1/*", echo.WrapHandler(gateway), validUTF8, pretty, longExport)
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})))
	s.pages.Register(e)
	return e
}
