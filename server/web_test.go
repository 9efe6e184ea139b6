package server

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/redistest"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
	"github.com/candorhq/candor/server/grpcapi"
)

// whyFixture is a Server (built with New over the test's Redis) with a
// catalogue, a population the model learns from, and one customer, alice,
// with a personalised answer and a customer token for it. Requests go
// through the real echo stack (newEcho) in the test's goroutine, so the
// clock can be moved between them.
type whyFixture struct {
	s       *Server
	r       *redistest.Redis
	h       http.Handler
	now     time.Time
	recID   string
	token   string // alice's
	alice   features.Pseudonym
	answer  *candorv1.Recommendation
	signals map[string]string // tracked signal id -> item id
}

// whyNotice is the notice version the fixture's operator configures: every
// choice made on the pages is recorded under it.
const whyNotice = "shop-notice-2026-12"

func newWhyFixture(t *testing.T) *whyFixture {
	t.Helper()
	r := redistest.New(t)
	k, err := grpcapi.NewAPIKey(app.RoleStorefront, "a-storefront-key-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Namespace, cfg.Secret, cfg.APIKeys = r.Namespace, features.GenerateSecret(), []grpcapi.APIKey{k}
	cfg.Train.MinSupport = 2
	cfg.NoticeVersion = whyNotice
	f := &whyFixture{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), signals: map[string]string{}}
	s, err := New(cfg, r.Client, Options{Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	f.s, f.r, f.h = s, r, s.newEcho(http.NotFoundHandler())
	ctx := context.Background()

	var items []features.Item
	for i := 0; i < 12; i++ {
		items = append(items, features.Item{ID: fmt.Sprintf("sku-%02d", i), Title: fmt.Sprintf("Item <%d>", i), Categories: []string{fmt.Sprintf("cat-%d", i%3)}})
	}
	if err := s.core.Catalog().Upsert(ctx, items, f.now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	grant := func(id string, p consent.Purpose) features.Pseudonym {
		ps := s.core.Pseudonym(id)
		if _, err := s.core.Store().ApplyConsent(ctx, ps, consent.Change{
			Choices: []consent.Choice{{Purpose: p, Granted: true}}, NoticeVersion: "v1", Method: consent.MethodAPI,
			ActorRole: "storefront", At: f.now.Add(-48 * time.Hour),
		}); err != nil {
			t.Fatal(err)
		}
		return ps
	}
	// The population: each views every item of one category.
	for c := 0; c < 9; c++ {
		p := grant(fmt.Sprintf("population-%d", c), consent.ModelTraining)
		var in []features.SignalInput
		for i := c % 3; i < 12; i += 3 {
			in = append(in, features.SignalInput{Type: "view", ItemID: fmt.Sprintf("sku-%02d", i), Purposes: []string{"model_training"}, OccurredAt: f.now.Add(-time.Hour)})
		}
		if _, err := s.core.Store().Track(ctx, p, in, f.now); err != nil {
			t.Fatal(err)
		}
	}
	// alice: five actions in category 0, so that an item has more than
	// three reasons.
	f.alice = grant("alice", consent.Personalization)
	var in []features.SignalInput
	for d, item := range []string{"sku-00", "sku-03", "sku-06"} {
		in = append(in, features.SignalInput{Type: "view", ItemID: item, Purposes: []string{"personalization"}, OccurredAt: f.now.Add(-time.Duration(d+1) * 24 * time.Hour)})
	}
	in = append(in,
		features.SignalInput{Type: "add_to_cart", ItemID: "sku-00", Purposes: []string{"personalization"}, OccurredAt: f.now.Add(-5 * time.Hour)},
		features.SignalInput{Type: "search", ItemID: "sku-03", Purposes: []string{"personalization"}, OccurredAt: f.now.Add(-6 * time.Hour)},
	)
	res, err := s.core.Store().Track(ctx, f.alice, in, f.now)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if !r.Stored {
			t.Fatalf("signal %d not stored: %s", i, r.Reason)
		}
		f.signals[r.SignalID] = in[i].ItemID
	}
	if err := s.TrainNow(ctx); err != nil {
		t.Fatal(err)
	}
	f.answer = f.recommend(t, "alice")
	if !f.answer.GetPersonalized() {
		t.Fatalf("alice's answer is not personalised: %v", f.answer)
	}
	f.recID = f.answer.GetRecommendationId()
	f.token = s.mintToken(t, "alice", 10*time.Minute)
	return f
}

func (f *whyFixture) recommend(t *testing.T, customer string) *candorv1.Recommendation {
	t.Helper()
	rec, err := f.s.recommendAs(context.Background(), app.RoleStorefront, app.RecommendRequest{CustomerID: customer, Surface: "storefront", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// citedSignal returns a signal alice's answer cites.
func (f *whyFixture) citedSignal(t *testing.T) string {
	t.Helper()
	for _, it := range f.answer.GetItems() {
		for _, r := range it.GetExplanation().GetReasons() {
			if r.GetKind() == explain.KindSignal {
				return r.GetSignalId()
			}
		}
	}
	t.Fatal("the answer cites no signal")
	return ""
}

type whyRequest struct {
	method, path string
	form         url.Values
	cookies      []*http.Cookie
	header       map[string]string
	tls          bool
}

func (f *whyFixture) do(t *testing.T, r whyRequest) *http.Response {
	t.Helper()
	var req *http.Request
	if r.form != nil {
		req = httptest.NewRequest(r.method, r.path, strings.NewReader(r.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(r.method, r.path, nil)
	}
	for _, c := range r.cookies {
		req.AddCookie(c)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.tls {
		req.TLS = &tls.ConnectionState{}
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	resp := rec.Result()
	t.Cleanup(func() { _ = resp.Body.Close() })
	checkWhyHeaders(t, r.method+" "+r.path, resp)
	return resp
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkWhyHeaders: every /why response is private and locked down.
func checkWhyHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", what, got)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "style-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", what, csp, want)
		}
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
		t.Errorf("%s: Content-Security-Policy %q allows more than it should", what, csp)
	}
	if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("%s: Referrer-Policy %q", what, got)
	}
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// open follows alice's link and returns the session cookie.
func (f *whyFixture) open(t *testing.T, token string) *http.Cookie {
	t.Helper()
	return f.follow(t, "/why/"+f.recID, token, whyCookie)
}

// follow opens a customer page's link with a token and returns the session
// cookie it sets (named cookie).
func (f *whyFixture) follow(t *testing.T, path, token, cookie string) *http.Cookie {
	t.Helper()
	resp := f.do(t, whyRequest{method: "GET", path: path + "?token=" + url.QueryEscape(token)})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("opening %s: status %d: %s", path, resp.StatusCode, body(t, resp))
	}
	c := cookieNamed(resp, cookie)
	if c == nil {
		t.Fatalf("opening %s set no session cookie", path)
	}
	return c
}

func (f *whyFixture) page(t *testing.T, cookies ...*http.Cookie) string {
	t.Helper()
	resp := f.do(t, whyRequest{method: "GET", path: "/why/" + f.recID, cookies: cookies})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page: status %d: %s", resp.StatusCode, body(t, resp))
	}
	return body(t, resp)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func formToken(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page has no form token")
	}
	return m[1]
}

func TestWhyLinkMovesTokenIntoCookie(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	resp := f.do(t, whyRequest{method: "GET", path: "/why/" + f.recID + "?token=" + f.token})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/why/"+f.recID {
		t.Fatalf("status %d, Location %q; want 303 to the page without the token", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := cookieNamed(resp, whyCookie)
	expires := f.s.tokenExpiry(t, f.token)
	switch {
	case c == nil:
		t.Fatal("no session cookie")
	case c.Value != f.token, !c.HttpOnly, c.SameSite != http.SameSiteStrictMode, c.Path != "/why", c.Secure:
		t.Fatalf("session cookie %+v", c)
	case !c.Expires.Equal(expires) || c.MaxAge != 600:
		t.Fatalf("the cookie expires %s (max-age %d); the token %s", c.Expires, c.MaxAge, expires)
	}
	// Over TLS the cookie is Secure.
	resp = f.do(t, whyRequest{method: "GET", path: "/why/" + f.recID + "?token=" + f.token, tls: true})
	if c := cookieNamed(resp, whyCookie); c == nil || !c.Secure {
		t.Fatalf("over TLS the session cookie is not Secure: %+v", c)
	}
	// And behind a proxy that terminates TLS and says so.
	resp = f.do(t, whyRequest{method: "GET", path: "/why/" + f.recID + "?token=" + f.token, header: map[string]string{"X-Forwarded-Proto": "https"}})
	if c := cookieNamed(resp, whyCookie); c == nil || !c.Secure {
		t.Fatalf("behind a TLS proxy the session cookie is not Secure: %+v", c)
	}

	page := f.page(t, c)
	if strings.Contains(page, f.token) || strings.Contains(page, strings.TrimPrefix(f.token, app.TokenPrefix)) {
		t.Fatal("the page holds the customer token")
	}
	if strings.Contains(page, string(f.alice)) || strings.Contains(page, "alice") {
		t.Fatal("the page names the customer")
	}
	for _, want := range []string{
		`<html lang="en">`, `name="viewport"`, "Why you are seeing these suggestions",
		"Because you ", ">Don't use this for recommendations</button>", "Not interested in this item", "Not interested in cat-",
		"Stop personalising my recommendations", "How our recommendations work", "What decides what you see",
		`role="status"`, `aria-live="polite"`, `href="/why/style.css"`, "Item &lt;", // titles are escaped
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "Item <") {
		t.Error("an item title reached the page unescaped")
	}
	// Every reason of the stored answer is there, and past the third an
	// item's reasons sit behind "Show N more reasons".
	stored := f.answer
	more := false
	for _, it := range stored.GetItems() {
		if n := len(it.GetContributions()); n > explain.MaxReasons {
			more = true
			if want := "Show " + strconv.Itoa(n-explain.MaxReasons) + " more reason"; !strings.Contains(page, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
	}
	if !more {
		t.Error("no item has more than three reasons; the fixture proves nothing about <details>")
	}
	checkPageStructure(t, page)

	// The style sheet is ours, private too.
	css := f.do(t, whyRequest{method: "GET", path: "/why/style.css"})
	if css.StatusCode != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("style sheet: %d %s", css.StatusCode, css.Header.Get("Content-Type"))
	}
}

// checkPageStructure: one h1, headings in order, every button labelled.
func checkPageStructure(t *testing.T, page string) {
	t.Helper()
	levels := regexp.MustCompile(`<h([1-6])[ >]`).FindAllStringSubmatch(page, -1)
	if len(levels) == 0 || levels[0][1] != "1" {
		t.Fatal("the page does not start with an h1")
	}
	prev := 1
	for _, l := range levels[1:] {
		n, _ := strconv.Atoi(l[1])
		if n == 1 {
			t.Error("more than one h1")
		}
		if n > prev+1 {
			t.Errorf("heading level jumps from h%d to h%d", prev, n)
		}
		prev = n
	}
	buttons := regexp.MustCompile(`(?s)<button([^>]*)>(.*?)</button>`).FindAllStringSubmatch(page, -1)
	if len(buttons) == 0 {
		t.Fatal("no buttons")
	}
	for _, b := range buttons {
		label := strings.TrimSpace(b[2])
		if label == "" {
			t.Errorf("a button without a visible label: %s", b[0])
		}
		if m := regexp.MustCompile(`aria-label="([^"]*)"`).FindStringSubmatch(b[1]); m != nil && !strings.HasPrefix(m[1], label) {
			t.Errorf("the accessible name %q does not start with the visible label %q", m[1], label)
		}
		if !strings.Contains(b[1], `type="submit"`) {
			t.Errorf("a button that is not a form's submit button: %s", b[0])
		}
	}
}

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
		{"the form token of another session", whyRequest{method: "POST", path: path, form: form(f.s.formToken(bobToken)), cookies: []*http.Cookie{session}}, 403},
		{"started by another site", whyRequest{method: "POST", path: path, form: form(token), cookies: []*http.Cookie{session}, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403},
		{"no cookie", whyRequest{method: "POST", path: path, form: form(token)}, 401},
		{"another customer's cookie, with its own form token", whyRequest{method: "POST", path: path, form: form(f.s.formToken(bobToken)), cookies: []*http.Cookie{bob}}, 403},
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

func TestWhyControlsChangeTheStore(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	ctx := context.Background()
	session := f.open(t, f.token)
	token := formToken(t, f.page(t, session))
	signal := f.citedSignal(t)
	post := func(path string, form url.Values) *http.Response {
		t.Helper()
		form.Set("csrf", token)
		return f.do(t, whyRequest{method: "POST", path: "/why/" + f.recID + path, form: form, cookies: []*http.Cookie{session}})
	}
	// after follows the redirect with the status message's cookie.
	after := func(resp *http.Response) string {
		t.Helper()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/why/"+f.recID {
			t.Fatalf("status %d, Location %q: %s", resp.StatusCode, resp.Header.Get("Location"), body(t, resp))
		}
		flash := cookieNamed(resp, whyFlashCookie)
		if flash == nil || !flash.HttpOnly || flash.SameSite != http.SameSiteStrictMode || flash.Path != "/why/"+f.recID {
			t.Fatalf("status message cookie %+v", flash)
		}
		return f.page(t, session, flash)
	}

	// Don't use this.
	page := after(post("/controls", url.Values{"action": {"set"}, "kind": {"signals"}, "target": {signal}}))
	controls, err := f.s.core.Store().Controls(ctx, f.alice)
	if err != nil || !controls.SuppressedSignal(signal) {
		t.Fatalf("the signal is not suppressed in the store: %v", err)
	}
	for _, want := range []string{"We will not use your ", "for recommendations any more.", ">Undo</button>", "Use it again", "Not used for recommendations: your ", "You asked us not to use this any more.", "<title>Done: We will not use"} {
		if !strings.Contains(page, want) {
			t.Errorf("after don't use this, the page lacks %q", want)
		}
	}
	history, _, err := f.s.core.Store().ControlHistory(ctx, f.alice, 0, 10)
	if err != nil || len(history) != 1 || history[0].ActorRole != "customer" || history[0].Action != "set" {
		t.Fatalf("control history %+v, %v", history, err)
	}
	// The next answer obeys it, and says so.
	next := f.recommend(t, "alice")
	for _, it := range next.GetItems() {
		for _, c := range it.GetContributions() {
			if c.GetSignalId() == signal {
				t.Fatal("the next answer still uses the suppressed signal")
			}
		}
	}
	// The status message shows once.
	if again := f.page(t, session); strings.Contains(again, "We will not use your ") {
		t.Error("the status message shows again on reload")
	}

	// Undo.
	page = after(post("/controls", url.Values{"action": {"remove"}, "kind": {"signals"}, "target": {signal}}))
	if controls, _ := f.s.core.Store().Controls(ctx, f.alice); controls.SuppressedSignal(signal) {
		t.Fatal("undo left the signal suppressed")
	}
	if !strings.Contains(page, "We will use your ") {
		t.Error("after undo, the page does not say so")
	}

	// Not interested in an item, then a category.
	item := f.answer.GetItems()[0].GetItemId()
	page = after(post("/controls", url.Values{"action": {"set"}, "kind": {"items"}, "target": {item}}))
	if controls, _ := f.s.core.Store().Controls(ctx, f.alice); !controls.NotInterestedItem(item) {
		t.Fatal("the item control is not in the store")
	}
	if !strings.Contains(page, "We will not suggest Item &lt;") || !strings.Contains(page, "Show this item again") {
		t.Error("after not interested in an item, the page does not say so")
	}
	page = after(post("/controls", url.Values{"action": {"set"}, "kind": {"categories"}, "target": {"cat-1"}}))
	if controls, _ := f.s.core.Store().Controls(ctx, f.alice); !controls.NotInterestedCategory("cat-1") {
		t.Fatal("the category control is not in the store")
	}
	if !strings.Contains(page, "We will not suggest anything in cat-1 any more.") || !strings.Contains(page, "Not interested: everything in cat-1") {
		t.Error("after not interested in a category, the page does not say so")
	}

	// Mistakes change nothing and say what was wrong.
	for _, c := range []struct {
		form   url.Values
		status int
		says   string
	}{
		{url.Values{"action": {"set"}, "kind": {"colours"}, "target": {"red"}}, 400, "unknown kind"},
		{url.Values{"action": {"toggle"}, "kind": {"items"}, "target": {item}}, 400, "must be set or remove"},
		{url.Values{"action": {"set"}, "kind": {"signals"}, "target": {"sig_nope"}}, 400, "not a signal id"},
		{url.Values{"action": {"set"}, "kind": {"signals"}, "target": {features.NewID("sig_")}}, 404, "We no longer hold that"},
	} {
		resp := post("/controls", c.form)
		if page := body(t, resp); resp.StatusCode != c.status || !strings.Contains(page, c.says) || !strings.Contains(page, `href="/why/`+f.recID+`"`) {
			t.Errorf("%v: status %d, want %d saying %q with a way back:\n%s", c.form, resp.StatusCode, c.status, c.says, page)
		}
	}
	if history, total, _ := f.s.core.Store().ControlHistory(ctx, f.alice, 0, 100); total != 4 {
		t.Fatalf("%d control changes recorded, want 4: %+v", total, history)
	}
}

func TestWhyStopPersonalising(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	ctx := context.Background()
	session := f.open(t, f.token)
	token := formToken(t, f.page(t, session))
	resp := f.do(t, whyRequest{method: "POST", path: "/why/" + f.recID + "/consent", form: url.Values{"csrf": {token}, "action": {"revoke"}}, cookies: []*http.Cookie{session}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: status %d: %s", resp.StatusCode, body(t, resp))
	}
	state, err := f.s.core.Store().Consent(ctx, f.alice)
	if err != nil || state.Granted(consent.Personalization) || state.Decisions[consent.Personalization].Status != consent.StatusWithdrawn {
		t.Fatalf("consent after revoking: %+v, %v", state.Decisions[consent.Personalization], err)
	}
	ledger, _, err := f.s.core.Store().Ledger(ctx, f.alice, 0, 10)
	if err != nil || len(ledger) != 2 {
		t.Fatalf("ledger %+v, %v", ledger, err)
	}
	if e := ledger[1]; e.Purpose != "personalization" || e.Granted || e.Method != "ui" || e.ActorRole != "customer" || e.NoticeVersion != whyNotice {
		t.Fatalf("the revocation is recorded as %+v; want under the configured notice version %q", e, whyNotice)
	}
	if f.recommend(t, "alice").GetPersonalized() {
		t.Fatal("the next answer is still personalised")
	}
	page := f.page(t, session, cookieNamed(resp, whyFlashCookie))
	for _, want := range []string{"We have stopped personalising your recommendations", "Personalise my recommendations again", "You have not consented to personalised recommendations any more"} {
		if !strings.Contains(page, want) {
			t.Errorf("after revoking, the page lacks %q", want)
		}
	}
	// Start again.
	resp = f.do(t, whyRequest{method: "POST", path: "/why/" + f.recID + "/consent", form: url.Values{"csrf": {token}, "action": {"grant"}}, cookies: []*http.Cookie{session}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("grant: status %d", resp.StatusCode)
	}
	if state, _ := f.s.core.Store().Consent(ctx, f.alice); !state.Granted(consent.Personalization) {
		t.Fatal("start again did not grant consent")
	}
}

// TestWhyStatusMessageCannotBeForged: the status message's cookie is sealed
// and bound to its page.
func TestWhyStatusMessageCannotBeForged(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	session := f.open(t, f.token)
	unsealed := base64.RawURLEncoding.EncodeToString([]byte(`{"a":"revoke"}`))
	for _, v := range []string{"", "garbage", unsealed} {
		page := f.page(t, session, &http.Cookie{Name: whyFlashCookie, Value: v})
		if strings.Contains(page, "We have stopped") || strings.Contains(page, "status-shown") {
			t.Fatalf("a forged status message %q is shown", v)
		}
	}
}

// TestWhyPageWithoutPersonalData: an answer made without personal data
// says so, cites nothing, offers no signal controls, and offers consent
// with the purpose's description.
func TestWhyPageWithoutPersonalData(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	rec := f.recommend(t, "bob")
	if rec.GetPersonalized() || len(rec.GetItems()) == 0 {
		t.Fatalf("bob's answer: %v", rec)
	}
	token := f.s.mintToken(t, "bob", 5*time.Minute)
	f.recID = rec.GetRecommendationId()
	page := f.page(t, f.open(t, token))
	for _, want := range []string{
		"They are not based on your personal data.", "Not based on your personal data, because you have not consented to personalised recommendations.",
		"Not interested in this item", "You have not consented to personalised recommendations, so we do not use your personal data for it.",
		consent.Personalization.Info().Description, ">Personalise my recommendations</button>", "We left nothing out of these suggestions",
		"in about 5 minutes",
	} {
		if !strings.Contains(html.UnescapeString(page), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, not := range []string{"Don't use this", "Because you", "Show 1 more", "Stop personalising"} {
		if strings.Contains(page, not) {
			t.Errorf("the page says %q", not)
		}
	}
	// A popular item's one reason is its headline, shown once per item.
	headline := rec.GetItems()[0].GetExplanation().GetHeadline()
	items := 0
	for _, it := range rec.GetItems() {
		if it.GetExplanation().GetHeadline() == headline {
			items++
		}
	}
	if n := strings.Count(html.UnescapeString(page), headline); n != items {
		t.Errorf("the headline %q is shown %d times for %d items", headline, n, items)
	}
	checkPageStructure(t, page)
}

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

// casesOf returns the customer's review cases about the fixture's answer.
func (f *whyFixture) casesOf(t *testing.T, p features.Pseudonym) []*explain.Case {
	t.Helper()
	all, err := f.s.core.Reviews().Customer(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var out []*explain.Case
	for _, c := range all {
		if c.RecommendationID == f.recID {
			out = append(out, c)
		}
	}
	return out
}

// TestWhyAskAPerson: the customer contests the answer from the page; the
// case is opened as through the API (the customer's, in the privacy
// officer's queue), the page says so and shows where it stands instead of
// the form until a person has answered.
func TestWhyAskAPerson(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	ctx := context.Background()
	session := f.open(t, f.token)
	page := f.page(t, session)
	token := formToken(t, page)
	for _, want := range []string{
		`<h2 id="ask">Ask a person to look at this</h2>`, "A person from the shop's privacy team reads every request", "in your privacy center",
		`<form method="post" action="/why/` + f.recID + `/review" class="ask">`, `<input type="hidden" name="csrf" value="` + token + `">`,
		"<fieldset>", "<legend>What would you like?</legend>",
		`<input type="radio" id="ask-contest" name="kind" value="contest" required><label for="ask-contest">I disagree with this recommendation</label>`,
		`<input type="radio" id="ask-human" name="kind" value="human_review"><label for="ask-human">I'd like a person to review how this was chosen</label>`,
		`<label for="ask-message">Your message</label>`,
		`<textarea id="ask-message" name="message" rows="6" required maxlength="` + strconv.Itoa(explain.MaxReviewMessage) + `" aria-describedby="ask-message-hint">`,
		`id="ask-message-hint"`, `>Send my request</button>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// The section comes after the explanations and controls.
	if strings.Index(page, `id="ask"`) < strings.Index(page, `id="how"`) {
		t.Error("the request form comes before the explanations")
	}
	checkLabels(t, page)
	checkPageStructure(t, page)

	// A GET of the form's address leads to the page.
	if resp := f.do(t, whyRequest{method: "GET", path: "/why/" + f.recID + "/review"}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/why/"+f.recID {
		t.Errorf("GET of the review form: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The browser sends the textarea's line breaks as CRLF.
	post := func(kind, message string) *http.Response {
		t.Helper()
		return f.do(t, whyRequest{method: "POST", path: "/why/" + f.recID + "/review", cookies: []*http.Cookie{session},
			form: url.Values{"csrf": {token}, "kind": {kind}, "message": {message}}})
	}
	resp := post("contest", "I never looked at <these>.\r\nPlease check.")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/why/"+f.recID {
		t.Fatalf("status %d, Location %q: %s", resp.StatusCode, resp.Header.Get("Location"), body(t, resp))
	}
	flash := cookieNamed(resp, whyFlashCookie)
	if flash == nil || !flash.HttpOnly || flash.SameSite != http.SameSiteStrictMode || flash.Path != "/why/"+f.recID {
		t.Fatalf("status message cookie %+v", flash)
	}
	cases := f.casesOf(t, f.alice)
	if len(cases) != 1 {
		t.Fatalf("%d cases, want 1", len(cases))
	}
	c := cases[0]
	if c.Kind != explain.ReviewContest || c.Message != "I never looked at <these>.\nPlease check." || c.Status != explain.ReviewOpen ||
		c.Pseudonym != f.alice || !c.CreatedAt.Equal(f.now) {
		t.Fatalf("case %+v", c)
	}
	if a, err := c.Recommendation(); err != nil || a.ID != f.recID || len(a.Items) != len(f.answer.GetItems()) {
		t.Fatalf("the case's recommendation: %v, %v", a, err)
	}
	queue, _, err := f.s.core.Reviews().Queue(ctx, explain.ReviewOpen, 0, 10)
	if err != nil || len(queue) != 1 || queue[0].ID != c.ID {
		t.Fatalf("the privacy officer's queue: %v, %v", queue, err)
	}

	page = f.page(t, session, flash)
	for _, want := range []string{
		`role="status"`, "We sent your request. You will see the reply in your privacy center.", "<title>Done: We sent your request.",
		"On 26 November 2026 you told us you disagree with this recommendation.", "Status: received, waiting for a person to look at it.",
		"will read your request",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("after the request, the page lacks %q", want)
		}
	}
	status := regexp.MustCompile(`(?s)<div id="status"[^>]*>(.*?)</div>`).FindStringSubmatch(page)
	if status == nil || !strings.Contains(status[1], "We sent your request.") || strings.Contains(status[1], "<form") {
		t.Errorf("the status message: %v", status)
	}
	// The request is pending: the page shows it instead of the form.
	if strings.Contains(page, `/review"`) || strings.Contains(page, "<textarea") {
		t.Error("with a request pending, the page still offers the form")
	}
	// The same request again (a double click, a second tab) is not a
	// second case: 409, saying the first is still waiting, as over the API.
	if resp := post("contest", "I never looked at <these>.\r\nPlease check."); resp.StatusCode != http.StatusConflict {
		t.Fatalf("the same request again: status %d, want 409", resp.StatusCode)
	} else if b := body(t, resp); !strings.Contains(b, "You have already asked") || !strings.Contains(b, "still waiting for a person") {
		t.Errorf("the same request again: the page does not say it is already waiting: %s", b)
	}
	if n := len(f.casesOf(t, f.alice)); n != 1 {
		t.Fatalf("the same request twice opened %d cases", n)
	}

	// The privacy center lists it.
	privacy := f.privacyPage(t, f.openPrivacy(t, f.token))
	if !strings.Contains(privacy, "You contested a recommendation") || !strings.Contains(privacy, "I never looked at &lt;these&gt;.\nPlease check.") {
		t.Error("the privacy center does not list the request")
	}

	// A person looks at it, then answers; then the customer can ask again.
	if _, err := f.s.core.Reviews().Update(ctx, c.ID, explain.ReviewInReview, "", f.now); err != nil {
		t.Fatal(err)
	}
	if page := f.page(t, session); !strings.Contains(page, "Status: a person is looking at it.") || strings.Contains(page, "<textarea") {
		t.Error("in review: the page does not say so, or offers the form")
	}
	if _, err := f.s.core.Reviews().Update(ctx, c.ID, explain.ReviewResolved, "We checked: these come from your cart.", f.now); err != nil {
		t.Fatal(err)
	}
	page = f.page(t, session)
	if !strings.Contains(page, "Status: resolved; our reply is in your privacy center.") || !strings.Contains(page, "<textarea") {
		t.Error("resolved: the page does not say so, or does not offer the form again")
	}
	f.now = f.now.Add(time.Minute)
	long := strings.Repeat("é", explain.MaxReviewMessage) // exactly the limit, in characters (two bytes each)
	if resp := post("human_review", long); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a human review: status %d: %s", resp.StatusCode, body(t, resp))
	}
	cases = f.casesOf(t, f.alice)
	if len(cases) != 2 || cases[0].Kind != explain.ReviewHumanReview || cases[0].Message != long || cases[0].Status != explain.ReviewOpen {
		t.Fatalf("after asking for a human review: %+v", cases)
	}
	page = f.page(t, session)
	if !strings.Contains(page, "you asked for a person to review how this was chosen.") || strings.Contains(page, "<textarea") {
		t.Error("the human review request is not shown in place of the form")
	}
	// Nobody else sees alice's requests on their page.
	bobRec := f.recommend(t, "bob")
	bobToken := f.s.mintToken(t, "bob", 5*time.Minute)
	f.recID = bobRec.GetRecommendationId()
	if page := f.page(t, f.open(t, bobToken)); strings.Contains(page, "Status:") || !strings.Contains(page, "<textarea") {
		t.Error("bob's page shows a request, or no form")
	}
}

// TestWhyAskRefusals: a request without the session's form token, from
// another site, without the cookie or about another customer's answer is
// refused; bad input is refused with the field named. None opens a case.
func TestWhyAskRefusals(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	session := f.open(t, f.token)
	token := formToken(t, f.page(t, session))
	bobToken := f.s.mintToken(t, "bob", 10*time.Minute)
	bob := f.open(t, bobToken)
	path := "/why/" + f.recID + "/review"
	form := func(csrf, kind, message string) url.Values {
		v := url.Values{"kind": {kind}, "message": {message}}
		if csrf != "" {
			v.Set("csrf", csrf)
		}
		return v
	}
	good := func(csrf string) url.Values { return form(csrf, "contest", "Please check.") }
	for _, c := range []struct {
		name   string
		req    whyRequest
		status int
		says   string
	}{
		{"no form token", whyRequest{method: "POST", path: path, form: good(""), cookies: []*http.Cookie{session}}, 403, "out of date"},
		{"a wrong form token", whyRequest{method: "POST", path: path, form: good(otherToken(token)), cookies: []*http.Cookie{session}}, 403, "out of date"},
		{"the form token of another session", whyRequest{method: "POST", path: path, form: good(f.s.formToken(bobToken)), cookies: []*http.Cookie{session}}, 403, "out of date"},
		{"started by another site", whyRequest{method: "POST", path: path, form: good(token), cookies: []*http.Cookie{session}, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403, "out of date"},
		{"no cookie", whyRequest{method: "POST", path: path, form: good(token)}, 401, "open it again from the shop"},
		{"another customer's cookie, with its own form token", whyRequest{method: "POST", path: path, form: good(f.s.formToken(bobToken)), cookies: []*http.Cookie{bob}}, 403, "another customer"},
		{"a bad id", whyRequest{method: "POST", path: "/why/rec_nope/review", form: good(token), cookies: []*http.Cookie{session}}, 400, "not complete"},
		{"no kind", whyRequest{method: "POST", path: path, form: form(token, "", "Please check."), cookies: []*http.Cookie{session}}, 400, "kind: "},
		{"an unknown kind", whyRequest{method: "POST", path: path, form: form(token, "complaint", "Please check."), cookies: []*http.Cookie{session}}, 400, "kind: &#34;complaint&#34; is not a kind of review"},
		{"no message", whyRequest{method: "POST", path: path, form: form(token, "contest", ""), cookies: []*http.Cookie{session}}, 400, "message: required"},
		{"only spaces", whyRequest{method: "POST", path: path, form: form(token, "contest", " \r\n\t"), cookies: []*http.Cookie{session}}, 400, "message: required"},
		{"one character too long", whyRequest{method: "POST", path: path, form: form(token, "contest", strings.Repeat("x", explain.MaxReviewMessage+1)), cookies: []*http.Cookie{session}}, 400, "message: at most 2000 characters"},
		// One more character than the textarea takes, three bytes each.
		{"one three-byte character too long", whyRequest{method: "POST", path: path, form: form(token, "contest", strings.Repeat("€", explain.MaxReviewMessage+1)), cookies: []*http.Cookie{session}}, 400, "message: at most 2000 characters"},
		{"a control character", whyRequest{method: "POST", path: path, form: form(token, "contest", "Please\x1b[2J check."), cookies: []*http.Cookie{session}}, 400, "message: must be printable text"},
		{"a lone carriage return", whyRequest{method: "POST", path: path, form: form(token, "contest", "Please\rcheck."), cookies: []*http.Cookie{session}}, 400, "message: must be printable text"},
		{"invalid UTF-8", whyRequest{method: "POST", path: path, form: form(token, "contest", "Please \xff check."), cookies: []*http.Cookie{session}}, 400, "message: must be printable text"},
	} {
		resp := f.do(t, c.req)
		page := body(t, resp)
		if resp.StatusCode != c.status || !strings.Contains(page, c.says) {
			t.Errorf("%s: status %d, want %d saying %q:\n%s", c.name, resp.StatusCode, c.status, c.says, page)
		}
		if c.status == http.StatusBadRequest && c.req.path == path && !strings.Contains(page, "Nothing was changed") || strings.Contains(page, "invalid input") {
			t.Errorf("%s: the message does not say nothing was changed, or names the sentinel:\n%s", c.name, page)
		}
		if c.status != http.StatusUnauthorized && !strings.Contains(page, `href="/why/`) && c.req.path == path {
			t.Errorf("%s: no way back to the page", c.name)
		}
		if cookieNamed(resp, whyFlashCookie) != nil {
			t.Errorf("%s: a refused request reports a change", c.name)
		}
	}
	for _, p := range []features.Pseudonym{f.alice, f.s.core.Pseudonym("bob")} {
		if cases, err := f.s.core.Reviews().Customer(context.Background(), p); err != nil || len(cases) != 0 {
			t.Fatalf("refused requests opened cases: %+v, %v", cases, err)
		}
	}
	if queue, total, err := f.s.core.Reviews().Queue(context.Background(), explain.ReviewOpen, 0, 10); err != nil || total != 0 {
		t.Fatalf("refused requests queued cases: %+v, %v", queue, err)
	}
}

// TestWhyGPCKeepsMarketingOff: on the why page of a marketing email, while
// the browser sends Sec-GPC: 1, "use my data for marketing emails again" is
// refused with an explanation (the next page view would turn it off again)
// and changes nothing; without the header it works.
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
