package app

import (
	"slices"
	"strings"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/internal/fault"
)

// Op names a use case as the API calls it ("Service/Method"), the unit of
// the access table.
type Op string

// The use cases.
const (
	OpGetConsents        Op = "ConsentService/GetConsents"
	OpUpdateConsents     Op = "ConsentService/UpdateConsents"
	OpListConsentHistory Op = "ConsentService/ListConsentHistory"

	OpListControls       Op = "ControlService/ListControls"
	OpSetControl         Op = "ControlService/SetControl"
	OpRemoveControl      Op = "ControlService/RemoveControl"
	OpListControlHistory Op = "ControlService/ListControlHistory"

	OpCreateCustomerToken   Op = "AccessService/CreateCustomerToken"
	OpGetRankingDescription Op = "AccessService/GetRankingDescription"

	OpTrackSignals Op = "SignalService/TrackSignals"

	OpPutItem          Op = "CatalogService/PutItem"
	OpGetItem          Op = "CatalogService/GetItem"
	OpDeleteItem       Op = "CatalogService/DeleteItem"
	OpBatchUpsertItems Op = "CatalogService/BatchUpsertItems"

	OpGetSignalSets Op = "PolicyService/GetSignalSets"
	OpPutSignalSets Op = "PolicyService/PutSignalSets"

	OpGetRecommendations Op = "RecommendationService/GetRecommendations"
	OpGetRecommendation  Op = "RecommendationService/GetRecommendation"

	OpExportCustomerData  Op = "RightsService/ExportCustomerData"
	OpEraseCustomer       Op = "RightsService/EraseCustomer"
	OpListErasureReceipts Op = "RightsService/ListErasureReceipts"
	OpDeleteSignal        Op = "RightsService/DeleteSignal"
	OpCorrectSignal       Op = "RightsService/CorrectSignal"
	OpObjectToProfiling   Op = "RightsService/ObjectToProfiling"
	OpImportTcfConsent    Op = "RightsService/ImportTcfConsent"

	OpCreateReview        Op = "ReviewService/CreateReview"
	OpListCustomerReviews Op = "ReviewService/ListCustomerReviews"
	OpListReviews         Op = "ReviewService/ListReviews"
	OpGetReview           Op = "ReviewService/GetReview"
	OpUpdateReview        Op = "ReviewService/UpdateReview"
)

// Method is the op's method name ("GetConsents").
func (o Op) Method() string {
	_, m, _ := strings.Cut(string(o), "/")
	return m
}

// access is the role table: which role may run which use case. An op not
// listed is refused to everyone (fail closed). Keep README.md's table in
// step with this one; TestAccessTableMatchesReadme checks it.
//
// The principles: the storefront tracks, recommends and records the
// customer's consent choices; the support agent does the same for the support
// surface; the marketer sets the signal-set policy and never reads a
// customer's data; the privacy officer audits (reads consent, ledgers, stored
// explanations and policy) but changes nothing; the admin manages the
// catalogue; a customer, with a customer token, reads and changes their own
// consents, controls and explanations, and nobody else's (customerOf). The
// customer's rights (export, correction, erasure, objection, human review)
// are exercised by the customer or by the storefront on their behalf;
// erasure is not the support chat's to start, and the privacy officer works
// the review queue and reads erasure receipts, which name no one.
var access = map[Op][]Role{
	OpGetConsents:        {RoleStorefront, RoleSupportAgent, RolePrivacyOfficer, RoleCustomer},
	OpUpdateConsents:     {RoleStorefront, RoleSupportAgent, RoleCustomer},
	OpListConsentHistory: {RoleStorefront, RoleSupportAgent, RolePrivacyOfficer, RoleCustomer},

	OpListControls:       {RoleStorefront, RoleSupportAgent, RolePrivacyOfficer, RoleCustomer},
	OpSetControl:         {RoleStorefront, RoleSupportAgent, RoleCustomer},
	OpRemoveControl:      {RoleStorefront, RoleSupportAgent, RoleCustomer},
	OpListControlHistory: {RoleStorefront, RoleSupportAgent, RolePrivacyOfficer, RoleCustomer},

	OpCreateCustomerToken:   {RoleStorefront},
	OpGetRankingDescription: {RoleStorefront, RoleSupportAgent, RoleMarketer, RolePrivacyOfficer, RoleAdmin, RoleCustomer},

	OpTrackSignals: {RoleStorefront, RoleSupportAgent},

	OpPutItem:          {RoleAdmin},
	OpGetItem:          {RoleAdmin, RoleStorefront, RoleSupportAgent, RoleMarketer},
	OpDeleteItem:       {RoleAdmin},
	OpBatchUpsertItems: {RoleAdmin},

	OpGetSignalSets: {RoleMarketer, RolePrivacyOfficer, RoleAdmin},
	OpPutSignalSets: {RoleMarketer},

	OpGetRecommendations: {RoleStorefront, RoleSupportAgent},
	OpGetRecommendation:  {RoleStorefront, RoleSupportAgent, RolePrivacyOfficer, RoleCustomer},

	OpExportCustomerData:  {RoleStorefront, RolePrivacyOfficer, RoleCustomer},
	OpEraseCustomer:       {RoleStorefront, RoleCustomer},
	OpListErasureReceipts: {RolePrivacyOfficer},
	OpDeleteSignal:        {RoleStorefront, RoleSupportAgent, RoleCustomer},
	OpCorrectSignal:       {RoleStorefront, RoleSupportAgent, RoleCustomer},
	OpObjectToProfiling:   {RoleStorefront, RoleSupportAgent, RoleCustomer},
	OpImportTcfConsent:    {RoleStorefront},

	OpCreateReview:        {RoleStorefront, RoleSupportAgent, RoleCustomer},
	OpListCustomerReviews: {RoleStorefront, RoleSupportAgent, RolePrivacyOfficer, RoleCustomer},
	OpListReviews:         {RolePrivacyOfficer},
	OpGetReview:           {RolePrivacyOfficer},
	OpUpdateReview:        {RolePrivacyOfficer},
}

// Ops lists every use case of the access table.
func Ops() []Op {
	ops := make([]Op, 0, len(access))
	for op := range access {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

// RolesFor lists the roles that may run op.
func RolesFor(op Op) []Role { return slices.Clone(access[op]) }

// Allowed reports whether the role may run op.
func Allowed(op Op, r Role) bool { return slices.Contains(access[op], r) }

// authorize refuses an actor whose role may not run op.
func authorize(op Op, who Actor) error {
	if !Allowed(op, who.Role) {
		return fault.New(fault.PermissionDenied, "role %s may not call %s", who.Role, op.Method())
	}
	return nil
}

// Surfaces are where an answer is shown; the surface decides the purpose.
var surfaces = map[string]consent.Purpose{
	"storefront": consent.Personalization,
	"support":    consent.Support,
	"email":      consent.MarketingEmail,
}

// surfaceAccess narrows GetRecommendations: which surfaces each role may ask
// for, and so which stored answers it may read back. A role not listed is
// not limited (the privacy officer reads every answer; a customer their
// own).
var surfaceAccess = map[Role][]string{
	RoleStorefront:   {"storefront", "email"},
	RoleSupportAgent: {"support"},
}

// surfaceReadable reports whether the actor may read answers of a surface.
func surfaceReadable(who Actor, surface string) bool {
	allowed, limited := surfaceAccess[who.Role]
	return !limited || slices.Contains(allowed, surface)
}
