package server

import "slices"

// access is the role table: which role may call which method. A method not
// listed is refused to everyone (fail closed). Keep README.md's table in step
// with this one; TestAccessTableMatchesReadme checks it.
//
// The principles: the storefront tracks, recommends and records the
// customer's consent choices; the support agent does the same for the support
// surface; the marketer sets the signal-set policy and never reads a
// customer's data; the privacy officer audits (reads consent, ledgers, stored
// explanations and policy) but changes nothing; the admin manages the
// catalogue; a customer, with a customer token, reads and changes their own
// consents, controls and explanations, and nobody else's (enforced by the
// auth interceptor and, for stored recommendations, by their handler). The
// customer's rights (export, correction, erasure, objection, human review)
// are exercised by the customer or by the storefront on their behalf;
// erasure is not the support chat's to start, and the privacy officer works
// the review queue and reads erasure receipts, which name no one.
var access = map[string][]Role{
	"/candor.v1.ConsentService/GetConsents":        {RoleStorefront, RoleSupportAgent, RolePrivacyOfficer, RoleCustomer},
	"/candor.v1.ConsentService/UpdateConsents":     {RoleStorefront, RoleSupportAgent, RoleCustomer},
	"/candor.v1.ConsentService/ListConsentHistory": {RoleStorefront, RoleSupportAgent, RolePrivacyOfficer, RoleCustomer},

	"/candor.v1.ControlService/ListControls":       {RoleStorefront, RoleSupportAgent, RolePrivacyOfficer, RoleCustomer},
	"/candor.v1.ControlService/SetControl":         {RoleStorefront, RoleSupportAgent, RoleCustomer},
	"/candor.v1.ControlService/RemoveControl":      {RoleStorefront, RoleSupportAgent, RoleCustomer},
	"/candor.v1.ControlService/ListControlHistory": {RoleStorefront, RoleSupportAgent, RolePrivacyOfficer, RoleCustomer},

	"/candor.v1.AccessService/CreateCustomerToken":   {RoleStorefront},
	"/candor.v1.AccessService/GetRankingDescription": {RoleStorefront, RoleSupportAgent, RoleMarketer, RolePrivacyOfficer, RoleAdmin, RoleCustomer},

	"/candor.v1.SignalService/TrackSignals": {RoleStorefront, RoleSupportAgent},

	"/candor.v1.CatalogService/PutItem":          {RoleAdmin},
	"/candor.v1.CatalogService/GetItem":          {RoleAdmin, RoleStorefront, RoleSupportAgent, RoleMarketer},
	"/candor.v1.CatalogService/DeleteItem":       {RoleAdmin},
	"/candor.v1.CatalogService/BatchUpsertItems": {RoleAdmin},

	"/candor.v1.PolicyService/GetSignalSets": {RoleMarketer, RolePrivacyOfficer, RoleAdmin},
	"/candor.v1.PolicyService/PutSignalSets": {RoleMarketer},

	"/candor.v1.RecommendationService/GetRecommendations": {RoleStorefront, RoleSupportAgent},
	"/candor.v1.RecommendationService/GetRecommendation":  {RoleStorefront, RoleSupportAgent, RolePrivacyOfficer, RoleCustomer},

	"/candor.v1.RightsService/ExportCustomerData":  {RoleStorefront, RolePrivacyOfficer, RoleCustomer},
	"/candor.v1.RightsService/EraseCustomer":       {RoleStorefront, RoleCustomer},
	"/candor.v1.RightsService/ListErasureReceipts": {RolePrivacyOfficer},
	"/candor.v1.RightsService/DeleteSignal":        {RoleStorefront, RoleSupportAgent, RoleCustomer},
	"/candor.v1.RightsService/CorrectSignal":       {RoleStorefront, RoleSupportAgent, RoleCustomer},
	"/candor.v1.RightsService/ObjectToProfiling":   {RoleStorefront, RoleSupportAgent, RoleCustomer},
	"/candor.v1.RightsService/ImportTcfConsent":    {RoleStorefront},

	"/candor.v1.ReviewService/CreateReview":        {RoleStorefront, RoleSupportAgent, RoleCustomer},
	"/candor.v1.ReviewService/ListCustomerReviews": {RoleStorefront, RoleSupportAgent, RolePrivacyOfficer, RoleCustomer},
	"/candor.v1.ReviewService/ListReviews":         {RolePrivacyOfficer},
	"/candor.v1.ReviewService/GetReview":           {RolePrivacyOfficer},
	"/candor.v1.ReviewService/UpdateReview":        {RolePrivacyOfficer},
}

// surfaceAccess narrows GetRecommendations: which surfaces each role may ask
// for.
var surfaceAccess = map[Role][]string{
	RoleStorefront:   {"storefront", "email"},
	RoleSupportAgent: {"support"},
}

func allowed(fullMethod string, role Role) bool {
	return slices.Contains(access[fullMethod], role)
}
