package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
)

// TestWhyHonoursGPC: the why page, opened or used with "Sec-GPC: 1",
// records the GPC opt-out once, as the API and the privacy center do.
func TestWhyHonoursGPC(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	ctx := context.Background()
	gpc := map[string]string{"Sec-GPC": "1"}
	session := f.open(t, f.token)
	before := len(f.ledgerOf(t, f.alice))

	// Without the header nothing is recorded.
	f.page(t, session)
	if n := len(f.ledgerOf(t, f.alice)); n != before {
		t.Fatalf("a page view without GPC recorded %d entries", n-before)
	}
	for i := 0; i < 2; i++ {
		resp := f.do(t, whyRequest{method: "GET", path: "/why/" + f.recID, cookies: []*http.Cookie{session}, header: gpc})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("page with GPC: status %d", resp.StatusCode)
		}
	}
	ledger := f.ledgerOf(t, f.alice)
	if len(ledger) != before+len(consent.GPCPurposes.Purposes()) {
		t.Fatalf("two page views with GPC recorded %d entries, want one per GPC purpose", len(ledger)-before)
	}
	for _, e := range ledger[before:] {
		if e.Method != "gpc" || e.ActorRole != "customer" || e.Granted {
			t.Errorf("GPC recorded %+v", e)
		}
	}
	state, err := f.s.core.Store().Consent(ctx, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if !state.Granted(consent.Personalization) {
		t.Error("GPC turned off personalisation")
	}
}

// TestWhyGPCKeepsMarketingOff: on the why page of a marketing email, while
// the browser sends Sec-GPC: 1, "use my data for marketing emails again" is
// refused with an explanation and the confirmation step, and changes
// nothing; without the header it works.
func TestWhyGPCKeepsMarketingOff(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	rec, err := f.s.recommendAs(context.Background(), app.RoleStorefront, app.RecommendRequest{CustomerID: "alice", Surface: "email", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	path := "/why/" + rec.GetRecommendationId()
	session := f.follow(t, path, f.token, whyCookie)
	gpc := map[string]string{"Sec-GPC": "1"}
	page := f.do(t, whyRequest{method: "GET", path: path, cookies: []*http.Cookie{session}, header: gpc})
	token := formToken(t, body(t, page))
	grant := url.Values{"csrf": {token}, "action": {"grant"}}

	refused := f.do(t, whyRequest{method: "POST", path: path + "/consent", form: grant, cookies: []*http.Cookie{session}, header: gpc})
	if refused.StatusCode != http.StatusConflict || !strings.Contains(body(t, refused), "Global Privacy Control") {
		t.Fatalf("granting marketing emails under GPC: status %d", refused.StatusCode)
	}
	state, err := f.s.core.Store().Consent(context.Background(), f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if state.Granted(consent.MarketingEmail) {
		t.Fatal("a refused grant changed the consent")
	}
	if ok := f.do(t, whyRequest{method: "POST", path: path + "/consent", form: grant, cookies: []*http.Cookie{session}}); ok.StatusCode != http.StatusSeeOther {
		t.Fatalf("granting without GPC: status %d", ok.StatusCode)
	}
	if state, _ := f.s.core.Store().Consent(context.Background(), f.alice); !state.Granted(consent.MarketingEmail) {
		t.Error("the grant without GPC was not recorded")
	}
}
