package app

import (
	"context"
	"crypto/subtle"

	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
)

// MaxCustomerIDLen bounds customer ids.
const MaxCustomerIDLen = 128

// errOtherCustomer is the answer to a customer token used on someone else's
// data. It says nothing of whether that data exists.
var errOtherCustomer = fault.New(fault.PermissionDenied, "a customer token opens only its own customer's data")

// checkCustomerID validates a customer id. Its error never echoes the id:
// the id is personal data and error messages are logged by callers.
func checkCustomerID(id string) error {
	return features.ValidateID("customer_id", id, MaxCustomerIDLen)
}

// customer starts every use case about one customer, in the same order on
// every door: it checks that the actor's role may run op, resolves whom the
// request is about, and records the Global Privacy Control opt-out the
// request carries (gpc.go). A customer token reaches its own customer only;
// with no id (the pages know the customer by the token alone) it names its
// own.
func (a *App) customer(ctx context.Context, op Op, who Actor, customerID string) (features.Pseudonym, error) {
	p, err := a.whose(op, who, customerID)
	if err != nil {
		return "", err
	}
	if err := a.honourGPC(ctx, who, p); err != nil {
		return "", err
	}
	return p, nil
}

// whose authorizes op and resolves the customer, without GPC.
func (a *App) whose(op Op, who Actor, customerID string) (features.Pseudonym, error) {
	if err := authorize(op, who); err != nil {
		return "", err
	}
	if who.Role == RoleCustomer {
		if customerID == "" {
			return who.Customer, nil
		}
		if subtle.ConstantTimeCompare([]byte(a.Pseudonym(customerID)), []byte(who.Customer)) != 1 {
			return "", errOtherCustomer
		}
		return who.Customer, nil
	}
	if err := checkCustomerID(customerID); err != nil {
		return "", err
	}
	return a.Pseudonym(customerID), nil
}

// owns reports whether the actor, when a customer, is the customer p; any
// other role passes (its access was checked by the table).
func owns(who Actor, p features.Pseudonym) bool {
	return who.Role != RoleCustomer || subtle.ConstantTimeCompare([]byte(p), []byte(who.Customer)) == 1
}
