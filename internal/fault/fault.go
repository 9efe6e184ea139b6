// Package fault is candor's one error vocabulary: an error that carries a
// code (what kind of failure it is, for the caller) and a message written
// where the error is made, safe to show the caller because it names only
// what they sent. Wrapping with the operation ("features.Track: %w") keeps
// both: the code and message are found with errors.As, never by reading
// the error's text.
//
// The doors map codes to their own statuses in one table each (the gRPC
// adapter's, from which HTTP statuses derive). An error that carries no
// code is Internal: its text is for the server's log only, and the caller
// is told nothing but "internal error".
//
// fault must never import anything of candor's: every package may use it.
package fault

import (
	"context"
	"errors"
	"fmt"
)

// Code is the kind of a failure, as the caller should act on it.
type Code int

// The codes. Each names what the caller can do about the failure.
const (
	// Internal: a failure of ours; nothing the caller sent is wrong.
	Internal Code = iota
	// Invalid: the request is malformed or a value is out of range; the
	// caller must correct it.
	Invalid
	// NotFound: what the request names does not exist (or is not the
	// caller's to see).
	NotFound
	// AlreadyExists: the request would create what exists already.
	AlreadyExists
	// FailedPrecondition: the request is well formed but the state refuses
	// it until something else changes (for example a browser's Global
	// Privacy Control keeps a purpose off).
	FailedPrecondition
	// Conflict: a concurrent change won; read again and retry.
	Conflict
	// PermissionDenied: the caller is known but may not do this.
	PermissionDenied
	// Unauthenticated: the caller's credential is missing, unknown or
	// expired.
	Unauthenticated
	// Canceled: the caller gave up.
	Canceled
	// DeadlineExceeded: the request ran out of time.
	DeadlineExceeded
	// TooLarge: the request is over a size limit.
	TooLarge
)

var codeNames = [...]string{
	Internal: "internal", Invalid: "invalid", NotFound: "not_found", AlreadyExists: "already_exists",
	FailedPrecondition: "failed_precondition", Conflict: "conflict", PermissionDenied: "permission_denied",
	Unauthenticated: "unauthenticated", Canceled: "canceled", DeadlineExceeded: "deadline_exceeded",
	TooLarge: "too_large",
}

// String names the code.
func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("code(%d)", int(c))
}

// Error is a failure with a code and a message for the caller.
type Error struct {
	Code Code
	// Message is shown to the caller: it names fields and values they sent,
	// never a stored value, a key or another customer.
	Message string
	// Detail is an optional value the door may render for the caller (for
	// AlreadyExists, what exists already).
	Detail any
	// kind is the sentinel this error is an instance of (errors.Is).
	kind *Error
}

// Error returns the caller's message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the sentinel the error is an instance of, if any.
func (e *Error) Unwrap() error {
	if e.kind == nil {
		return nil
	}
	return e.kind
}

// Kind returns a sentinel: an Error to compare against with errors.Is, and
// to make instances of with Wrapf.
func Kind(code Code, message string) *Error { return &Error{Code: code, Message: message} }

// New returns an error with a code and a caller's message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrapf returns an instance of the sentinel kind with its own message:
// errors.Is(err, kind) holds, and the caller reads the message.
func Wrapf(kind *Error, format string, args ...any) *Error {
	return &Error{Code: kind.Code, Message: fmt.Sprintf(format, args...), kind: kind}
}

// Invalidf is New(Invalid, ...), the most common case.
func Invalidf(format string, args ...any) *Error { return New(Invalid, format, args...) }

// CodeOf returns the code of err: the code of the first Error in its chain,
// Canceled or DeadlineExceeded for a context's errors, Internal otherwise.
func CodeOf(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return Internal
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded
	}
	return Internal
}

// MessageOf returns what the caller may read of err: the message of the
// first Error in its chain, or a generic text for anything else.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	switch CodeOf(err) {
	case Canceled:
		return "the request was canceled"
	case DeadlineExceeded:
		return "the request took too long"
	}
	return "internal error"
}

// DetailOf returns the detail of the first Error in err's chain, if any.
func DetailOf(err error) any {
	var e *Error
	if errors.As(err, &e) {
		return e.Detail
	}
	return nil
}
