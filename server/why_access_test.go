package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
)

func TestWhyRefusesWhoItShould(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	session := f.open(t, f.token)
	bobToken := f.s.mintToken(t, "bob", 10*time.Minute)
	bob := f.open(t, bobToken)
	forged := []byte(f.token)
	forged[len(forged)-3] ^= 1
	unknown := explain.NewID()

	for _, c := range []struct {
		name    string
		req     whyRequest
		status  int
		message string
	}{
		{"no cookie", whyRequest{method: "GET", path: "/why/" + f.recID}, 401, "This link has expired or is not valid; open it again from the shop"},
		{"forged token in the link", whyRequest{method: "GET", path: "/why/" + f.recID + "?token=" + string(forged)}, 401, "open it again from the shop"},
		{"an API key as the token", whyRequest{method: "GET", path: "/why/" + f.recID + "?token=a-storefront-key-0123456789"}, 401, "open it again from the shop"},
		{"forged cookie", whyRequest{method: "GET", path: "/why/" + f.recID, cookies: []*http.Cookie{{Name: whyCookie, Value: string(forged)}}}, 401, "open it again from the shop"},
		{"another customer's token", whyRequest{method: "GET", path: "/why/" + f.recID, cookies: []*http.Cookie{bob}}, 403, "another customer"},
		{"unknown recommendation", whyRequest{method: "GET", path: "/why/" + unknown, cookies: []*http.Cookie{session}}, 404, "no longer kept"},
		{"bad id", whyRequest{method: "GET", path: "/why/rec_nope", cookies: []*http.Cookie{session}}, 400, "not complete"},
		{"nothing here", whyRequest{method: "GET", path: "/why/" + f.recID + "/other"}, 404, "no longer kept"},
		{"nothing at all", whyRequest{method: "GET", path: "/why"}, 404, "no longer kept"},
		{"another method", whyRequest{method: "PUT", path: "/why/" + f.recID}, 404, "no longer kept"},
		{"cross-site without cookie", whyRequest{method: "GET", path: "/why/" + f.recID, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 200, `http-equiv="refresh" content="0; url=/why/` + f.recID},
		{"cross-site with cookie", whyRequest{method: "GET", path: "/why/" + f.recID, cookies: []*http.Cookie{session}, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 200, "Why you are seeing these suggestions"},
	} {
		resp := f.do(t, c.req)
		page := body(t, resp)
		if resp.StatusCode != c.status || !strings.Contains(page, c.message) {
			t.Errorf("%s: status %d, want %d with %q:\n%s", c.name, resp.StatusCode, c.status, c.message, page)
		}
		if c.status >= 400 && strings.Contains(page, "<form") {
			t.Errorf("%s: a refusal shows controls", c.name)
		}
	}

	// A form's address, opened as a page, leads to the page.
	if resp := f.do(t, whyRequest{method: "GET", path: "/why/" + f.recID + "/controls"}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/why/"+f.recID {
		t.Errorf("GET of the controls form: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Expired: the same cookie, ten minutes later, is refused and cleared.
	f.now = f.now.Add(10 * time.Minute)
	resp := f.do(t, whyRequest{method: "GET", path: "/why/" + f.recID, cookies: []*http.Cookie{session}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body(t, resp), "open it again from the shop") {
		t.Fatalf("an expired session: status %d", resp.StatusCode)
	}
	if c := cookieNamed(resp, whyCookie); c == nil || c.MaxAge >= 0 {
		t.Fatalf("the expired session cookie is not cleared: %+v", c)
	}
	if resp := f.do(t, whyRequest{method: "GET", path: "/why/" + f.recID + "?token=" + f.token}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an expired token in the link: status %d", resp.StatusCode)
	}
}

func TestWhyFormsNeedTheSessionsToken(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	session := f.open(t, f.token)
	token := formToken(t, f.page(t, session))
	bobToken := f.s.mintToken(t, "bob", 10*time.Minute)
	bob := f.open(t, bobToken)
	signal := f.citedSignal(t)
	form := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "action": {"set"}, "kind": {"signals"}, "target": {signal}}
	}
	path := "/why/" + f.recID + "/controls"
	for _, c := range []struct {
		name   string
		req    whyRequest
		status int
	}{
		{"no form token", whyRequest{method: "POST", path: path, form: url.Values{"action": {"set"}, "kind": {"signals"}, "target": {signal}}, cookies: []*http.Cookie{session}}, 403},
		{"a wrong form token", whyRequest{method: "POST", path: path, form: form(otherToken(token)), cookies: []*http.Cookie{session}}, 403},
		{"the form token of another session", whyRequest{method: "POST", path: path, form: form(f.formTokenOf(t, bobToken)), cookies: []*http.Cookie{session}}, 403},
		{"started by another site", whyRequest{method: "POST", path: path, form: form(token), cookies: []*http.Cookie{session}, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403},
		{"no cookie", whyRequest{method: "POST", path: path, form: form(token)}, 401},
		{"another customer's cookie, with its own form token", whyRequest{method: "POST", path: path, form: form(f.formTokenOf(t, bobToken)), cookies: []*http.Cookie{bob}}, 403},
		{"revoking consent without the form token", whyRequest{method: "POST", path: "/why/" + f.recID + "/consent", form: url.Values{"action": {"revoke"}}, cookies: []*http.Cookie{session}}, 403},
	} {
		resp := f.do(t, c.req)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
		if cookieNamed(resp, whyFlashCookie) != nil {
			t.Errorf("%s: a refused request reports a change", c.name)
		}
	}
	ctx := context.Background()
	if controls, err := f.s.core.Store().Controls(ctx, f.alice); err != nil || len(controls.List()) != 0 {
		t.Fatalf("refused requests changed the controls: %v %v", controls.List(), err)
	}
	if state, err := f.s.core.Store().Consent(ctx, f.alice); err != nil || !state.Granted(consent.Personalization) {
		t.Fatalf("refused requests changed the consent: %v", err)
	}
}
