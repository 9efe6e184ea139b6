package server

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// gpcEntries returns the ledger entries recorded with method gpc.
func gpcEntries(entries []consent.LedgerEntry) []consent.LedgerEntry {
	var out []consent.LedgerEntry
	for _, e := range entries {
		if e.Method == consent.MethodGPC.String() {
			out = append(out, e)
		}
	}
	return out
}

// checkGPCOptOut checks that the entries are one opt-out, by the actor, for
// exactly the GPC purposes.
func checkGPCOptOut(t *testing.T, entries []consent.LedgerEntry, actor app.Role) {
	t.Helper()
	var purposes []string
	for _, e := range entries {
		purposes = append(purposes, e.Purpose)
		if e.Granted || e.Sensitive || e.DeleteData || e.Method != "gpc" || e.ActorRole != string(actor) || e.NoticeVersion != "global-privacy-control" {
			t.Errorf("GPC ledger entry %+v", e)
		}
	}
	slices.Sort(purposes)
	want := consent.GPCPurposes.Names()
	slices.Sort(want)
	if !slices.Equal(purposes, want) {
		t.Errorf("GPC recorded for %v, want exactly %v", purposes, want)
	}
}

// TestGPCOverREST: a browser's Sec-GPC header, relayed by the storefront
// through the REST gateway, opts the customer out of the GPC purposes
// before the call is served, once.
func TestGPCOverREST(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	f.grant(t, "gpc-rest", consent.Personalization, consent.Support, consent.MarketingEmail, consent.ModelTraining)
	before := len(f.ledger(t, "gpc-rest"))

	resp, body := f.rest(t, http.MethodGet, "/v1/customers/gpc-rest/consents", keyOf(app.RoleStorefront), "", map[string]string{"Sec-GPC": "1"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET consents: %d %s", resp.StatusCode, body)
	}
	// The answer already shows the opt-out: it was applied before the call.
	var got struct {
		Consents []struct{ Purpose, Status, Method string }
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	for _, c := range got.Consents {
		p, err := consent.ParsePurpose("purpose", c.Purpose)
		if err != nil {
			t.Fatal(err)
		}
		want, method := "given", "api"
		if consent.GPCPurposes.Has(p) {
			want, method = "withdrawn", "gpc"
		}
		if c.Status != want || c.Method != method {
			t.Errorf("%s: %s by %s, want %s by %s", c.Purpose, c.Status, c.Method, want, method)
		}
	}
	entries := f.ledger(t, "gpc-rest")
	if len(entries) != before+len(consent.GPCPurposes.Purposes()) {
		t.Fatalf("ledger grew from %d to %d entries", before, len(entries))
	}
	checkGPCOptOut(t, entries[before:], app.RoleStorefront)

	// Repeated requests (any customer-facing method) add nothing.
	for _, path := range []string{"/v1/customers/gpc-rest/consents", "/v1/customers/gpc-rest/consents/history", "/v1/customers/gpc-rest/controls"} {
		resp, body := f.rest(t, http.MethodGet, path, keyOf(app.RoleStorefront), "", map[string]string{"Sec-GPC": "1"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
	}
	if n := len(f.ledger(t, "gpc-rest")); n != len(entries) {
		t.Errorf("repeated GPC requests grew the ledger from %d to %d entries", len(entries), n)
	}
	st := f.consentOf(t, "gpc-rest")
	if !st.Granted(consent.Personalization) || !st.Granted(consent.Support) {
		t.Errorf("GPC touched personalisation or support: %+v", st)
	}
}

// TestGPCOverGRPC: the same signal as gRPC metadata, on a customer's own
// call with a customer token; a customer never asked gets "refused".
func TestGPCOverGRPC(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	tok := f.token("gpc-grpc")
	resp, err := f.consents().GetConsents(callAs(tok, "sec-gpc", "1"), &candorv1.GetConsentsRequest{CustomerId: "gpc-grpc"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.GetConsents() {
		p, _ := consent.ParsePurpose("purpose", c.GetPurpose())
		want := "unknown"
		if consent.GPCPurposes.Has(p) {
			want = "refused"
		}
		if c.GetStatus() != want {
			t.Errorf("%s: %s, want %s", c.GetPurpose(), c.GetStatus(), want)
		}
	}
	entries := f.ledger(t, "gpc-grpc")
	checkGPCOptOut(t, entries, app.RoleCustomer)
	for i := 0; i < 3; i++ {
		if _, err := f.consents().ListConsentHistory(callAs(tok, "sec-gpc", "1"), &candorv1.ListConsentHistoryRequest{CustomerId: "gpc-grpc"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.ledger(t, "gpc-grpc")); n != len(entries) {
		t.Errorf("repeated GPC requests grew the ledger from %d to %d entries", len(entries), n)
	}

	// The support chat relays the header too; the export (a stream) honours it.
	f.grant(t, "gpc-support", consent.Support, consent.MarketingEmail)
	if _, err := f.consents().GetConsents(callAs(keyOf(app.RoleSupportAgent), "sec-gpc", "1"), &candorv1.GetConsentsRequest{CustomerId: "gpc-support"}); err != nil {
		t.Fatal(err)
	}
	checkGPCOptOut(t, gpcEntries(f.ledger(t, "gpc-support")), app.RoleSupportAgent)
	if f.consentOf(t, "gpc-support").Decisions[consent.MarketingEmail].Status != consent.StatusWithdrawn {
		t.Error("marketing_email not withdrawn")
	}

	stream, err := f.rights().ExportCustomerData(callAs(keyOf(app.RoleStorefront), "sec-gpc", "1"), &candorv1.ExportCustomerDataRequest{CustomerId: "gpc-export"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	checkGPCOptOut(t, f.ledger(t, "gpc-export"), app.RoleStorefront)
}

// TestGPCOnlyWhenSet: only the value "1" is a GPC signal.
func TestGPCOnlyWhenSet(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	f.grant(t, "gpc-unset", consent.MarketingEmail, consent.ModelTraining)
	before := f.ledger(t, "gpc-unset")
	for _, header := range []map[string]string{nil, {"Sec-GPC": "0"}, {"Sec-GPC": ""}, {"Sec-GPC": "true"}, {"Sec-GPC": "yes"}, {"Sec-GPC": "2"}} {
		resp, body := f.rest(t, http.MethodGet, "/v1/customers/gpc-unset/consents", keyOf(app.RoleStorefront), "", header)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("header %v: %d %s", header, resp.StatusCode, body)
		}
	}
	for _, v := range []string{"0", "", "true", "01"} {
		if _, err := f.consents().GetConsents(callAs(keyOf(app.RoleStorefront), "sec-gpc", v), &candorv1.GetConsentsRequest{CustomerId: "gpc-unset"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.consents().GetConsents(callAs(keyOf(app.RoleStorefront)), &candorv1.GetConsentsRequest{CustomerId: "gpc-unset"}); err != nil {
		t.Fatal(err)
	}
	if after := f.ledger(t, "gpc-unset"); len(after) != len(before) {
		t.Errorf("requests without Sec-GPC: 1 recorded %v", after[len(before):])
	}
	if st := f.consentOf(t, "gpc-unset"); !st.Granted(consent.MarketingEmail) || !st.Granted(consent.ModelTraining) {
		t.Errorf("consent changed: %+v", st)
	}
}

// TestGPCIgnoredForOtherRoles: the privacy officer, the marketer and the
// admin do not relay a customer's browser; their headers record nothing.
// Refused calls record nothing either.
func TestGPCIgnoredForOtherRoles(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	f.grant(t, "gpc-roles", consent.MarketingEmail, consent.ModelTraining)
	before := len(f.ledger(t, "gpc-roles"))
	gpc := map[string]string{"Sec-GPC": "1"}

	// The privacy officer reads the customer's data.
	for _, path := range []string{"/v1/customers/gpc-roles/consents", "/v1/customers/gpc-roles/consents/history", "/v1/customers/gpc-roles/export", "/v1/customers/gpc-roles/reviews"} {
		if resp, body := f.rest(t, http.MethodGet, path, keyOf(app.RolePrivacyOfficer), "", gpc); resp.StatusCode != http.StatusOK {
			t.Errorf("privacy officer GET %s: %d %s", path, resp.StatusCode, body)
		}
	}
	if _, err := f.consents().GetConsents(callAs(keyOf(app.RolePrivacyOfficer), "sec-gpc", "1"), &candorv1.GetConsentsRequest{CustomerId: "gpc-roles"}); err != nil {
		t.Fatal(err)
	}
	// The marketer and the admin may not read it at all.
	for _, r := range []app.Role{app.RoleMarketer, app.RoleAdmin} {
		resp, body := f.rest(t, http.MethodGet, "/v1/customers/gpc-roles/consents", keyOf(r), "", gpc)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s GET consents: %d %s", r, resp.StatusCode, body)
		}
		_, err := f.consents().GetConsents(callAs(keyOf(r), "sec-gpc", "1"), &candorv1.GetConsentsRequest{CustomerId: "gpc-roles"})
		wantCode(t, string(r)+" GetConsents", err, codes.PermissionDenied)
		// Their own methods name no customer.
		if resp, body := f.rest(t, http.MethodGet, "/v1/about/ranking", keyOf(r), "", gpc); resp.StatusCode != http.StatusOK {
			t.Errorf("%s GET /v1/about/ranking: %d %s", r, resp.StatusCode, body)
		}
	}
	// Another customer's token, no credential, a bad key: refused before GPC.
	resp, _ := f.rest(t, http.MethodGet, "/v1/customers/gpc-roles/consents", f.token("someone-else"), "", gpc)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("another customer's token: %d", resp.StatusCode)
	}
	for _, cred := range []string{"", "not-a-key-0123456789"} {
		if resp, _ := f.rest(t, http.MethodGet, "/v1/customers/gpc-roles/consents", cred, "", gpc); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("credential %q: %d", cred, resp.StatusCode)
		}
	}
	if after := f.ledger(t, "gpc-roles"); len(after) != before {
		t.Errorf("recorded %v", after[before:])
	}
	if n := len(f.ledger(t, "someone-else")); n != 0 {
		t.Errorf("a refused call recorded %d entries for the token's customer", n)
	}
	// An invalid customer id is refused, with nothing recorded anywhere.
	_, err := f.consents().GetConsents(callAs(keyOf(app.RoleStorefront), "sec-gpc", "1"), &candorv1.GetConsentsRequest{CustomerId: " padded "})
	wantCode(t, "GetConsents with a bad id", err, codes.InvalidArgument)
	if n := len(f.ledger(t, " padded ")); n != 0 {
		t.Errorf("an invalid id recorded %d entries", n)
	}
}

// TestGPCThenMarketingGrant: as gpc.go documents, GPC records an opt-out
// for the GPC purposes still given (or never asked) when a request carries
// it; a grant made afterwards stands until the next request that carries
// the header, which withdraws it again (one new entry), and a grant made
// in a call that carries the header is applied after the opt-out, so the
// customer's explicit choice in that call is the one that stands.
func TestGPCThenMarketingGrant(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	const c = "gpc-grant"
	f.grant(t, c, consent.MarketingEmail)
	gpc := map[string]string{"Sec-GPC": "1"}
	if resp, body := f.rest(t, http.MethodGet, "/v1/customers/"+c+"/consents", keyOf(app.RoleStorefront), "", gpc); resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if st := f.consentOf(t, c).Decisions[consent.MarketingEmail]; st.Status != consent.StatusWithdrawn || st.Method != consent.MethodGPC {
		t.Fatalf("after GPC marketing_email is %v by %v", st.Status, st.Method)
	}
	n := len(f.ledger(t, c))

	// The customer grants marketing_email again on a request without the
	// header: it stands, and further requests without the header keep it.
	grant := `{"choices":[{"purpose":"marketing_email","granted":true}],"notice_version":"v2","method":"ui"}`
	if resp, body := f.rest(t, http.MethodPatch, "/v1/customers/"+c+"/consents", f.token(c), grant, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("grant: %d %s", resp.StatusCode, body)
	}
	if resp, body := f.rest(t, http.MethodGet, "/v1/customers/"+c+"/consents", keyOf(app.RoleStorefront), "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("a request without the header: %d %s", resp.StatusCode, body)
	}
	if st := f.consentOf(t, c).Decisions[consent.MarketingEmail]; st.Status != consent.StatusGiven || st.Method != consent.MethodUI {
		t.Fatalf("after the grant marketing_email is %v by %v", st.Status, st.Method)
	}
	if got := len(f.ledger(t, c)); got != n+1 {
		t.Fatalf("ledger has %d entries, want %d", got, n+1)
	}

	// The next request carrying the header withdraws it again: one entry,
	// for marketing_email only (model_training is still refused).
	if resp, body := f.rest(t, http.MethodGet, "/v1/customers/"+c+"/consents", keyOf(app.RoleStorefront), "", gpc); resp.StatusCode != http.StatusOK {
		t.Fatalf("a request with the header: %d %s", resp.StatusCode, body)
	}
	entries := f.ledger(t, c)
	if len(entries) != n+2 {
		t.Fatalf("ledger has %d entries, want %d", len(entries), n+2)
	}
	if e := entries[n+1]; e.Purpose != "marketing_email" || e.Granted || e.Method != "gpc" {
		t.Errorf("last entry %+v, want a GPC withdrawal of marketing_email", e)
	}

	// A grant in a call that carries the header conflicts with it: 409,
	// naming the Global Privacy Control, and nothing is written.
	resp, body := f.rest(t, http.MethodPatch, "/v1/customers/"+c+"/consents", f.token(c), grant, gpc)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "Global Privacy Control") || !strings.Contains(string(body), `"code":9`) {
		t.Fatalf("grant with GPC: %d %s; want 409 FailedPrecondition naming the Global Privacy Control", resp.StatusCode, body)
	}
	if got := len(f.ledger(t, c)); got != n+2 {
		t.Fatalf("a refused grant wrote to the ledger: %d entries, want %d", got, n+2)
	}
	// Confirmed, it stands, the ledger says it was confirmed over GPC, and
	// the next request carrying the header leaves it alone.
	confirmed := `{"choices":[{"purpose":"marketing_email","granted":true}],"notice_version":"v2","method":"ui","confirm_over_gpc":true}`
	if resp, body := f.rest(t, http.MethodPatch, "/v1/customers/"+c+"/consents", f.token(c), confirmed, gpc); resp.StatusCode != http.StatusOK {
		t.Fatalf("confirmed grant with GPC: %d %s", resp.StatusCode, body)
	}
	if resp, body := f.rest(t, http.MethodGet, "/v1/customers/"+c+"/consents", keyOf(app.RoleStorefront), "", gpc); resp.StatusCode != http.StatusOK {
		t.Fatalf("a request with the header: %d %s", resp.StatusCode, body)
	}
	entries = f.ledger(t, c)
	if len(entries) != n+3 || entries[n+2].Method != "ui" || !entries[n+2].Granted || !entries[n+2].OverGPC {
		t.Errorf("ledger after a confirmed grant carrying GPC: %+v", entries[n:])
	}
	if st := f.consentOf(t, c); !st.Granted(consent.MarketingEmail) || !st.Decisions[consent.MarketingEmail].OverGPC {
		t.Error("the confirmed grant does not stand")
	}
}

// TestGPCOnErasure: erasing a customer with the header set leaves nothing
// behind and records nothing: an opt-out written just before the erasure
// would be personal data created only to be deleted, and would make the
// receipt of a customer of whom nothing is held count records.
func TestGPCOnErasure(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	for i, cred := range []string{keyOf(app.RoleStorefront), f.token("gpc-erase")} {
		resp, err := f.rights().EraseCustomer(callAs(cred, "sec-gpc", "1"), &candorv1.EraseCustomerRequest{CustomerId: "gpc-erase"})
		if err != nil {
			t.Fatal(err)
		}
		for kind, n := range resp.GetReceipt().GetCounts() {
			if n != 0 {
				t.Errorf("erasure %d of a customer of whom nothing is held counts %d %s", i, n, kind)
			}
		}
		if keys := f.customerKeys(t, "gpc-erase"); len(keys) != 0 {
			t.Errorf("erasure %d left %v", i, keys)
		}
	}
}

// TestGPCOnTCFImport: a TC string relayed with the browser's GPC signal
// cannot turn on what the signal keeps off (a CMP's string is not the
// customer's confirmation); the rest of it is imported.
func TestGPCOnTCFImport(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	const c = "gpc-tcf"
	resp, err := f.rights().ImportTcfConsent(callAs(keyOf(app.RoleStorefront), "sec-gpc", "1"), &candorv1.ImportTcfConsentRequest{CustomerId: c, TcString: tcPurposes1to10})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetTcfPurposesGranted()) != 10 {
		t.Errorf("the string's TCF purposes: %v", resp.GetTcfPurposesGranted())
	}
	st := f.consentOf(t, c)
	if !st.Granted(consent.Personalization) {
		t.Error("personalisation, which GPC does not cover, was not imported")
	}
	if d := st.Decisions[consent.ModelTraining]; d.Granted() || d.Method != consent.MethodGPC {
		t.Errorf("model_training after an import relayed with GPC: %+v; want GPC's opt-out to stand", d)
	}
	for _, e := range f.ledger(t, c) {
		if e.Purpose == "model_training" && e.Granted {
			t.Errorf("the ledger records a model_training grant: %+v", e)
		}
	}
}
