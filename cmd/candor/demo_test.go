package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoTour boots `candor serve --demo` and follows the tour it prints:
// alice's answer is personalised and explained; after she revokes, it is not
// and says why; bob, who never consented, gets an answer that is not based
// on personal data.
func TestDemoTour(t *testing.T) {
	t.Parallel()
	opts, err := parseServeFlags([]string{"--demo", "--grpc-addr=127.0.0.1:0", "--http-addr=127.0.0.1:0"}, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var tour syncBuffer
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, opts, &tour, io.Discard, func(_, h string) { addrs <- h })
	}()
	var base string
	select {
	case h := <-addrs:
		base = "http://" + h
	case err := <-done:
		t.Fatalf("demo did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("demo did not start within 60s")
	}
	defer func() {
		cancel()
		<-done
	}()
	if !strings.Contains(tour.String(), base+"/v1/customers/alice/recommendations") {
		t.Fatalf("the tour does not show alice's recommendations at %s:\n%s", base, tour.String())
	}
	ts := &testServer{httpURL: base, keys: map[string]string{"storefront": "demo-storefront-key"}}
	checkTourPrivacyLink(t, tour.String(), base)

	alice := ts.mustREST(t, "storefront", "GET", "/v1/customers/alice/recommendations?surface=storefront&limit=3", "")
	if alice["personalized"] != true || len(citedSignals(t, alice)) == 0 {
		t.Fatalf("alice's demo answer is not personalised: %v", alice)
	}
	checkEveryItemExplained(t, alice)
	ts.mustREST(t, "storefront", "PATCH", "/v1/customers/alice/consents",
		`{"choices":[{"purpose":"personalization","granted":false}],"notice_version":"2026-10","method":"ui"}`)
	after := ts.mustREST(t, "storefront", "GET", "/v1/customers/alice/recommendations?surface=storefront&limit=3", "")
	if after["personalized"] != false || len(citedSignals(t, after)) != 0 {
		t.Fatalf("alice's answer after revoking is still personalised: %v", after)
	}
	checkReadmeQuotesHeadline(t, after)
	bob := ts.mustREST(t, "storefront", "GET", "/v1/customers/bob/recommendations?limit=3", "")
	headline := bob["items"].([]any)[0].(map[string]any)["explanation"].(map[string]any)["headline"].(string)
	if bob["personalized"] != false || !strings.Contains(headline, "Not based on your personal data, because you have not consented") {
		t.Fatalf("bob's answer: %q", headline)
	}
	if resp, err := testHTTP.Get(base + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %v %v", resp, err)
	} else {
		_ = resp.Body.Close()
	}
}

// checkTourPrivacyLink: the tour prints alice's privacy-center link, which
// opens her privacy center.
func checkTourPrivacyLink(t *testing.T, tour, base string) {
	t.Helper()
	link := regexp.MustCompile(regexp.QuoteMeta(base) + `/privacy\?token=ct_[A-Za-z0-9_-]+`).FindString(tour)
	if link == "" {
		t.Fatalf("the tour does not show alice's privacy-center link:\n%s", tour)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/privacy" || len(resp.Cookies()) == 0 {
		t.Fatalf("the privacy link: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/privacy", nil)
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	page, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Body.Close()
	html, _ := io.ReadAll(page.Body)
	if page.StatusCode != http.StatusOK || !strings.Contains(string(html), "<h1>Your privacy</h1>") || !strings.Contains(string(html), "Trail Runner 2 shoes") {
		t.Fatalf("alice's privacy center: status %d", page.StatusCode)
	}
}

// checkReadmeQuotesHeadline: the README's tour quotes, word for word, the
// first headline of alice's answer after she revoked; it names the item's
// category apart from its popularity, which is counted across the shop.
func checkReadmeQuotesHeadline(t *testing.T, answer map[string]any) {
	t.Helper()
	headline := answer["items"].([]any)[0].(map[string]any)["explanation"].(map[string]any)["headline"].(string)
	const want = "Popular with other customers across our shop (listed under Hiking). Not based on your personal data, because you withdrew your consent to personalised recommendations."
	if headline != want {
		t.Errorf("alice's first headline after revoking:\n got %q\nwant %q (the README's tour quotes it)", headline, want)
	}
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if readme := strings.Join(strings.Fields(string(raw)), " "); !strings.Contains(readme, `"`+headline+`"`) {
		t.Errorf("the README's tour does not quote alice's headline %q", headline)
	}
}
