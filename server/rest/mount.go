package rest

import (
	"compress/gzip"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"google.golang.org/grpc/codes"

	"github.com/candorhq/candor/server/grpcapi"
)

// Mount serves gateway (from NewGateway) on e under /v1/, behind the checks
// the gateway needs before it sees a request: a path and query in UTF-8,
// ?pretty, and an export's longer write deadline; answers are gzipped for a
// client that asks (Accept-Encoding: gzip), streams included. The body
// limit is LimitBody, installed on the whole echo.
func Mount(e *echo.Echo, gateway http.Handler) {
	e.Any("/v1/*", echo.WrapHandler(gateway), compress, validUTF8, pretty, longExport)
}

// compress gzips answers of at least gzipMinLength bytes for clients that
// accept it, at the fastest level: answers are made per request, so CPU
// matters more than the last few percent of size.
var compress = middleware.GzipWithConfig(middleware.GzipConfig{Level: gzip.BestSpeed, MinLength: gzipMinLength})

// gzipMinLength is the smallest answer worth compressing (an error's body
// is smaller).
const gzipMinLength = 1024

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
