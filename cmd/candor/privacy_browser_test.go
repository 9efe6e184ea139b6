package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestPrivacyCenterInChromium drives headless Chromium through the privacy
// center of the real server. The customer follows the link from the shop
// (another site) and lands on the page without the token in the address;
// turns personalised recommendations off with one click and on again with
// the keyboard, and the API's consent state follows each; corrects the
// item of one action; downloads their data through the browser, and the
// file parses and holds their signals, as corrected;
// deletes their account through the confirmation step and sees the
// receipt; then the API shows nothing of theirs is left, and the privacy
// officer sees the receipt. The page reflows at 320 px; screenshots at
// phone and desktop width are saved (the desktop one, which the README
// shows, also in CANDOR_SCREENSHOT_DIR when set).
func TestPrivacyCenterInChromium(t *testing.T) {
	t.Parallel()
	needChromium(t)
	ts := startServer(t, "--model-refresh=1s", "--min-support=2")
	ts.seedShopCatalog(t)
	const customer = "erin.privacy-center-Q7@example.test"
	path := "/v1/customers/" + url.PathEscape(customer)
	ts.mustREST(t, "storefront", "PATCH", path+"/consents",
		`{"choices":[{"purpose":"personalization","granted":true},{"purpose":"model_training","granted":true}],"notice_version":"2026-11","method":"ui"}`)
	tracked := ts.mustREST(t, "storefront", "POST", path+"/signals",
		`{"signals":[{"type":"view","item_id":"sku-00","purposes":["personalization","model_training"]},{"type":"add_to_cart","item_id":"sku-03","purposes":["personalization"]},{"type":"purchase","item_id":"sku-06","purposes":["personalization","model_training"]}]}`)
	signals := map[string]string{} // id -> item
	for i, r := range tracked["results"].([]any) {
		id, _ := r.(map[string]any)["signal_id"].(string)
		if id == "" {
			t.Fatalf("signal %d was not stored: %v", i, r)
		}
		signals[id] = []string{"sku-00", "sku-03", "sku-06"}[i]
	}
	// A review request with the privacy officer's reply, for the page to
	// show.
	rec := ts.mustREST(t, "storefront", "GET", path+"/recommendations?limit=3", "")
	review := ts.mustREST(t, "storefront", "POST", "/v1/recommendations/"+rec["recommendation_id"].(string)+"/reviews",
		`{"kind":"contest","message":"I bought the trail shoes as a present; please don't recommend more of them."}`)
	caseID := review["case"].(map[string]any)["case_id"].(string)
	ts.mustREST(t, "privacy_officer", "PATCH", "/v1/reviews/"+caseID,
		`{"status":"resolved","reply":"Thank you. You can delete that purchase from your privacy page, and we will not use it any more."}`)
	token := ts.mustREST(t, "storefront", "POST", path+"/tokens", `{"ttl_seconds":600}`)["token"].(string)
	pageURL := ts.httpURL + "/privacy"

	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Shop</title><a id="privacy" href="%s?token=%s">Your privacy</a>`, pageURL, token)
	}))
	t.Cleanup(shop.Close)
	shopURL := strings.Replace(shop.URL, "127.0.0.1", "localhost", 1)

	ctx := newBrowser(t)
	tab := browserTab{t: t, ctx: ctx}
	step, evaluate, click := tab.step, tab.evaluate, tab.click
	consentOf := func(purpose string) map[string]any {
		t.Helper()
		for _, c := range ts.mustREST(t, "storefront", "GET", path+"/consents", "")["consents"].([]any) {
			if c := c.(map[string]any); c["purpose"] == purpose {
				return c
			}
		}
		t.Fatalf("no consent state for %s", purpose)
		return nil
	}

	// From the shop to the page; the token leaves the address bar.
	step("open the shop", chromedp.EmulateViewport(390, 844), chromedp.Navigate(shopURL))
	tab.follow("follow the link", chromedp.Click(chromedp.ID("privacy")))
	step("wait for the page", chromedp.WaitVisible(chromedp.ID("choices")))
	if loc := evaluate("location", `document.location.href`); loc != pageURL {
		t.Fatalf("the page is at %q, want %q (without the token)", loc, pageURL)
	}
	shown := evaluate("signals", `Array.from(document.querySelectorAll('ol.signals input[name=signal]')).map(i => i.value).join(' ')`)
	for id := range signals {
		if !strings.Contains(shown, id) {
			t.Errorf("the page does not list signal %s (it lists %q)", id, shown)
		}
	}
	if reviews := evaluate("reviews", `document.querySelector('section[aria-labelledby=reviews]').textContent`); !strings.Contains(reviews, "as a present") || !strings.Contains(reviews, "You can delete that purchase") || !strings.Contains(reviews, "Resolved") {
		t.Errorf("the review request and its reply are not shown: %q", reviews)
	}
	privacyScreenshot(t, ctx, "privacy-center-phone.png", false)

	// Turn personalised recommendations off: one click.
	off := `button[aria-label="Turn off personalised recommendations"]`
	click("turn off", chromedp.Click(chromedp.CSS(off)))
	if status := evaluate("status", `document.getElementById('status').textContent`); !strings.Contains(status, "You turned off personalised recommendations") {
		t.Fatalf("status after turning off: %q", status)
	}
	if focused := evaluate("focus", `document.activeElement.id`); focused != "status" {
		t.Fatalf("after a change, the focus is on %q, not on the status message", focused)
	}
	if c := consentOf("personalization"); c["granted"] != false || c["status"] != "withdrawn" || c["method"] != "ui" {
		t.Fatalf("after turning off, the API says %v", c)
	}
	// And on again, with the keyboard: also one action.
	click("turn on", chromedp.Focus(chromedp.CSS(`button[aria-label="Turn on personalised recommendations"]`)), chromedp.KeyEvent(kb.Enter))
	if status := evaluate("status", `document.getElementById('status').textContent`); !strings.Contains(status, "You turned on personalised recommendations") {
		t.Fatalf("status after turning on: %q", status)
	}
	if c := consentOf("personalization"); c["granted"] != true || c["status"] != "given" || c["method"] != "ui" {
		t.Fatalf("after turning on, the API says %v", c)
	}

	// Correct an action: the view of sku-00 was really of sku-09.
	var viewed string
	for id, item := range signals {
		if item == "sku-00" {
			viewed = id
		}
	}
	step("open the correction", chromedp.Click(chromedp.CSS(`li.signal:has(input[name=signal][value="`+viewed+`"]) summary`)),
		chromedp.WaitVisible(chromedp.ID("item-"+viewed)))
	step("correct the item", chromedp.SetValue(chromedp.ID("item-"+viewed), "sku-09"))
	privacyScreenshot(t, ctx, "privacy-center-correct.png", false)
	click("save the correction", chromedp.Click(chromedp.CSS(`form:has(#item-`+viewed+`) button[type=submit]`)))
	if status := evaluate("status", `document.getElementById('status').textContent`); !strings.Contains(status, "We corrected it: it is now your view of Running poles on ") {
		t.Fatalf("status after correcting: %q", status)
	}
	signals[viewed] = "sku-09"
	for _, s := range ts.mustREST(t, "storefront", "GET", path+"/export", "")["signals"].([]any) {
		if s := s.(map[string]any); s["signal_id"] == viewed && s["item_id"] != "sku-09" {
			t.Fatalf("after the correction the API holds %v", s)
		}
	}

	// Download through the browser, into a directory of the test's.
	dir := t.TempDir()
	dctx, cancelDownload := context.WithTimeout(ctx, 60*time.Second)
	defer cancelDownload()
	progress := chromedp.Events(dctx, browser.DownloadProgress)
	step("download", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true),
		})
		return err
	}), chromedp.Click(chromedp.CSS(`a[href="/privacy/export"]`)))
	var file string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the download was cancelled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			file = filepath.Join(dir, ev.GUID)
			break
		}
	}
	cancelDownload()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the downloaded file: %v", err)
	}
	var export struct {
		Schema  string `json:"schema"`
		Signals []struct {
			SignalID string `json:"signal_id"`
			ItemID   string `json:"item_id"`
		} `json:"signals"`
		ReviewCases []json.RawMessage `json:"review_cases"`
	}
	if err := json.Unmarshal(raw, &export); err != nil {
		t.Fatalf("the download does not parse: %v\n%s", err, raw)
	}
	got := map[string]string{}
	for _, s := range export.Signals {
		got[s.SignalID] = s.ItemID
	}
	if export.Schema != "candor.export/v1" || len(got) != len(signals) || len(export.ReviewCases) != 1 {
		t.Fatalf("the download: schema %q, %d signals, %d review cases", export.Schema, len(got), len(export.ReviewCases))
	}
	for id, item := range signals {
		if got[id] != item {
			t.Errorf("signal %s: downloaded with item %q, want %q", id, got[id], item)
		}
	}

	// The page reflows at 320 px; a screenshot at desktop width.
	step("narrow", chromedp.EmulateViewport(320, 640))
	if w := evaluate("width", `String(document.documentElement.scrollWidth)`); w != "320" {
		t.Fatalf("at 320 px the page is %s px wide", w)
	}
	step("desktop", chromedp.EmulateViewport(1280, 900))
	privacyScreenshot(t, ctx, "privacy-center.png", true)

	// Delete the account: the confirmation step, then the receipt.
	step("phone", chromedp.EmulateViewport(390, 844))
	click("delete my account", chromedp.Click(chromedp.CSS(`a[href="/privacy/delete"]`)))
	if h1 := evaluate("heading", `document.querySelector('h1').textContent`); h1 != "Delete your account?" {
		t.Fatalf("the confirmation step is %q", h1)
	}
	// The box must be ticked (the browser will not send the form without
	// it, and the server would refuse it).
	step("tick", chromedp.Click(chromedp.ID("confirm")))
	privacyScreenshot(t, ctx, "privacy-center-confirm.png", false)
	click("confirm", chromedp.Click(chromedp.CSS(`form[action="/privacy/delete"] button[type=submit]`)))
	if loc := evaluate("location", `document.location.href`); loc != ts.httpURL+"/privacy/deleted" {
		t.Fatalf("after deleting, the page is %q", loc)
	}
	receipt := evaluate("receipt", `document.getElementById('receipt-id').textContent`)
	if !strings.HasPrefix(receipt, "erasure_") {
		t.Fatalf("no receipt shown: %q", receipt)
	}
	if text := evaluate("receipt page", `document.body.textContent`); !strings.Contains(text, "3 actions of yours") || !strings.Contains(text, "1 request to review") {
		t.Errorf("the receipt does not count what was deleted: %q", text)
	}
	privacyScreenshot(t, ctx, "privacy-center-receipt.png", false)

	// The data is gone, through the API.
	for _, c := range ts.mustREST(t, "storefront", "GET", path+"/consents", "")["consents"].([]any) {
		if c := c.(map[string]any); c["granted"] != false || c["status"] != "unknown" {
			t.Errorf("after deletion the API holds consent %v", c)
		}
	}
	after := ts.mustREST(t, "storefront", "GET", path+"/export", "")
	for _, list := range []string{"signals", "consent_history", "controls", "control_history", "recommendations", "review_cases"} {
		if items, _ := after[list].([]any); len(items) != 0 {
			t.Errorf("after deletion the export holds %d %s", len(items), list)
		}
	}
	found := false
	for _, r := range ts.mustREST(t, "privacy_officer", "GET", "/v1/erasures", "")["receipts"].([]any) {
		found = found || r.(map[string]any)["receipt_id"] == receipt
	}
	if !found {
		t.Errorf("the privacy officer does not see receipt %s", receipt)
	}
	// The session ended: the page asks for a new link.
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(pageURL))
	if err != nil || resp.Status != http.StatusUnauthorized {
		t.Fatalf("the privacy page after deletion: %v %v", resp, err)
	}

	logs := ts.logs.String()
	if strings.Contains(logs, token) || strings.Contains(logs, strings.TrimPrefix(token, "ct_")) || strings.Contains(logs, "erin") {
		t.Fatal("the logs hold the token or the customer")
	}
}

// privacyScreenshot saves a full-page PNG under the test's temp dir, and
// the one the README shows (docs) also in CANDOR_SCREENSHOT_DIR when set.
func privacyScreenshot(t *testing.T, ctx context.Context, name string, docs bool) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	files := []string{filepath.Join(t.TempDir(), name)}
	if dir := os.Getenv("CANDOR_SCREENSHOT_DIR"); dir != "" && docs {
		files = append(files, filepath.Join(dir, name))
	}
	for _, file := range files {
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", file, len(png))
	}
}
