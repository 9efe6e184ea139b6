package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"google.golang.org/grpc/codes"

	"github.com/candorhq/candor/internal/fault"
	"github.com/candorhq/candor/server/grpcapi"
)

// pageFailure is how a page answers an error of the core: the HTTP status
// the API would answer it with (grpcapi's one table), and which message to
// show (a Kind of templates/message.html and privacy_message.html), with
// the caller's words for invalid input.
type pageFailure struct {
	status int
	kind   string
	detail string
}

// pageKinds names the message each gRPC code is shown as.
var pageKinds = map[codes.Code]string{
	codes.InvalidArgument:    "invalid",
	codes.NotFound:           "gone",
	codes.AlreadyExists:      "exists",
	codes.FailedPrecondition: "gpc",
	codes.Aborted:            "busy",
	codes.PermissionDenied:   "forbidden",
	codes.Unauthenticated:    "expired",
}

// failureOf maps an error of the core for a page. Anything unknown is
// "error" (500), logged by the caller.
func failureOf(err error) pageFailure {
	code := grpcapi.Code(err)
	f := pageFailure{status: grpcapi.HTTPStatus(code), kind: pageKinds[code]}
	if f.kind == "" {
		// Ours, or the request ran out of time or was given up: the
		// customer can only try again.
		f.kind, f.status = "error", http.StatusInternalServerError
		if code == codes.Canceled || code == codes.DeadlineExceeded {
			f.status = http.StatusServiceUnavailable
		}
	}
	if code == codes.InvalidArgument {
		f.detail = fault.MessageOf(err)
	}
	return f
}

// logFailure logs an internal failure of a page, by route, never with the
// request.
func (p *Pages) logFailure(c echo.Context, f pageFailure, err error) {
	if f.kind == "error" && f.status == http.StatusInternalServerError {
		p.log.ErrorContext(c.Request().Context(), "page failed", "route", c.Path(), "err", err)
	}
}
