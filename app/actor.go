package app

import (
	"fmt"
	"slices"

	"github.com/candorhq/candor/features"
)

// Role is what a caller is allowed to do.
type Role string

// The roles. Systems hold API keys; a customer holds a customer token.
const (
	RoleStorefront     Role = "storefront"
	RoleSupportAgent   Role = "support_agent"
	RoleMarketer       Role = "marketer"
	RolePrivacyOfficer Role = "privacy_officer"
	RoleAdmin          Role = "admin"
	// RoleCustomer is a customer holding a customer token: they reach their
	// own data only.
	RoleCustomer Role = "customer"
)

// Roles lists every role an API key can have (customers hold tokens
// instead).
var Roles = []Role{RoleStorefront, RoleSupportAgent, RoleMarketer, RolePrivacyOfficer, RoleAdmin}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if slices.Contains(Roles, r) {
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (known: storefront, support_agent, marketer, privacy_officer, admin)", s)
}

// Actor is who is calling, as a door authenticated them.
type Actor struct {
	Role Role
	// KeyName names the API key used (never the key itself), for logs and
	// the audit trail; empty for a customer token.
	KeyName string
	// Customer is the customer a customer token is bound to (RoleCustomer
	// only).
	Customer features.Pseudonym
	// GPC is true when the request carries the customer's browser's
	// Global Privacy Control signal (Sec-GPC: 1), sent by the customer's
	// browser or relayed by the storefront or support chat.
	GPC bool
}

// CustomerActor is the actor of a customer acting with a token bound to p,
// as the pages and the API see them.
func CustomerActor(p features.Pseudonym, gpc bool) Actor {
	return Actor{Role: RoleCustomer, Customer: p, GPC: gpc}
}

// System is the actor of candor itself acting in a role (the demo seeding
// its data, `candor train`); it holds no key.
func System(r Role) Actor { return Actor{Role: r, KeyName: "system"} }
