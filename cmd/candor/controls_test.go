package main

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestCustomerControls: with a customer token, a customer reads their own
// stored explanation (and nobody else's), tells us not to use a signal the
// explanation cites, and marks an item and a category not interested; each
// control shapes the very next answer and says so, each can be undone, and
// every change is recorded.
func TestCustomerControls(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "--model-refresh=1s", "--min-support=2")
	ts.seedCatalog(t)
	ts.seedPopulation(t, 12)
	path := "/v1/customers/" + subject
	ts.mustREST(t, "storefront", "PATCH", path+"/consents",
		`{"choices":[{"purpose":"personalization","granted":true}],"notice_version":"v1","method":"ui"}`)
	ts.mustREST(t, "storefront", "POST", path+"/signals",
		`{"signals":[{"type":"view","item_id":"sku-00","purposes":["personalization"]},{"type":"view","item_id":"sku-03","purposes":["personalization"]},{"type":"add_to_cart","item_id":"sku-06","purposes":["personalization"]}]}`)
	var rec map[string]any
	waitFor(t, func() bool {
		rec = ts.mustREST(t, "storefront", "GET", path+"/recommendations?limit=5", "")
		return rec["personalized"] == true
	})

	// A token for the customer, and one for someone else.
	tok := ts.mustREST(t, "storefront", "POST", path+"/tokens", `{}`)["token"].(string)
	other := ts.mustREST(t, "storefront", "POST", "/v1/customers/someone-else/tokens", `{"ttl_seconds":120}`)["token"].(string)
	ts.keys["me"], ts.keys["them"] = tok, other
	id := rec["recommendation_id"].(string)
	if code, _ := ts.rest(t, "me", "GET", "/v1/recommendations/"+id, ""); code != http.StatusOK {
		t.Fatalf("the customer cannot read their own explanation: %d", code)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/recommendations/" + id}, {"GET", path + "/consents"}, {"GET", path + "/controls"},
	} {
		if code, _ := ts.rest(t, "them", c.method, c.path, ""); code != http.StatusForbidden {
			t.Fatalf("another customer's token on %s: status %d, want 403", c.path, code)
		}
	}
	if code, _ := ts.rest(t, "me", "POST", path+"/signals", `{"signals":[]}`); code != http.StatusForbidden {
		t.Fatalf("a customer token tracking signals: %d, want 403", code)
	}

	// Don't use this: the most cited signal.
	cited := citedSignals(t, rec)
	var signal string
	for s := range cited {
		signal = s
		break
	}
	ts.mustREST(t, "me", "PUT", path+"/controls/signals/"+signal, "")
	after := ts.mustREST(t, "storefront", "GET", path+"/recommendations?limit=5", "")
	if citedSignals(t, after)[signal] {
		t.Fatalf("signal %s is still cited after the customer asked us not to use it", signal)
	}
	if !hasNote(after, "suppressed", "You asked us not to use your ") {
		t.Fatalf("the answer does not say which signal was left out at the customer's request: %v", after["not_used"])
	}
	controls := ts.mustREST(t, "me", "GET", path+"/controls", "")["controls"].([]any)
	if len(controls) != 1 || !strings.HasPrefix(controls[0].(map[string]any)["label"].(string), "your ") {
		t.Fatalf("controls: %v", controls)
	}
	ts.mustREST(t, "me", "DELETE", path+"/controls/signals/"+signal, "")
	if back := ts.mustREST(t, "storefront", "GET", path+"/recommendations?limit=5", ""); !citedSignals(t, back)[signal] {
		t.Fatalf("after undo, signal %s is not used again", signal)
	}

	// Not interested: the first item, then a whole category.
	first := after["items"].([]any)[0].(map[string]any)["item_id"].(string)
	ts.mustREST(t, "me", "PUT", path+"/controls/items/"+first, "")
	ts.mustREST(t, "me", "PUT", path+"/controls/categories/"+url.PathEscape("cat-1"), "")
	shaped := ts.mustREST(t, "storefront", "GET", path+"/recommendations?limit=30", "")
	for _, it := range shaped["items"].([]any) {
		item := it.(map[string]any)["item_id"].(string)
		if n, err := strconv.Atoi(strings.TrimPrefix(item, "sku-")); err == nil && n%3 == 1 {
			t.Fatalf("item %s of category cat-1 shown after the customer said not interested", item)
		}
		if item == first {
			t.Fatalf("item %s shown after the customer said not interested", first)
		}
	}
	if !hasNote(shaped, "not_interested", "You marked 1 item and 1 category as not interested") {
		t.Fatalf("the answer does not mention the not-interested controls: %v", shaped["not_used"])
	}
	ts.mustREST(t, "me", "DELETE", path+"/controls/items/"+first, "")
	ts.mustREST(t, "me", "DELETE", path+"/controls/categories/cat-1", "")

	history := ts.mustREST(t, "privacy_officer", "GET", path+"/controls/history", "")["entries"].([]any)
	if len(history) != 6 {
		t.Fatalf("%d recorded control changes, want 6: %v", len(history), history)
	}
	for _, e := range history {
		if e.(map[string]any)["actor_role"] != "customer" {
			t.Fatalf("a change by the customer is recorded as %v", e)
		}
	}

	// Stop personalisation altogether, from the customer's side.
	ts.mustREST(t, "me", "PATCH", path+"/consents", `{"choices":[{"purpose":"personalization","granted":false}],"notice_version":"v1","method":"ui"}`)
	if r := ts.mustREST(t, "storefront", "GET", path+"/recommendations?limit=5", ""); r["personalized"] != false {
		t.Fatal("the customer's revocation was not obeyed by the next request")
	}

	// How ranking works, in plain words, for anyone holding a key or token.
	about := ts.mustREST(t, "me", "GET", "/v1/about/ranking", "")
	if secs := about["sections"].([]any); len(secs) < 4 || !strings.Contains(secs[3].(map[string]any)["title"].(string), "change") {
		t.Fatalf("ranking description: %v", about)
	}
}

func hasNote(rec map[string]any, reason, text string) bool {
	notes, _ := rec["not_used"].([]any)
	for _, n := range notes {
		note := n.(map[string]any)
		if note["reason"] == reason && strings.HasPrefix(note["text"].(string), text) {
			return true
		}
	}
	return false
}
