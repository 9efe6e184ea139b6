package rest

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
	"github.com/candorhq/candor/server/grpcapi"
)

// prettyJSON is the media type of indented answers, asked for with ?pretty.
const prettyJSON = "application/json+pretty"

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

// NewGateway returns the REST gateway and the function that closes its
// connection. The gateway calls the gRPC server over connections made by
// dial (an in-process listener's, so that REST calls pass through the gRPC
// server's interceptors); ctx bounds the gateway's registration. Serve it
// under /v1/ with Mount.
//
// Requests it refuses before any call are answered in the API's words: a
// wrong method is a 405 with Allow (routingError), a body that does not
// decode names the field and what it must be (apiJSON), and an unknown
// query parameter is named (gatewayHandler). The path-length fallback is
// off: it served a form-encoded POST to a PATCH or PUT path as the GET of
// that path, a 200 that changed nothing.
func NewGateway(ctx context.Context, dial func(context.Context) (net.Conn, error)) (http.Handler, func(), error) {
	names := make([]string, len(gatewayServices))
	for i, svc := range gatewayServices {
		names[i] = svc.name
	}
	routes, err := newGatewayRoutes(names)
	if err != nil {
		return nil, nil, err
	}
	conn, err := grpc.NewClient("passthrough:///candor-in-process",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return dial(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("rest: gateway connection: %w", err)
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
			return nil, nil, fmt.Errorf("rest: gateway: %w", err)
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
