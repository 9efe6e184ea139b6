package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

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
		{"the form token of another session", whyRequest{method: "POST", path: path, form: good(f.formTokenOf(t, bobToken)), cookies: []*http.Cookie{session}}, 403, "out of date"},
		{"started by another site", whyRequest{method: "POST", path: path, form: good(token), cookies: []*http.Cookie{session}, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403, "out of date"},
		{"no cookie", whyRequest{method: "POST", path: path, form: good(token)}, 401, "open it again from the shop"},
		{"another customer's cookie, with its own form token", whyRequest{method: "POST", path: path, form: good(f.formTokenOf(t, bobToken)), cookies: []*http.Cookie{bob}}, 403, "another customer"},
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
