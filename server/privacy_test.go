package server

import (
	"context"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// The privacy center's tests use the why page's fixture (web_test.go):
// alice consented to personalisation, has five signals and a stored
// answer; requests go through the real echo stack with a fixed clock.

// otherToken is a form token that differs from tok in its last character.
func otherToken(tok string) string {
	last := byte('x')
	if tok[len(tok)-1] == last {
		last = 'y'
	}
	return tok[:len(tok)-1] + string(last)
}

// openPrivacy follows a privacy-center link and returns the session cookie.
func (f *whyFixture) openPrivacy(t *testing.T, token string) *http.Cookie {
	t.Helper()
	return f.follow(t, "/privacy", token, privacyCookie)
}

func (f *whyFixture) privacyPage(t *testing.T, cookies ...*http.Cookie) string {
	t.Helper()
	resp := f.do(t, whyRequest{method: "GET", path: "/privacy", cookies: cookies})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("privacy page: status %d: %s", resp.StatusCode, body(t, resp))
	}
	return body(t, resp)
}

// privacySession opens alice's privacy center and returns its cookie and
// the form token of its page.
func (f *whyFixture) privacySession(t *testing.T) (*http.Cookie, string) {
	t.Helper()
	session := f.openPrivacy(t, f.token)
	return session, formToken(t, f.privacyPage(t, session))
}

// privacyDone checks that an action answered with the redirect to the page
// and a sealed status message, and returns the page it leads to.
func (f *whyFixture) privacyDone(t *testing.T, resp *http.Response, session *http.Cookie) string {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/privacy" {
		t.Fatalf("status %d, Location %q: %s", resp.StatusCode, resp.Header.Get("Location"), body(t, resp))
	}
	flash := cookieNamed(resp, privacyFlashCookie)
	if flash == nil || !flash.HttpOnly || flash.SameSite != http.SameSiteStrictMode || flash.Path != "/privacy" {
		t.Fatalf("status message cookie %+v", flash)
	}
	return f.privacyPage(t, session, flash)
}

func (f *whyFixture) storedSignals(t *testing.T, p features.Pseudonym) map[string]features.Signal {
	t.Helper()
	out := map[string]features.Signal{}
	if err := f.s.core.Store().EachSignal(context.Background(), p, func(s features.Signal) error {
		out[s.ID] = s
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *whyFixture) ledgerOf(t *testing.T, p features.Pseudonym) []consent.LedgerEntry {
	t.Helper()
	var out []consent.LedgerEntry
	if err := f.s.core.Store().EachLedgerEntry(context.Background(), p, func(e consent.LedgerEntry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// aSignal returns one of alice's signal ids and its item, in a stable order.
func (f *whyFixture) aSignal(t *testing.T) (string, string) {
	t.Helper()
	best := ""
	for id := range f.signals {
		if best == "" || id < best {
			best = id
		}
	}
	return best, f.signals[best]
}

func TestPrivacyLinkMovesTokenIntoCookie(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	resp := f.do(t, whyRequest{method: "GET", path: "/privacy?token=" + f.token})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/privacy" {
		t.Fatalf("status %d, Location %q; want 303 to the page without the token", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := cookieNamed(resp, privacyCookie)
	expires := f.s.tokenExpiry(t, f.token)
	switch {
	case c == nil:
		t.Fatal("no session cookie")
	case c.Value != f.token, !c.HttpOnly, c.SameSite != http.SameSiteStrictMode, c.Path != "/privacy", c.Secure:
		t.Fatalf("session cookie %+v", c)
	case !c.Expires.Equal(expires) || c.MaxAge != 600:
		t.Fatalf("the cookie expires %s (max-age %d); the token %s", c.Expires, c.MaxAge, expires)
	}
	if tls := f.do(t, whyRequest{method: "GET", path: "/privacy?token=" + f.token, tls: true}); cookieNamed(tls, privacyCookie) == nil || !cookieNamed(tls, privacyCookie).Secure {
		t.Fatal("over TLS the session cookie is not Secure")
	}

	page := f.privacyPage(t, c)
	if strings.Contains(page, f.token) || strings.Contains(page, strings.TrimPrefix(f.token, app.TokenPrefix)) {
		t.Fatal("the page holds the customer token")
	}
	if strings.Contains(page, string(f.alice)) || strings.Contains(page, "alice") {
		t.Fatal("the page names the customer")
	}
	for _, want := range []string{
		`<html lang="en">`, `name="viewport"`, "<h1>Your privacy</h1>", `<nav class="toc" aria-label="On this page">`,
		">View my data<", ">Update preferences<", ">Download my data<", ">Delete my account<", ">My review requests<",
		`role="status"`, `aria-live="polite"`, `href="/why/style.css"`, `href="/privacy/style.css"`,
		"Personalised recommendations", consent.Personalization.Info().Description, "Marketing emails",
		`aria-label="Turn off personalised recommendations">Turn off</button>`, `aria-label="Turn on marketing emails">Turn on</button>`,
		"5 actions of yours in the shop", "Item &lt;0&gt;", "You added it to your cart", "Collected for", "Personalised recommendations: <strong>used now</strong>.", "Kept until",
		`href="/privacy/export" download="candor-export.json"`, `href="/privacy/delete"`,
		"You have not asked us to review a recommendation", "in about 10 minutes",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "Item <") {
		t.Error("an item title reached the page unescaped")
	}
	// Every signal has its delete button and its correction form, each
	// control labelled.
	for id, item := range f.signals {
		for _, want := range []string{`name="signal" value="` + id + `"`, `name="was_item" value="` + item + `"`, `<label for="item-` + id + `">`, `<label for="time-` + id + `">`} {
			if !strings.Contains(page, want) {
				t.Errorf("signal %s: the page lacks %q", id, want)
			}
		}
	}
	if n := strings.Count(page, ">Delete</button>"); n != len(f.signals) {
		t.Errorf("%d delete buttons for %d signals", n, len(f.signals))
	}
	checkPageStructure(t, page)
	checkLabels(t, page)

	css := f.do(t, whyRequest{method: "GET", path: "/privacy/style.css"})
	if css.StatusCode != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("style sheet: %d %s", css.StatusCode, css.Header.Get("Content-Type"))
	}
}

// checkLabels: every visible form field has a label naming it.
func checkLabels(t *testing.T, page string) {
	t.Helper()
	inputs := regexp.MustCompile(`<input([^>]*)>`).FindAllStringSubmatch(page, -1)
	for _, in := range inputs {
		if strings.Contains(in[1], `type="hidden"`) {
			continue
		}
		m := regexp.MustCompile(`id="([^"]+)"`).FindStringSubmatch(in[1])
		if m == nil || !strings.Contains(page, `<label for="`+m[1]+`">`) {
			t.Errorf("a field without a label: %s", in[0])
		}
	}
}

// checkHeadings: one h1 first, and no heading level skipped.
func checkHeadings(t *testing.T, page string) {
	t.Helper()
	levels := regexp.MustCompile(`<h([1-6])[ >]`).FindAllStringSubmatch(page, -1)
	if len(levels) == 0 || levels[0][1] != "1" {
		t.Fatal("the page does not start with an h1")
	}
	prev := 1
	for _, l := range levels[1:] {
		n, _ := strconv.Atoi(l[1])
		if n == 1 || n > prev+1 {
			t.Errorf("heading h%d after h%d", n, prev)
		}
		prev = n
	}
}

func TestPrivacyRefusesWhoItShould(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	session := f.openPrivacy(t, f.token)
	forged := []byte(f.token)
	forged[len(forged)-3] ^= 1
	for _, c := range []struct {
		name    string
		req     whyRequest
		status  int
		message string
	}{
		{"no cookie", whyRequest{method: "GET", path: "/privacy"}, 401, "This link has expired or is not valid; open it again from the shop"},
		{"forged token in the link", whyRequest{method: "GET", path: "/privacy?token=" + string(forged)}, 401, "open it again from the shop"},
		{"an API key as the token", whyRequest{method: "GET", path: "/privacy?token=a-storefront-key-0123456789"}, 401, "open it again from the shop"},
		{"forged cookie", whyRequest{method: "GET", path: "/privacy", cookies: []*http.Cookie{{Name: privacyCookie, Value: string(forged)}}}, 401, "open it again from the shop"},
		{"the why page's cookie", whyRequest{method: "GET", path: "/privacy", cookies: []*http.Cookie{{Name: whyCookie, Value: f.token}}}, 401, "open it again from the shop"},
		{"download without cookie", whyRequest{method: "GET", path: "/privacy/export"}, 401, "open it again from the shop"},
		{"confirmation without cookie", whyRequest{method: "GET", path: "/privacy/delete"}, 401, "open it again from the shop"},
		{"nothing here", whyRequest{method: "GET", path: "/privacy/other", cookies: []*http.Cookie{session}}, 404, "There is no such page"},
		{"cross-site without cookie", whyRequest{method: "GET", path: "/privacy", header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 200, `http-equiv="refresh" content="0; url=/privacy"`},
		{"cross-site with cookie", whyRequest{method: "GET", path: "/privacy", cookies: []*http.Cookie{session}, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 200, "<h1>Your privacy</h1>"},
		{"no receipt", whyRequest{method: "GET", path: "/privacy/deleted", cookies: []*http.Cookie{session}}, 404, "There is no receipt to show"},
	} {
		resp := f.do(t, c.req)
		page := body(t, resp)
		if resp.StatusCode != c.status || !strings.Contains(page, c.message) {
			t.Errorf("%s: status %d, want %d with %q:\n%s", c.name, resp.StatusCode, c.status, c.message, page)
		}
		if c.status >= 400 && strings.Contains(page, "<form") {
			t.Errorf("%s: a refusal shows controls", c.name)
		}
		if c.status >= 400 && strings.Contains(page, "Item &lt;") {
			t.Errorf("%s: a refusal shows the customer's data", c.name)
		}
	}
	// Another method changes nothing and shows no data.
	for _, p := range []string{"/privacy", "/privacy/export", "/privacy/deleted"} {
		resp := f.do(t, whyRequest{method: "PUT", path: p, cookies: []*http.Cookie{session}})
		if page := body(t, resp); resp.StatusCode != http.StatusNotFound || !strings.Contains(page, "There is no such page") || strings.Contains(page, "Item &lt;") {
			t.Errorf("PUT %s: status %d", p, resp.StatusCode)
		}
	}
	// A form's address, opened as a page, leads to the page.
	for _, p := range []string{"/privacy/consent", "/privacy/signals", "/privacy/object"} {
		if resp := f.do(t, whyRequest{method: "GET", path: p}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/privacy" {
			t.Errorf("GET %s: status %d, Location %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// Another customer's session shows their data, never alice's.
	bobToken := f.s.mintToken(t, "bob", 10*time.Minute)
	bob := f.privacyPage(t, f.openPrivacy(t, bobToken))
	if strings.Contains(bob, "Item &lt;") || !strings.Contains(bob, "We hold none of your actions.") || strings.Contains(bob, `aria-label="Turn off`) {
		t.Errorf("bob's privacy center shows someone's data:\n%s", bob)
	}

	// Expired: the same cookie, ten minutes later, is refused and cleared.
	f.now = f.now.Add(10 * time.Minute)
	resp := f.do(t, whyRequest{method: "GET", path: "/privacy", cookies: []*http.Cookie{session}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an expired session: status %d", resp.StatusCode)
	}
	if c := cookieNamed(resp, privacyCookie); c == nil || c.MaxAge >= 0 || c.Path != "/privacy" {
		t.Fatalf("the expired session cookie is not cleared: %+v", c)
	}
	if resp := f.do(t, whyRequest{method: "GET", path: "/privacy?token=" + f.token}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an expired token in the link: status %d", resp.StatusCode)
	}
	if resp := f.do(t, whyRequest{method: "GET", path: "/privacy/export", cookies: []*http.Cookie{session}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a download with an expired session: status %d", resp.StatusCode)
	}
}

// TestPrivacyHeaders: every response of the privacy center, the download,
// the refusals and the style sheet included, is private and locked down
// (f.do checks no-store, the CSP and the Referrer-Policy of each).
func TestPrivacyHeaders(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	session, token := f.privacySession(t)
	reqs := []whyRequest{
		{method: "GET", path: "/privacy?token=" + f.token},
		{method: "GET", path: "/privacy", cookies: []*http.Cookie{session}},
		{method: "GET", path: "/privacy"},
		{method: "GET", path: "/privacy/style.css"},
		{method: "GET", path: "/privacy/export", cookies: []*http.Cookie{session}},
		{method: "GET", path: "/privacy/delete", cookies: []*http.Cookie{session}},
		{method: "GET", path: "/privacy/deleted"},
		{method: "GET", path: "/privacy/nope"},
		{method: "POST", path: "/privacy/consent", form: url.Values{"csrf": {token}, "action": {"revoke"}, "purpose": {"personalization"}}, cookies: []*http.Cookie{session}},
		{method: "POST", path: "/privacy/consent", form: url.Values{"action": {"grant"}}, cookies: []*http.Cookie{session}},
	}
	for _, r := range reqs {
		resp := f.do(t, r)
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Robots-Tag": "noindex, nofollow", "Cross-Origin-Opener-Policy": "same-origin"} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s %s: %s %q, want %q", r.method, r.path, k, got, want)
			}
		}
	}
}

// TestPrivacyFormsNeedTheSessionsToken: every form of the privacy center
// is refused without the session's form token, with another session's,
// from another site or without the cookie, and nothing changes.
func TestPrivacyFormsNeedTheSessionsToken(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	ctx := context.Background()
	session, token := f.privacySession(t)
	bobToken := f.s.mintToken(t, "bob", 10*time.Minute)
	bob := f.openPrivacy(t, bobToken)
	bobForm := f.formTokenOf(t, bobToken)
	signal, _ := f.aSignal(t)
	forms := map[string]url.Values{
		"/privacy/consent": {"action": {"revoke"}, "purpose": {"personalization"}},
		"/privacy/signals": {"action": {"delete"}, "signal": {signal}},
		"/privacy/object":  {},
		"/privacy/delete":  {"confirm": {"yes"}},
	}
	correct := url.Values{"action": {"correct"}, "signal": {signal}, "item_id": {"sku-11"}, "was_item": {"sku-00"}}
	with := func(v url.Values, csrf string) url.Values {
		out := url.Values{}
		for k, vs := range v {
			out[k] = vs
		}
		if csrf != "" {
			out.Set("csrf", csrf)
		}
		return out
	}
	heldBefore, _ := f.s.core.Store().Held(ctx, f.alice)
	ledgerBefore := len(f.ledgerOf(t, f.alice))
	for path, form := range map[string]url.Values{"/privacy/consent": forms["/privacy/consent"], "/privacy/signals": forms["/privacy/signals"], "/privacy/object": forms["/privacy/object"], "/privacy/delete": forms["/privacy/delete"], "/privacy/signals#correct": correct} {
		path = strings.TrimSuffix(path, "#correct")
		for _, c := range []struct {
			name   string
			req    whyRequest
			status int
		}{
			{"no form token", whyRequest{form: with(form, "")}, 403},
			{"a wrong form token", whyRequest{form: with(form, otherToken(token)), cookies: []*http.Cookie{session}}, 403},
			{"the form token of another session", whyRequest{form: with(form, bobForm), cookies: []*http.Cookie{session}}, 403},
			{"another customer's cookie with its own form token", whyRequest{form: with(form, bobForm), cookies: []*http.Cookie{bob}}, -1},
			{"started by another site", whyRequest{form: with(form, token), cookies: []*http.Cookie{session}, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403},
			{"no cookie", whyRequest{form: with(form, token)}, 401},
			{"the why page's cookie", whyRequest{form: with(form, token), cookies: []*http.Cookie{{Name: whyCookie, Value: f.token}}}, 401},
		} {
			if c.name == "no form token" {
				c.req.cookies = []*http.Cookie{session}
			}
			c.req.method, c.req.path = "POST", path
			resp := f.do(t, c.req)
			if c.status > 0 && resp.StatusCode != c.status {
				t.Errorf("%s %v, %s: status %d, want %d", path, form, c.name, resp.StatusCode, c.status)
			}
			if c.status > 0 && (cookieNamed(resp, privacyFlashCookie) != nil || cookieNamed(resp, privacyReceiptCookie) != nil) {
				t.Errorf("%s, %s: a refused request reports a change", path, c.name)
			}
		}
	}
	// Nothing of alice's changed: her consent, signals, ledger, account.
	if state, err := f.s.core.Store().Consent(ctx, f.alice); err != nil || !state.Granted(consent.Personalization) {
		t.Fatalf("refused requests changed the consent: %v", err)
	}
	if got := f.storedSignals(t, f.alice); len(got) != len(f.signals) || got[signal].ItemID != f.signals[signal] {
		t.Fatalf("refused requests changed the signals: %v", got)
	}
	if heldAfter, _ := f.s.core.Store().Held(ctx, f.alice); heldAfter.Signals != heldBefore.Signals || heldAfter.ConsentDecision != heldBefore.ConsentDecision || heldAfter.ControlChanges != heldBefore.ControlChanges {
		t.Fatalf("refused requests changed what is held: %+v, was %+v", heldAfter, heldBefore)
	}
	if n := len(f.ledgerOf(t, f.alice)); n != ledgerBefore {
		t.Fatalf("refused requests recorded %d ledger entries", n-ledgerBefore)
	}
	// (bob's own cookie and form token deleted bob's account, not alice's.)
	receipts, _, _ := f.s.core.Store().Receipts(ctx, 0, 10)
	for _, r := range receipts {
		if r.Counts["signals"] != 0 {
			t.Fatalf("a refused request erased alice's account: %+v", receipts)
		}
	}
}

// TestPrivacyToggles: each purpose's switch turns it off and on, one click
// each way, through the consent store, recorded in the ledger as the
// customer's choice in a user interface.
func TestPrivacyToggles(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	ctx := context.Background()
	session, token := f.privacySession(t)
	toggle := func(purpose, action string) string {
		t.Helper()
		resp := f.do(t, whyRequest{method: "POST", path: "/privacy/consent", cookies: []*http.Cookie{session},
			form: url.Values{"csrf": {token}, "purpose": {purpose}, "action": {action}}})
		return f.privacyDone(t, resp, session)
	}
	entries := len(f.ledgerOf(t, f.alice))
	for _, p := range consent.Purposes() {
		name := p.String()
		state, _ := f.s.core.Store().Consent(ctx, f.alice)
		first, second := "grant", "revoke"
		if state.Granted(p) {
			first, second = "revoke", "grant"
		}
		for _, action := range []string{first, second} {
			page := toggle(name, action)
			state, err := f.s.core.Store().Consent(ctx, f.alice)
			if err != nil {
				t.Fatal(err)
			}
			if state.Granted(p) != (action == "grant") {
				t.Fatalf("%s %s: the store says granted=%v", action, name, state.Granted(p))
			}
			d := state.Decisions[p]
			if d.Method != consent.MethodUI || !d.UpdatedAt.Equal(f.now) {
				t.Errorf("%s %s: decision %+v", action, name, d)
			}
			// The page says so, and offers the way back: one click.
			words := strings.ToLower(html.UnescapeString(strings.Split(strings.Split(page, `id="purpose-`+name+`">`)[1], "</h3>")[0]))
			on := map[string]string{"grant": "You turned on " + words + ".", "revoke": "You turned off " + words + ": we no longer use your data for this."}[action]
			next := map[string]string{"grant": "off", "revoke": "on"}[action]
			for _, want := range []string{on, `class="status status-shown"`, `name="purpose" value="` + name + `">` + "\n" + `<input type="hidden" name="action" value="` + map[string]string{"grant": "revoke", "revoke": "grant"}[action] + `">`, ">Turn " + next + "</button>"} {
				if !strings.Contains(html.UnescapeString(page), want) {
					t.Errorf("%s %s: the page lacks %q", action, name, want)
				}
			}
			entries++
			ledger := f.ledgerOf(t, f.alice)
			if len(ledger) != entries {
				t.Fatalf("%d ledger entries, want %d", len(ledger), entries)
			}
			if e := ledger[len(ledger)-1]; e.Purpose != name || e.Granted != (action == "grant") || e.Method != "ui" || e.ActorRole != "customer" || e.NoticeVersion == "" {
				t.Errorf("%s %s recorded as %+v", action, name, e)
			}
		}
	}
	// The status message shows once.
	if again := f.privacyPage(t, session); strings.Contains(again, "status-shown") {
		t.Error("the status message shows again on reload")
	}
	// Mistakes change nothing and say what was wrong.
	for _, c := range []struct {
		form url.Values
		says string
	}{
		{url.Values{"purpose": {"telepathy"}, "action": {"grant"}}, "unknown purpose"},
		{url.Values{"purpose": {"support"}, "action": {"toggle"}}, "must be grant or revoke"},
	} {
		c.form.Set("csrf", token)
		resp := f.do(t, whyRequest{method: "POST", path: "/privacy/consent", form: c.form, cookies: []*http.Cookie{session}})
		if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, c.says) || !strings.Contains(page, `href="/privacy"`) {
			t.Errorf("%v: status %d:\n%s", c.form, resp.StatusCode, page)
		}
	}
	if n := len(f.ledgerOf(t, f.alice)); n != entries {
		t.Fatalf("mistakes recorded %d entries", n-entries)
	}
}

// TestPrivacyObject: objecting to profiling records what
// RightsService.ObjectToProfiling records.
func TestPrivacyObject(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	session, token := f.privacySession(t)
	page := f.privacyDone(t, f.do(t, whyRequest{method: "POST", path: "/privacy/object", form: url.Values{"csrf": {token}}, cookies: []*http.Cookie{session}}), session)
	state, _ := f.s.core.Store().Consent(context.Background(), f.alice)
	for _, p := range []consent.Purpose{consent.Personalization, consent.MarketingEmail} {
		if d := state.Decisions[p]; d.Granted() || d.Method != consent.MethodObjection {
			t.Errorf("%s after the objection: %+v", p, d)
		}
	}
	if !strings.Contains(page, "We recorded your objection to profiling") || !strings.Contains(page, "you objected to profiling on 26 November 2026") {
		t.Errorf("the page does not say so:\n%s", page)
	}
}

// TestPrivacyGPC: a privacy-center request carrying "Sec-GPC: 1" records
// the opt-out (method gpc, by the customer) once; while the browser sends
// it the purposes it covers stay off.
func TestPrivacyGPC(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	ctx := context.Background()
	gpc := map[string]string{"Sec-GPC": "1"}
	if _, err := f.s.core.Store().ApplyConsent(ctx, f.alice, consent.Change{
		Choices: []consent.Choice{{Purpose: consent.MarketingEmail, Granted: true}}, NoticeVersion: "v1", Method: consent.MethodAPI, ActorRole: "storefront", At: f.now,
	}); err != nil {
		t.Fatal(err)
	}
	before := len(f.ledgerOf(t, f.alice))

	// The link itself carries it.
	resp := f.do(t, whyRequest{method: "GET", path: "/privacy?token=" + f.token, header: gpc})
	session := cookieNamed(resp, privacyCookie)
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("opening the link: %d", resp.StatusCode)
	}
	state, _ := f.s.core.Store().Consent(ctx, f.alice)
	for _, p := range consent.GPCPurposes.Purposes() {
		if d := state.Decisions[p]; d.Granted() || d.Method != consent.MethodGPC {
			t.Errorf("%s after GPC: %+v", p, d)
		}
	}
	if !state.Granted(consent.Personalization) {
		t.Error("GPC turned off personalisation")
	}
	ledger := f.ledgerOf(t, f.alice)
	if len(ledger) != before+2 {
		t.Fatalf("GPC recorded %d entries, want 2", len(ledger)-before)
	}
	for _, e := range ledger[before:] {
		if e.Method != "gpc" || e.ActorRole != "customer" || e.Granted {
			t.Errorf("GPC recorded %+v", e)
		}
	}

	// The page, with the header: nothing new recorded; it says why these
	// are off and offers no plain switch to turn them on, only one that
	// confirms the choice over the signal (TestPagesConfirmOverGPC).
	resp = f.do(t, whyRequest{method: "GET", path: "/privacy", cookies: []*http.Cookie{session}, header: gpc})
	page := body(t, resp)
	for _, want := range []string{"Your browser sends the Global Privacy Control signal", "marketing emails and training our recommendation model stay off", "turned off by your browser", "This stays off while your browser sends the Global Privacy Control."} {
		if !strings.Contains(html.UnescapeString(page), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, `aria-label="Turn on marketing emails"`) || !strings.Contains(page, `aria-label="Turn on help from customer service"`) {
		t.Error("with GPC, the page offers to turn on a GPC purpose, or no other")
	}
	checkPageStructure(t, page)
	token := formToken(t, page)
	// Turning one on while the browser sends it is refused.
	resp = f.do(t, whyRequest{method: "POST", path: "/privacy/consent", header: gpc, cookies: []*http.Cookie{session},
		form: url.Values{"csrf": {token}, "purpose": {"marketing_email"}, "action": {"grant"}}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body(t, resp), "Global Privacy Control") {
		t.Errorf("granting marketing emails with GPC: %d", resp.StatusCode)
	}
	if n := len(f.ledgerOf(t, f.alice)); n != before+2 {
		t.Fatalf("requests with GPC recorded %d more entries", n-before-2)
	}
	// Every kind of request applies it: a customer who turned one on
	// without the header, then downloads with it, has it off again.
	f.privacyDone(t, f.do(t, whyRequest{method: "POST", path: "/privacy/consent", cookies: []*http.Cookie{session},
		form: url.Values{"csrf": {token}, "purpose": {"marketing_email"}, "action": {"grant"}}}), session)
	if state, _ := f.s.core.Store().Consent(ctx, f.alice); !state.Granted(consent.MarketingEmail) {
		t.Fatal("without GPC the customer could not turn marketing emails on")
	}
	if resp := f.do(t, whyRequest{method: "GET", path: "/privacy/export", cookies: []*http.Cookie{session}, header: gpc}); resp.StatusCode != http.StatusOK {
		t.Fatalf("download: %d", resp.StatusCode)
	}
	if state, _ := f.s.core.Store().Consent(ctx, f.alice); state.Granted(consent.MarketingEmail) || state.Decisions[consent.MarketingEmail].Method != consent.MethodGPC {
		t.Errorf("after a download with GPC marketing emails are %+v", state.Decisions[consent.MarketingEmail])
	}
	// Sec-GPC values other than 1 record nothing.
	n := len(f.ledgerOf(t, f.alice))
	f.privacyDone(t, f.do(t, whyRequest{method: "POST", path: "/privacy/consent", cookies: []*http.Cookie{session},
		form: url.Values{"csrf": {token}, "purpose": {"model_training"}, "action": {"grant"}}}), session)
	for _, v := range []string{"0", "", "true"} {
		f.do(t, whyRequest{method: "GET", path: "/privacy", cookies: []*http.Cookie{session}, header: map[string]string{"Sec-GPC": v}})
	}
	if got := len(f.ledgerOf(t, f.alice)); got != n+1 {
		t.Errorf("requests without Sec-GPC: 1 recorded %d entries", got-n-1)
	}
}

// TestPrivacyStatusMessageCannotBeForged: the status message's cookie is
// sealed to the privacy center.
func TestPrivacyStatusMessageCannotBeForged(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	session := f.openPrivacy(t, f.token)
	unsealed := base64.RawURLEncoding.EncodeToString([]byte(`{"a":"object"}`))
	// A why page's real status message (sealed to that page) does not open
	// here either.
	why := f.open(t, f.token)
	resp := f.do(t, whyRequest{method: "POST", path: "/why/" + f.recID + "/controls", cookies: []*http.Cookie{why},
		form: url.Values{"csrf": {formToken(t, f.page(t, why))}, "action": {"set"}, "kind": {"items"}, "target": {"sku-00"}}})
	flash := cookieNamed(resp, whyFlashCookie)
	if resp.StatusCode != http.StatusSeeOther || flash == nil || !strings.Contains(f.page(t, why, flash), `role="status"`) {
		t.Fatalf("the why page's own status message: %d, %v", resp.StatusCode, flash)
	}
	whySealed := flash.Value
	for _, v := range []string{"", "garbage", unsealed, whySealed} {
		page := f.privacyPage(t, session, &http.Cookie{Name: privacyFlashCookie, Value: v})
		if strings.Contains(page, "We recorded your objection") || strings.Contains(page, "status-shown") {
			t.Fatalf("a forged status message %q is shown", v)
		}
	}
}
