package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
	"github.com/candorhq/candor/server/grpcapi"
)

// One core, many doors: each rule of the core is driven here through every
// door that offers its use case (native gRPC, REST through the gateway, the
// why page, the privacy center), on a running server, and every door must
// give the customer the same outcome and leave the same ledger and case
// state. An outcome is "OK" for a success (a page's 303 back to itself, or
// the page that says its answer went with the data) or the gRPC code's name
// of the refusal: the code itself over gRPC, the body's code over REST, the
// message a page shows for it.

// door is one way in, acting for a customer.
type door struct {
	name string
	// page is true for the customer's pages (their notice version is the
	// operator's, not the request's).
	page bool
	// choose records one consent choice, with the browser's Sec-GPC: 1
	// when gpc is set.
	choose func(t *testing.T, f *rightsFixture, customer string, ch doorChoice) string
	// review asks for a person to review the customer's answer (nil: the
	// door offers no such request).
	review func(t *testing.T, f *rightsFixture, customer, recID string) string
}

// doorChoice is a consent choice as the doors take it.
type doorChoice struct {
	purpose    consent.Purpose
	granted    bool
	deleteData bool
	confirm    bool // over the Global Privacy Control
	gpc        bool
	// recID is the answer whose why page makes the choice (the page's
	// choice is about its answer's purpose).
	recID string
}

// doorNotice is the notice version the API doors send.
const doorNotice = "door-notice-3"

func doors() []door {
	return []door{
		{name: "gRPC", choose: grpcChoose, review: grpcReview},
		{name: "REST", choose: restChoose, review: restReview},
		{name: "why page", page: true, choose: whyChoose, review: whyReview},
		// The privacy center lists review requests and their replies; it
		// makes none (they are made about an answer, on its why page).
		{name: "privacy center", page: true, choose: privacyChoose},
	}
}

func grpcOutcome(err error) string { return status.Code(err).String() }

// restOutcome reads the code of a REST answer's error body.
func restOutcome(t *testing.T, resp *http.Response, body []byte) string {
	t.Helper()
	if resp.StatusCode == http.StatusOK {
		return codes.OK.String()
	}
	var e struct{ Code codes.Code }
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("REST error body %s: %v", body, err)
	}
	if want := grpcapi.HTTPStatus(e.Code); resp.StatusCode != want {
		t.Errorf("REST answered %s with HTTP %d, the table says %d", e.Code, resp.StatusCode, want)
	}
	return e.Code.String()
}

// pageMessages are the headings the pages answer refusals with, by the code
// of the core's error.
var pageMessages = map[string]codes.Code{
	"This stays off while your browser asks": codes.FailedPrecondition,
	"You have already asked":                 codes.AlreadyExists,
}

// pageOutcome reads a page's answer: a 303 back, the page that says the
// data is gone, or the message of a refusal.
func pageOutcome(t *testing.T, resp *http.Response, body string) string {
	t.Helper()
	if resp.StatusCode == http.StatusSeeOther || resp.StatusCode == http.StatusOK && strings.Contains(body, "<h1>We deleted what we had collected for") {
		return codes.OK.String()
	}
	for heading, code := range pageMessages {
		if strings.Contains(body, "<h1>"+heading) {
			if want := grpcapi.HTTPStatus(code); resp.StatusCode != want {
				t.Errorf("a page answered %s with HTTP %d, the table says %d", code, resp.StatusCode, want)
			}
			return code.String()
		}
	}
	return fmt.Sprintf("HTTP %d", resp.StatusCode)
}

func grpcChoose(t *testing.T, f *rightsFixture, customer string, ch doorChoice) string {
	kv := []string{}
	if ch.gpc {
		kv = append(kv, "sec-gpc", "1")
	}
	_, err := f.consents().UpdateConsents(callAs(f.token(customer), kv...), &candorv1.UpdateConsentsRequest{
		CustomerId: customer, NoticeVersion: doorNotice, Method: "ui", ConfirmOverGpc: ch.confirm,
		Choices: []*candorv1.ConsentChoice{{Purpose: ch.purpose.String(), Granted: ch.granted, DeleteData: ch.deleteData}},
	})
	return grpcOutcome(err)
}

func restChoose(t *testing.T, f *rightsFixture, customer string, ch doorChoice) string {
	body := fmt.Sprintf(`{"choices":[{"purpose":%q,"granted":%t,"delete_data":%t}],"notice_version":%q,"method":"ui","confirm_over_gpc":%t}`,
		ch.purpose, ch.granted, ch.deleteData, doorNotice, ch.confirm)
	resp, answer := f.rest(t, http.MethodPatch, "/v1/customers/"+customer+"/consents", f.token(customer), body, gpcHeader(ch.gpc))
	return restOutcome(t, resp, answer)
}

func gpcHeader(gpc bool) map[string]string {
	if gpc {
		return map[string]string{"Sec-GPC": "1"}
	}
	return nil
}

// pageForm is a choice as the pages' consent forms post it.
func pageForm(ch doorChoice) url.Values {
	form := url.Values{"action": {"revoke"}, "purpose": {ch.purpose.String()}}
	if ch.granted {
		form.Set("action", "grant")
	}
	if ch.deleteData {
		form.Set("delete_data", "yes")
	}
	if ch.confirm {
		form.Set("confirm_over_gpc", "yes")
	}
	return form
}

// The pages are opened without the signal and the choice is posted with
// it, so that the choice's own request must honour it.

func whyChoose(t *testing.T, f *rightsFixture, customer string, ch doorChoice) string {
	b := f.browse(t, "/why/"+ch.recID, customer, whyCookie, false)
	b.gpc = ch.gpc
	resp, body := b.post(t, "/why/"+ch.recID+"/consent", pageForm(ch))
	return pageOutcome(t, resp, body)
}

func privacyChoose(t *testing.T, f *rightsFixture, customer string, ch doorChoice) string {
	b := f.browse(t, "/privacy", customer, privacyCookie, false)
	b.gpc = ch.gpc
	resp, body := b.post(t, "/privacy/consent", pageForm(ch))
	return pageOutcome(t, resp, body)
}

func grpcReview(t *testing.T, f *rightsFixture, customer, recID string) string {
	_, err := f.reviewsClient().CreateReview(callAs(f.token(customer)), &candorv1.CreateReviewRequest{RecommendationId: recID, Kind: "contest", Message: "Why these?"})
	return grpcOutcome(err)
}

func restReview(t *testing.T, f *rightsFixture, customer, recID string) string {
	resp, body := f.rest(t, http.MethodPost, "/v1/recommendations/"+recID+"/reviews", f.token(customer), `{"kind":"contest","message":"Why these?"}`, nil)
	return restOutcome(t, resp, body)
}

func whyReview(t *testing.T, f *rightsFixture, customer, recID string) string {
	b := f.browse(t, "/why/"+recID, customer, whyCookie, false)
	resp, body := b.post(t, "/why/"+recID+"/review", url.Values{"kind": {"contest"}, "message": {"Why these?"}})
	return pageOutcome(t, resp, body)
}

// browser is a customer's browser on one of the pages of a running server:
// its session cookie, the page's form token, and whether it sends GPC.
type browser struct {
	f      *rightsFixture
	cookie *http.Cookie
	csrf   string
	gpc    bool
}

// pageClient follows no redirect: the tests look at each answer.
var pageClient = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// browse opens a page as the shop's link does (with a fresh customer
// token), keeps the session cookie, and reads the page's form token.
func (f *rightsFixture) browse(t *testing.T, page, customer, cookieName string, gpc bool) *browser {
	t.Helper()
	b := &browser{f: f, gpc: gpc}
	sep := "?"
	if strings.Contains(page, "?") {
		sep = "&"
	}
	resp, _ := b.do(t, http.MethodGet, page+sep+"token="+url.QueryEscape(f.token(customer)), nil)
	if b.cookie = cookieNamed(resp, cookieName); resp.StatusCode != http.StatusSeeOther || b.cookie == nil {
		t.Fatalf("opening %s: %d, no session cookie", page, resp.StatusCode)
	}
	resp, body := b.do(t, http.MethodGet, page, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", page, resp.StatusCode, body)
	}
	b.csrf = formToken(t, body)
	return b
}

func (b *browser) post(t *testing.T, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	form.Set("csrf", b.csrf)
	return b.do(t, http.MethodPost, path, form)
}

func (b *browser) do(t *testing.T, method, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.f.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.cookie != nil {
		req.AddCookie(b.cookie)
	}
	if b.gpc {
		req.Header.Set("Sec-GPC", "1")
	}
	resp, err := pageClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(raw)
}

// doorCustomer names a customer of one test case on one door.
func doorCustomer(rule string, d door) string {
	return "door-" + rule + "-" + strings.ReplaceAll(d.name, " ", "-")
}

// TestEveryDoorGPCConflict: while the request carries Sec-GPC: 1, a grant
// of a purpose GPC keeps off is refused with 409 (FailedPrecondition) and
// writes nothing but GPC's own opt-out; confirmed, it is recorded as a grant
// over GPC, under the door's notice version (the operator's on the pages),
// and the next request's signal leaves it alone.
func TestEveryDoorGPCConflict(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	for _, d := range doors() {
		t.Run(d.name, func(t *testing.T) {
			c := doorCustomer("gpc", d)
			f.grant(t, c, consent.MarketingEmail)
			rec := f.recommendOn(t, c, "email")
			ch := doorChoice{purpose: consent.MarketingEmail, granted: true, gpc: true, recID: rec}
			before := len(f.ledger(t, c))

			if got := d.choose(t, f, c, ch); got != "FailedPrecondition" {
				t.Fatalf("a grant over GPC, unconfirmed: %s, want FailedPrecondition (409)", got)
			}
			// The request's signal itself is honoured first: one opt-out per
			// purpose GPC covers, and nothing of the refused grant.
			ledger := f.ledger(t, c)
			optOuts := ledger[before:]
			if len(optOuts) != len(consent.GPCPurposes.Purposes()) {
				t.Fatalf("after the refusal the ledger gained %+v; want GPC's opt-outs only", optOuts)
			}
			for _, e := range optOuts {
				if e.Method != "gpc" || e.Granted || !consent.GPCPurposes.Has(mustPurpose(t, e.Purpose)) {
					t.Fatalf("after the refusal the ledger gained %+v; want GPC's opt-outs only", optOuts)
				}
			}
			before += len(optOuts)
			if f.consentOf(t, c).Decisions[consent.MarketingEmail].Granted() {
				t.Fatal("a refused grant stands")
			}

			ch.confirm = true
			if got := d.choose(t, f, c, ch); got != "OK" {
				t.Fatalf("a confirmed grant over GPC: %s, want OK", got)
			}
			ledger = f.ledger(t, c)
			wantNotice := doorNotice
			if d.page {
				wantNotice = f.s.cfg.NoticeVersion
			}
			if e := ledger[len(ledger)-1]; len(ledger) != before+1 || e.Purpose != "marketing_email" || !e.Granted || !e.OverGPC ||
				e.Method != "ui" || e.ActorRole != "customer" || e.NoticeVersion != wantNotice {
				t.Fatalf("the confirmed grant is recorded as %+v; want a ui grant over GPC by the customer under notice %q", e, wantNotice)
			}
			// The next request carrying the signal leaves the confirmed grant.
			if resp, body := f.rest(t, http.MethodGet, "/v1/customers/"+c+"/consents", keyOf(app.RoleStorefront), "", gpcHeader(true)); resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if st := f.consentOf(t, c); !st.Decisions[consent.MarketingEmail].Granted() || len(f.ledger(t, c)) != before+1 {
				t.Fatal("GPC withdrew a grant the customer confirmed over it")
			}
		})
	}
}

// TestEveryDoorReviewDedupe: a second request of the same kind about the
// same answer while the first waits for a person is refused with 409
// (AlreadyExists), and only one case is open.
func TestEveryDoorReviewDedupe(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	for _, d := range doors() {
		if d.review == nil {
			continue
		}
		t.Run(d.name, func(t *testing.T) {
			c := doorCustomer("review", d)
			f.shopper(t, c)
			rec := f.recommend(t, c).GetRecommendationId()
			if got := d.review(t, f, c, rec); got != "OK" {
				t.Fatalf("the first request: %s, want OK", got)
			}
			if got := d.review(t, f, c, rec); got != "AlreadyExists" {
				t.Fatalf("the same request again: %s, want AlreadyExists (409)", got)
			}
			cases, err := f.s.core.Reviews().Customer(context.Background(), f.pseudonym(c))
			if err != nil || len(cases) != 1 || cases[0].RecommendationID != rec || cases[0].Status != "open" {
				t.Fatalf("cases after two requests: %d (%v); want one open case", len(cases), err)
			}
		})
	}
}

// TestEveryDoorRevokeDeletingData: withdrawing consent with delete_data
// deletes the signals held only for that purpose, narrows the others, and
// deletes the stored answers made for it, on every door.
func TestEveryDoorRevokeDeletingData(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	for _, d := range doors() {
		t.Run(d.name, func(t *testing.T) {
			c := doorCustomer("erase", d)
			f.grant(t, c, consent.Personalization, consent.Support)
			only := f.track(t, c, rfView("sku-00", 1), rfView("sku-03", 2))
			both := f.track(t, c, features.SignalInput{Type: "view", ItemID: "sku-06", Purposes: []string{"personalization", "support"}, OccurredAt: rfStart.Add(-3 * time.Hour)})
			rec := f.recommend(t, c).GetRecommendationId()

			ch := doorChoice{purpose: consent.Personalization, deleteData: true, recID: rec}
			if got := d.choose(t, f, c, ch); got != "OK" {
				t.Fatalf("revoking with delete_data: %s, want OK", got)
			}
			held := f.signals(t, c)
			for _, id := range only {
				if _, ok := held[id]; ok {
					t.Errorf("signal %s, held only for personalisation, is still held", id)
				}
			}
			if sig, ok := held[both[0]]; !ok || sig.Purposes.Has(consent.Personalization) || !sig.Purposes.Has(consent.Support) {
				t.Errorf("the signal held for support too: %+v, %v; want it kept for support only", sig, ok)
			}
			if _, _, err := f.s.core.Explanations().Get(context.Background(), rec, f.clock.Now()); !errors.Is(err, features.ErrNotFound) {
				t.Errorf("the answer made for personalisation: %v; want it deleted", err)
			}
			if e := f.ledger(t, c); !e[len(e)-1].DeleteData || e[len(e)-1].Granted {
				t.Errorf("the revocation is recorded as %+v", e[len(e)-1])
			}
		})
	}
}

// TestPagesAreObservedLikeTheAPI: page requests are counted and logged as
// API calls are, by route template, never by path, id or customer.
func TestPagesAreObservedLikeTheAPI(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	const c = "door-observed"
	f.shopper(t, c)
	rec := f.recommend(t, c).GetRecommendationId()
	b := f.browse(t, "/why/"+rec, c, whyCookie, false)
	if resp, _ := b.post(t, "/why/"+rec+"/consent", url.Values{"action": {"revoke"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke on the page: %d", resp.StatusCode)
	}
	// A made-up method is not a label of its own.
	if resp, _ := b.do(t, "CT_MADEUP", "/why/"+rec, nil); resp.StatusCode < 400 {
		t.Errorf("a made-up method: %d", resp.StatusCode)
	}
	resp, metrics := f.rest(t, http.MethodGet, "/metrics", "", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	for _, want := range []string{
		`candor_page_requests_total{code="OK",route="GET /why/:id"}`,
		`candor_page_requests_total{code="See Other",route="POST /why/:id/consent"}`,
		`candor_page_request_duration_seconds_count{route="POST /why/:id/consent"}`,
		`candor_grpc_requests_total{code="OK",method="/candor.v1.RecommendationService/GetRecommendations"}`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	logs := f.logs.String()
	if !strings.Contains(logs, `"msg":"call","route":"POST /why/:id/consent","code":"See Other"`) ||
		!strings.Contains(logs, `"msg":"call","method":"/candor.v1.RecommendationService/GetRecommendations","code":"OK"`) {
		t.Errorf("the call log lacks a page's or an API call's line:\n%s", logs)
	}
	if strings.Contains(string(metrics), "CT_MADEUP") || strings.Contains(logs, "CT_MADEUP") || !strings.Contains(string(metrics), `route="OTHER /why/*"`) {
		t.Error("a made-up method became a label, or was not counted as OTHER")
	}
	for _, secret := range []string{rec, c, string(f.pseudonym(c))} {
		if strings.Contains(string(metrics), secret) || strings.Contains(logs, secret) {
			t.Errorf("metrics or logs name %q", secret)
		}
	}
}

// recommendOn asks for an answer on a surface, as the storefront, and
// returns its id.
func (f *rightsFixture) recommendOn(t *testing.T, customer, surface string) string {
	t.Helper()
	resp, err := f.recs().GetRecommendations(callAs(keyOf(app.RoleStorefront)), &candorv1.GetRecommendationsRequest{CustomerId: customer, Surface: surface, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetRecommendation().GetRecommendationId()
}

func mustPurpose(t *testing.T, name string) consent.Purpose {
	t.Helper()
	p, err := consent.ParsePurpose("purpose", name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPagesConfirmOverGPC: where a page refuses a grant over the browser's
// Global Privacy Control, it says why and offers the confirmation step,
// which turns the purpose on; the privacy center offers it on the switch
// itself.
func TestPagesConfirmOverGPC(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	for _, page := range []struct{ name, open, cookie, post string }{
		{"why page", "/why/", whyCookie, "/consent"},
		{"privacy center", "/privacy", privacyCookie, "/privacy/consent"},
	} {
		t.Run(page.name, func(t *testing.T) {
			c := "confirm-" + strings.ReplaceAll(page.name, " ", "-")
			f.grant(t, c, consent.MarketingEmail)
			open, post := page.open, page.post
			if page.cookie == whyCookie {
				rec := f.recommendOn(t, c, "email")
				open, post = page.open+rec, page.open+rec+page.post
			}
			b := f.browse(t, open, c, page.cookie, true)
			if page.cookie == privacyCookie {
				_, body := b.do(t, http.MethodGet, open, nil)
				if !strings.Contains(body, `name="confirm_over_gpc" value="yes"`) || !strings.Contains(body, "Turn on anyway") {
					t.Error("the privacy center offers no confirmed switch for a purpose GPC keeps off")
				}
			}
			form := url.Values{"action": {"grant"}, "purpose": {"marketing_email"}}
			form.Set("csrf", b.csrf)
			resp, body := b.do(t, http.MethodPost, post, form)
			if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "Global Privacy Control") ||
				!strings.Contains(body, `name="confirm_over_gpc" value="yes"`) || !strings.Contains(body, `action="`+post+`"`) {
				t.Fatalf("the refusal: %d, want 409 with the confirmation step:\n%s", resp.StatusCode, body)
			}
			confirm := formToken(t, body)
			form = url.Values{"action": {"grant"}, "purpose": {"marketing_email"}, "confirm_over_gpc": {"yes"}, "csrf": {confirm}}
			if resp, body := b.do(t, http.MethodPost, post, form); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("the confirmation: %d %s", resp.StatusCode, body)
			}
			if d := f.consentOf(t, c).Decisions[consent.MarketingEmail]; !d.Granted() || !d.OverGPC {
				t.Errorf("after the confirmation: %+v", d)
			}
		})
	}
}
