package rest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// TestGatewayRoutesAgreeWithTheMux: the routes read from the google.api.http
// annotations match exactly the requests the generated gateway code serves,
// for every method: the Allow header and the query check rest on them.
func TestGatewayRoutesAgreeWithTheMux(t *testing.T) {
	t.Parallel()
	var names []string
	for _, svc := range gatewayServices {
		names = append(names, svc.name)
	}
	routes, err := newGatewayRoutes(names)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("passthrough:///unused", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The generated handlers, behind a middleware that only says a handler
	// was reached.
	mux := runtime.NewServeMux(
		runtime.WithDisablePathLengthFallback(),
		runtime.WithMiddlewares(func(runtime.HandlerFunc) runtime.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request, _ map[string]string) { w.WriteHeader(http.StatusTeapot) }
		}),
	)
	for _, svc := range gatewayServices {
		if err := svc.register(context.Background(), mux, conn); err != nil {
			t.Fatal(err)
		}
	}
	variable := regexp.MustCompile(`\{[^}]+\}`)
	if len(routes.routes) < len(gatewayServices) {
		t.Fatalf("%d routes for %d services", len(routes.routes), len(gatewayServices))
	}
	for _, rt := range routes.routes {
		path := variable.ReplaceAllString(rt.template, "x1")
		for _, m := range routes.methods {
			req := httptest.NewRequest(m, path, nil)
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			served := w.Code == http.StatusTeapot
			if got := routes.match(req, m); (got != nil) != served {
				t.Errorf("%s %s: the gateway serves it: %v, the routes match it: %v", m, path, served, got != nil)
			} else if m == rt.method && got != rt {
				t.Errorf("%s %s: matched %s %s", m, path, got.method, got.template)
			}
		}
	}
	// Every service of the API with REST bindings is one of them.
	protoregistry.GlobalFiles.RangeFilesByPackage("candor.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				if proto.HasExtension(sd.Methods().Get(j).Options(), annotations.E_Http) && !slices.Contains(names, string(sd.FullName())) {
					t.Errorf("%s has REST bindings but is not in gatewayServices", sd.FullName())
					break
				}
			}
		}
		return true
	})
}
