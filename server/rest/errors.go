package rest

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// apiErrorBody is the gateway's error shape, for the answers echo gives
// under /v1/ before a request reaches the gateway.
type apiErrorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

// apiError answers with the gateway's error shape.
func apiError(c echo.Context, httpStatus int, code codes.Code, message string) error {
	return c.JSON(httpStatus, apiErrorBody{Code: int(code), Message: message, Details: []any{}})
}

// bodyTooLargeMessage is the message of a 413. Its code is InvalidArgument:
// the request has to change, and retrying it as it is will not help
// (ResourceExhausted, which grpc-go uses for an oversized message, reads as
// a quota to be waited out and is a 429 in the gateway's mapping).
var bodyTooLargeMessage = fmt.Sprintf("body: is larger than the limit of %d MiB (%d bytes)", MaxBodyBytes>>20, MaxBodyBytes)

// MaxBodyBytes bounds request bodies, 4 MiB (a full catalogue batch fits):
// LimitBody answers 413 past it.
const MaxBodyBytes = 4 << 20

// LimitBody answers 413 for a body over MaxBodyBytes, in the gateway's
// error shape under /v1/ (and echo's elsewhere): at once when the
// Content-Length says so, else when reading passes the limit (the gateway's
// decoder then fails, and errorHandler answers 413 for it). It replaces
// echo's middleware.BodyLimit, whose 413 the gateway would turn into a 400
// with echo's wording. Install it on the whole echo (e.Use), so that the
// pages' forms are bounded too: their form parsing fails with echo's 413.
func LimitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > MaxBodyBytes {
			if strings.HasPrefix(r.URL.Path, "/v1/") {
				return apiError(c, http.StatusRequestEntityTooLarge, codes.InvalidArgument, bodyTooLargeMessage)
			}
			return echo.ErrStatusRequestEntityTooLarge
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &limitedBody{ReadCloser: r.Body, left: MaxBodyBytes}
		}
		return next(c)
	}
}

// limitedBody reads at most left more bytes, then fails with echo's 413
// error (what the pages' form parsing expects) and remembers it did.
type limitedBody struct {
	io.ReadCloser
	left     int64
	exceeded bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.exceeded {
		return 0, echo.ErrStatusRequestEntityTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	if int64(n) <= b.left {
		b.left -= int64(n)
		return n, err
	}
	n, b.left, b.exceeded = int(b.left), 0, true
	return n, echo.ErrStatusRequestEntityTooLarge
}

// bodyTooLarge reports whether err is the gateway's failure to decode a body
// that passed the limit.
func bodyTooLarge(r *http.Request, err error) bool {
	b, ok := r.Body.(*limitedBody)
	if !ok || !b.exceeded {
		return false
	}
	s, ok := status.FromError(err)
	return ok && s.Code() == codes.InvalidArgument && s.Message() == bodyTooLargeMessage
}
