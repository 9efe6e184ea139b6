package rest

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// gatewayHandler is the REST gateway behind a check of the query: a query
// parameter the route does not take is refused (the gateway would ignore
// it, and a typo such as limt=5 would silently give the default), as is a
// value of the wrong type (the gateway would answer in strconv's words).
type gatewayHandler struct {
	mux    *runtime.ServeMux
	routes *gatewayRoutes
}

func (g gatewayHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery != "" {
		if rt := g.routes.match(r, r.Method); rt != nil {
			if err := rt.checkQuery(r.URL.RawQuery); err != nil {
				_, out := runtime.MarshalerForRequest(g.mux, r)
				errorHandler(r.Context(), g.mux, out, w, r, err)
				return
			}
		}
	}
	g.mux.ServeHTTP(w, r)
}

// alwaysKnownQuery are the query parameters every route takes: pretty asks
// for indented JSON (the pretty middleware).
var alwaysKnownQuery = []string{"pretty"}

// checkQuery returns an InvalidArgument status naming the query parameters
// the route does not take, or the first whose value does not parse.
func (rt *gatewayRoute) checkQuery(rawQuery string) error {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return status.Error(codes.InvalidArgument, "query: is not valid URL encoding")
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		if !slices.Contains(alwaysKnownQuery, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var unknown []string
	fields := map[string]protoreflect.FieldDescriptor{}
	spelled := map[string]string{} // field path to the key that named it
	for _, k := range keys {
		fd, path := rt.queryField(k)
		if fd == nil {
			unknown = append(unknown, fmt.Sprintf("%q", k))
			continue
		}
		if other, ok := spelled[path]; ok {
			return status.Errorf(codes.InvalidArgument, "%s: is given twice (as %s and %s)", path, other, k)
		}
		spelled[path], fields[k] = k, fd
	}
	if len(unknown) > 0 {
		known := "this call takes none"
		if len(rt.known) > 0 {
			known = "known: " + strings.Join(rt.known, ", ")
		}
		what := "unknown query parameter"
		if len(unknown) > 1 {
			what += "s"
		}
		return status.Errorf(codes.InvalidArgument, "%s %s (%s)", what, strings.Join(unknown, ", "), known)
	}
	for _, k := range keys {
		fd := fields[k]
		if !fd.IsList() && !fd.IsMap() && len(values[k]) > 1 {
			return status.Errorf(codes.InvalidArgument, "%s: must be given once", k)
		}
		// The gateway's own parser, on this parameter alone: it fails exactly
		// when the gateway would.
		msg := newMessage(rt.rpc.Input())
		if err := runtime.PopulateQueryParameters(msg, url.Values{k: values[k]}, utilities.NewDoubleArray(nil)); err != nil {
			return status.Errorf(codes.InvalidArgument, "%s: %s", k, expectation(fd, values[k][0]))
		}
	}
	return nil
}

// mapKeyQuery is how the gateway writes a map entry in a query:
// field[key]=value.
var mapKeyQuery = regexp.MustCompile(`^(.*)\[(.*)\]$`)

// queryField resolves a query parameter as the gateway does (proto or JSON
// field names, dots into singular messages, field[key] for a map entry) and
// returns its field and the field's path (with the map key), or nil when
// the route does not take it from the query.
func (rt *gatewayRoute) queryField(key string) (protoreflect.FieldDescriptor, string) {
	name, mapKey := key, ""
	if m := mapKeyQuery.FindStringSubmatch(key); m != nil {
		name, mapKey = m[1], "["+m[2]+"]"
	}
	md := rt.rpc.Input()
	var fd protoreflect.FieldDescriptor
	var path []string
	for i, part := range strings.Split(name, ".") {
		if i > 0 {
			if fd.Message() == nil || fd.IsList() || fd.IsMap() {
				return nil, ""
			}
			md = fd.Message()
		}
		fd = md.Fields().ByName(protoreflect.Name(part))
		if fd == nil {
			fd = md.Fields().ByJSONName(part)
		}
		if fd == nil {
			return nil, ""
		}
		path = append(path, string(fd.Name()))
	}
	if (mapKey != "" && !fd.IsMap()) || rt.isBound(path) {
		return nil, ""
	}
	return fd, strings.Join(path, ".") + mapKey
}

// newMessage returns an empty message of the type: the generated one when
// it is linked in, a dynamic one otherwise.
func newMessage(md protoreflect.MessageDescriptor) proto.Message {
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName()); err == nil {
		return mt.New().Interface()
	}
	return dynamicpb.NewMessage(md)
}
