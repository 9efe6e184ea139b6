package server

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

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
