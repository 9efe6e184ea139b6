package server

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// MaxCustomerIDLen bounds customer ids.
const MaxCustomerIDLen = 128

// checkCustomerID validates a customer id without ever echoing it back: the
// id is personal data and error messages are logged by callers.
func checkCustomerID(id string) error {
	switch {
	case id == "":
		return status.Error(codes.InvalidArgument, "customer_id: required")
	case len(id) > MaxCustomerIDLen:
		return status.Errorf(codes.InvalidArgument, "customer_id: at most %d bytes", MaxCustomerIDLen)
	case !utf8.ValidString(id):
		return status.Error(codes.InvalidArgument, "customer_id: must be valid UTF-8")
	case strings.TrimSpace(id) != id:
		return status.Error(codes.InvalidArgument, "customer_id: must not start or end with white space")
	}
	for _, r := range id {
		if !unicode.IsPrint(r) {
			return status.Error(codes.InvalidArgument, "customer_id: must not contain control or invisible characters")
		}
	}
	return nil
}

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}
