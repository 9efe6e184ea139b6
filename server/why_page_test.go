package server

import (
	"html"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
)

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
