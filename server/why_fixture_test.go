package server

import (
	"context"
	"crypto/tls"
	"fmt"
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
