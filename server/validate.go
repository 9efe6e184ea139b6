package server

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/features"
)

// MaxCustomerIDLen bounds customer ids.
const MaxCustomerIDLen = 128

// checkCustomerID validates a customer id. Its error never echoes the id:
// the id is personal data and error messages are logged by callers.
func checkCustomerID(id string) error {
	if err := features.ValidateID("customer_id", id, MaxCustomerIDLen); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return nil
}

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}
