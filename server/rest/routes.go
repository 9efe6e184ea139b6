package rest

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// gatewayRoute is one REST binding of an RPC, read from the method's
// google.api.http annotation: what the generated gateway code registers.
type gatewayRoute struct {
	method   string // HTTP method
	template string // path template, e.g. /v1/customers/{customer_id}/consents
	rpc      protoreflect.MethodDescriptor
	// bound are the request fields the path and the body set, as proto
	// field names (a.b for a nested one); bodyAll when the body is "*".
	bound   [][]string
	bodyAll bool
	// known are the query parameters the route takes, in field order.
	known []string
}

// gatewayRoutes are the gateway's routes, and a second mux that matches
// requests against them exactly as the gateway's own mux does (same path
// templates, same parser, same matcher) without calling any handler.
type gatewayRoutes struct {
	routes  []*gatewayRoute
	methods []string // every HTTP method some route uses, in Allow order
	probe   *runtime.ServeMux
}

// newGatewayRoutes reads the routes of the named gRPC services
// (e.g. "candor.v1.ConsentService") from their descriptors, in the order
// the generated Register functions register them.
func newGatewayRoutes(services []string) (*gatewayRoutes, error) {
	t := &gatewayRoutes{probe: runtime.NewServeMux(
		runtime.WithDisablePathLengthFallback(),
		runtime.WithRoutingErrorHandler(probeMiss),
		runtime.WithErrorHandler(probeError),
	)}
	for _, name := range services {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			return nil, fmt.Errorf("rest: gateway service %s: %w", name, err)
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			return nil, fmt.Errorf("rest: gateway service %s: not a service", name)
		}
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
			if rule == nil {
				continue
			}
			for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
				rt, err := newGatewayRoute(md, r)
				if err != nil {
					return nil, err
				}
				if err := t.probe.HandlePath(rt.method, rt.template, func(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
					if p, ok := w.(*probeResult); ok {
						p.route = rt
					}
				}); err != nil {
					return nil, fmt.Errorf("rest: gateway route %s %s: %w", rt.method, rt.template, err)
				}
				t.routes = append(t.routes, rt)
				if !slices.Contains(t.methods, rt.method) {
					t.methods = append(t.methods, rt.method)
				}
			}
		}
	}
	order := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	rank := func(m string) int {
		if i := slices.Index(order, m); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortStableFunc(t.methods, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	return t, nil
}

// pathVariable matches a variable of a path template: {name} or
// {name=pattern}.
var pathVariable = regexp.MustCompile(`\{([^}=]+)`)

func newGatewayRoute(md protoreflect.MethodDescriptor, rule *annotations.HttpRule) (*gatewayRoute, error) {
	rt := &gatewayRoute{rpc: md}
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		rt.method, rt.template = http.MethodGet, p.Get
	case *annotations.HttpRule_Put:
		rt.method, rt.template = http.MethodPut, p.Put
	case *annotations.HttpRule_Post:
		rt.method, rt.template = http.MethodPost, p.Post
	case *annotations.HttpRule_Delete:
		rt.method, rt.template = http.MethodDelete, p.Delete
	case *annotations.HttpRule_Patch:
		rt.method, rt.template = http.MethodPatch, p.Patch
	case *annotations.HttpRule_Custom:
		rt.method, rt.template = p.Custom.GetKind(), p.Custom.GetPath()
	default:
		return nil, fmt.Errorf("rest: %s: google.api.http has no pattern", md.FullName())
	}
	for _, m := range pathVariable.FindAllStringSubmatch(rt.template, -1) {
		rt.bound = append(rt.bound, strings.Split(m[1], "."))
	}
	switch body := rule.GetBody(); body {
	case "":
	case "*":
		rt.bodyAll = true
	default:
		rt.bound = append(rt.bound, strings.Split(body, "."))
	}
	rt.known = rt.queryNames(md.Input(), nil, 0)
	return rt, nil
}

// covered reports whether the path or the body sets the field at path, or a
// message it is in.
func (rt *gatewayRoute) covered(path []string) bool {
	if rt.bodyAll {
		return true
	}
	for _, b := range rt.bound {
		if len(b) <= len(path) && slices.Equal(b, path[:len(b)]) {
			return true
		}
	}
	return false
}

// isBound reports whether the field at path is covered by the path or the
// body, or contains a field that is: the gateway does not take it from the
// query.
func (rt *gatewayRoute) isBound(path []string) bool {
	if rt.covered(path) {
		return true
	}
	for _, b := range rt.bound {
		if len(b) > len(path) && slices.Equal(b[:len(path)], path) {
			return true
		}
	}
	return false
}

// queryNames lists the query parameters of a route: the request's fields
// the path and body leave free, with dots into nested messages (not into
// well-known types such as Timestamp, which the query gives whole).
func (rt *gatewayRoute) queryNames(md protoreflect.MessageDescriptor, prefix []string, depth int) []string {
	var out []string
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		path := append(slices.Clone(prefix), string(fd.Name()))
		if rt.covered(path) {
			continue
		}
		if m := fd.Message(); m != nil && !fd.IsList() && !fd.IsMap() && !wellKnownJSONType(m) {
			if depth < 4 {
				out = append(out, rt.queryNames(m, path, depth+1)...)
			}
			continue
		}
		if !rt.isBound(path) {
			out = append(out, strings.Join(path, "."))
		}
	}
	return out
}

// probeResult is the ResponseWriter the probe mux is served with: its
// handlers only record which route matched.
type probeResult struct {
	route  *gatewayRoute
	header http.Header
}

func (p *probeResult) Header() http.Header {
	if p.header == nil {
		p.header = http.Header{}
	}
	return p.header
}
func (p *probeResult) Write(b []byte) (int, error) { return len(b), nil }
func (p *probeResult) WriteHeader(int)             {}

// probeMiss and probeError answer nothing: the probe has no answer to give.
func probeMiss(context.Context, *runtime.ServeMux, runtime.Marshaler, http.ResponseWriter, *http.Request, int) {
}

func probeError(context.Context, *runtime.ServeMux, runtime.Marshaler, http.ResponseWriter, *http.Request, error) {
}

// match returns the route the gateway serves the request's path with, were
// the request sent with method; nil when none.
func (t *gatewayRoutes) match(r *http.Request, method string) *gatewayRoute {
	pr := r.WithContext(r.Context())
	pr.Method = method
	var res probeResult
	t.probe.ServeHTTP(&res, pr)
	return res.route
}

// allowed lists the methods the request's path accepts.
func (t *gatewayRoutes) allowed(r *http.Request) []string {
	var out []string
	for _, m := range t.methods {
		if t.match(r, m) != nil {
			out = append(out, m)
		}
	}
	return out
}

// routingError answers a request the gateway has no route for. A path that
// exists but not for this method is a 405 with an Allow header (the gateway
// would answer 501 Unimplemented without one); the body keeps the gateway's
// shape, with code Unimplemented as the gateway has it.
func (t *gatewayRoutes) routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if httpStatus == http.StatusMethodNotAllowed {
		if allow := t.allowed(r); len(allow) > 0 {
			list := strings.Join(allow, ", ")
			w.Header().Set("Allow", list)
			errorHandler(ctx, mux, m, w, r, &runtime.HTTPStatusError{
				HTTPStatus: http.StatusMethodNotAllowed,
				Err:        status.Errorf(codes.Unimplemented, "method %s is not allowed on this path; it accepts %s", r.Method, list),
			})
			return
		}
	}
	runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
}
