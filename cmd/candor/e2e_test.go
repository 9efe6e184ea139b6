package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// The subject of the end-to-end test: a raw customer id distinctive enough
// that finding it anywhere in Redis or the logs is certainly a leak.
const subject = "erin.rawid-Q7ZX9@example.test"

// TestEndToEnd drives the real server through gRPC and REST: grant → track →
// recommend (reasons cite the tracked signals) → revoke → the very next answer
// cites none of them and says why → re-grant. Then it scans every Redis key
// and value, and the logs, for the raw customer id.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "--model-refresh=1s", "--min-support=2")
	ts.seedCatalog(t)
	ts.seedPopulation(t, 12)
	path := "/v1/customers/" + subject

	// Grant over REST.
	ts.mustREST(t, "storefront", "PATCH", path+"/consents",
		`{"choices":[{"purpose":"personalization","granted":true},{"purpose":"model_training","granted":true}],"notice_version":"2026-11","method":"ui"}`)

	// Track over gRPC: three views in category 0, and one signal offered for
	// marketing_email, which the customer has not consented to.
	tracked, err := ts.signals().TrackSignals(ts.ctx("storefront"), &candorv1.TrackSignalsRequest{
		CustomerId: subject,
		Signals: []*candorv1.SignalInput{
			{Type: "view", ItemId: "sku-00", Purposes: []string{"personalization", "model_training"}},
			{Type: "view", ItemId: "sku-03", Purposes: []string{"personalization"}},
			{Type: "add_to_cart", ItemId: "sku-06", Purposes: []string{"personalization", "marketing_email"}},
			{Type: "view", ItemId: "sku-09", Purposes: []string{"marketing_email"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if tracked.GetStoredCount() != 3 || tracked.GetDroppedCount() != 1 {
		t.Fatalf("track: stored %d, dropped %d; want 3 and 1: %v", tracked.GetStoredCount(), tracked.GetDroppedCount(), tracked)
	}
	if r := tracked.GetResults()[3]; r.GetOutcome() != "dropped" || !strings.Contains(r.GetReason(), "marketing_email") {
		t.Fatalf("the unconsented signal: %v", r)
	}
	if r := tracked.GetResults()[2]; strings.Join(r.GetStoredPurposes(), ",") != "personalization" || !strings.Contains(r.GetReason(), "marketing_email") {
		t.Fatalf("the narrowed signal: %v", r)
	}
	trackedIDs := map[string]bool{}
	for _, r := range tracked.GetResults()[:3] {
		trackedIDs[r.GetSignalId()] = true
	}

	// Recommend over REST until the model (retrained every second) knows
	// the population; then the reasons cite the tracked signals.
	var rec map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for {
		rec = ts.mustREST(t, "storefront", "GET", path+"/recommendations?surface=storefront&limit=5", "")
		if rec["personalized"] == true || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	cited := citedSignals(t, rec)
	if rec["personalized"] != true || len(cited) == 0 {
		t.Fatalf("no personalised answer within 30s: %v", rec)
	}
	for id := range cited {
		if !trackedIDs[id] {
			t.Fatalf("an explanation cites signal %s, which was not tracked", id)
		}
	}
	checkEveryItemExplained(t, rec)

	// The same over gRPC.
	grpcRec, err := ts.recs().GetRecommendations(ts.ctx("storefront"), &candorv1.GetRecommendationsRequest{CustomerId: subject, Surface: "storefront", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !grpcRec.GetRecommendation().GetPersonalized() {
		t.Fatalf("gRPC answer not personalised: %v", grpcRec)
	}

	// The stored explanation can be read back by id.
	stored := ts.mustREST(t, "privacy_officer", "GET", "/v1/recommendations/"+rec["recommendation_id"].(string), "")
	if stored["recommendation_id"] != rec["recommendation_id"] || len(citedSignals(t, stored)) != len(cited) {
		t.Fatalf("stored recommendation differs: %v", stored)
	}

	// Revoke over gRPC; the very next answer cites nothing and says why.
	if _, err := ts.consent().UpdateConsents(ts.ctx("storefront"), &candorv1.UpdateConsentsRequest{
		CustomerId: subject, NoticeVersion: "2026-11", Method: "ui",
		Choices: []*candorv1.ConsentChoice{{Purpose: "personalization", Granted: false}},
	}); err != nil {
		t.Fatal(err)
	}
	after := ts.mustREST(t, "storefront", "GET", path+"/recommendations?surface=storefront&limit=5", "")
	if after["personalized"] != false || len(citedSignals(t, after)) != 0 {
		t.Fatalf("after revocation the answer still uses personal data: %v", after)
	}
	checkEveryItemExplained(t, after)
	item := after["items"].([]any)[0].(map[string]any)
	ex := item["explanation"].(map[string]any)
	if h := ex["headline"].(string); !strings.Contains(h, "Not based on your personal data") || !strings.Contains(h, "withdrew") {
		t.Fatalf("headline after revocation: %q", h)
	}
	notUsed := 0
	for _, n := range ex["not_used"].([]any) {
		note := n.(map[string]any)
		if note["reason"] == "no_consent" {
			notUsed += int(note["count"].(float64))
		}
	}
	if notUsed != 3 {
		t.Fatalf("after revocation, %d signals are reported not used for lack of consent; want 3: %v", notUsed, ex["not_used"])
	}

	// Re-grant: the signals are used again.
	ts.mustREST(t, "storefront", "PATCH", path+"/consents",
		`{"choices":[{"purpose":"personalization","granted":true}],"notice_version":"2026-11","method":"ui"}`)
	again := ts.mustREST(t, "storefront", "GET", path+"/recommendations?surface=storefront&limit=5", "")
	if again["personalized"] != true || len(citedSignals(t, again)) == 0 {
		t.Fatalf("after re-grant the answer is not personalised: %v", again)
	}

	// The ledger holds every change, oldest first.
	history := ts.mustREST(t, "privacy_officer", "GET", path+"/consents/history", "")
	var got []string
	for _, e := range history["entries"].([]any) {
		entry := e.(map[string]any)
		got = append(got, entry["purpose"].(string)+"="+map[bool]string{true: "granted", false: "revoked"}[entry["granted"].(bool)]+"/"+entry["method"].(string)+"/"+entry["actor_role"].(string))
	}
	want := "personalization=granted/ui/storefront,model_training=granted/ui/storefront,personalization=revoked/ui/storefront,personalization=granted/ui/storefront"
	if strings.Join(got, ",") != want {
		t.Fatalf("ledger:\n got %s\nwant %s", strings.Join(got, ","), want)
	}

	// The support surface never returns promotional items.
	support := ts.mustREST(t, "support_agent", "GET", path+"/recommendations?surface=support&limit=30", "")
	for _, it := range support["items"].([]any) {
		id := it.(map[string]any)["item_id"].(string)
		if id == "sku-06" || id == "sku-13" || id == "sku-20" || id == "sku-27" {
			t.Fatalf("support surface returned promotional item %s", id)
		}
	}

	// REST calls went through the gRPC interceptors: they are counted
	// (the history was only ever read over REST).
	resp, err := testHTTP.Get(ts.httpURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, want := range []string{
		`candor_grpc_requests_total{code="OK",method="/candor.v1.ConsentService/ListConsentHistory"}`,
		`candor_grpc_requests_total{code="OK",method="/candor.v1.RecommendationService/GetRecommendations"}`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(metrics), subject) {
		t.Fatal("/metrics holds the raw customer id")
	}

	assertNoRawID(t, ts, subject)
}

// citedSignals returns the ids of the signals cited by any item, in a reason
// or a contribution.
func citedSignals(t *testing.T, rec map[string]any) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	items, _ := rec["items"].([]any)
	for _, it := range items {
		item := it.(map[string]any)
		ex := item["explanation"].(map[string]any)
		for _, r := range ex["reasons"].([]any) {
			reason := r.(map[string]any)
			if reason["kind"] == "signal" {
				out[reason["signal_id"].(string)] = true
			}
		}
		for _, c := range item["contributions"].([]any) {
			out[c.(map[string]any)["signal_id"].(string)] = true
		}
	}
	return out
}

// checkEveryItemExplained: every item has a headline and at least one
// reason; a personalised item's contributions sum to its score.
func checkEveryItemExplained(t *testing.T, rec map[string]any) {
	t.Helper()
	items := rec["items"].([]any)
	if len(items) == 0 {
		t.Fatalf("no items: %v", rec)
	}
	for _, it := range items {
		item := it.(map[string]any)
		ex := item["explanation"].(map[string]any)
		reasons := ex["reasons"].([]any)
		if ex["headline"] == "" || len(reasons) == 0 {
			t.Fatalf("item %v is not explained", item["item_id"])
		}
		contributions := item["contributions"].([]any)
		if ex["personalized"] == true {
			sum := 0.0
			for _, c := range contributions {
				sum += c.(map[string]any)["contribution"].(float64)
			}
			if d := sum - item["score"].(float64); d > 1e-9 || d < -1e-9 {
				t.Fatalf("item %v: contributions sum to %v, score is %v", item["item_id"], sum, item["score"])
			}
			if more := int(ex["more_reasons"].(float64)); len(reasons) > 3 || len(reasons)+more != len(contributions) {
				t.Fatalf("item %v: %d reasons and %d more, for %d contributions", item["item_id"], len(reasons), more, len(contributions))
			}
		} else if len(contributions) != 0 {
			t.Fatalf("item %v is not personalised but lists contributions", item["item_id"])
		}
	}
}

// assertNoRawID scans every key and value in the namespace, and the logs,
// for the raw customer id (and for API keys in the logs).
func assertNoRawID(t *testing.T, ts *testServer, raw string) {
	t.Helper()
	dump := ts.redis.Dump(t)
	if len(dump) == 0 {
		t.Fatal("the namespace is empty; the scan proves nothing")
	}
	for k, v := range dump {
		if strings.Contains(strings.ToLower(k), strings.ToLower(raw)) || strings.Contains(strings.ToLower(v), strings.ToLower(raw)) {
			t.Fatalf("key %s (or its value) holds the raw customer id", k)
		}
	}
	logs := ts.logs.String()
	if !strings.Contains(logs, `"msg":"call"`) {
		t.Fatalf("the logs hold no call records; the scan proves nothing:\n%s", logs)
	}
	if strings.Contains(logs, raw) || strings.Contains(logs, "erin") {
		t.Fatal("the logs hold the raw customer id")
	}
	for role, key := range ts.keys {
		if strings.Contains(logs, key) {
			t.Fatalf("the logs hold the %s API key", role)
		}
	}
}

// TestUnauthenticated: no key, a wrong key or a malformed header is refused
// on every transport; a role outside the table is denied.
func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for _, header := range []string{"", "Bearer wrong-key-wrong-key-wrong", "Basic abc", "Bearer"} {
		req, _ := http.NewRequest("GET", ts.httpURL+"/v1/customers/c1/consents", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := testHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("header %q: status %d, WWW-Authenticate %q; want 401 with a Bearer challenge", header, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	_, err := ts.consent().GetConsents(ts.ctx(""), &candorv1.GetConsentsRequest{CustomerId: "c1"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("gRPC without key: %v; want Unauthenticated", err)
	}
	// A marketer never reads a customer's data; a storefront never changes
	// policy; only the admin manages the catalogue.
	for _, c := range []struct{ role, method, path, body string }{
		{"marketer", "GET", "/v1/customers/c1/consents", ""},
		{"marketer", "GET", "/v1/customers/c1/recommendations", ""},
		{"storefront", "PUT", "/v1/policy/signal-sets", `{"signal_sets":[]}`},
		{"storefront", "DELETE", "/v1/catalog/items/sku-1", ""},
		{"privacy_officer", "PATCH", "/v1/customers/c1/consents", `{"choices":[{"purpose":"support","granted":true}],"notice_version":"v","method":"api"}`},
		{"storefront", "GET", "/v1/customers/c1/recommendations?surface=support", ""},
		{"support_agent", "GET", "/v1/customers/c1/recommendations?surface=storefront", ""},
	} {
		if code, out := ts.rest(t, c.role, c.method, c.path, c.body); code != http.StatusForbidden {
			t.Fatalf("%s %s %s: status %d (%v); want 403", c.role, c.method, c.path, code, out)
		}
	}
	// Health and reflection need no key.
	resp, err := testHTTP.Get(ts.httpURL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	_ = resp.Body.Close()
}

// TestRevocationWithDeletionRemovesAnswers: a revocation that asks for the
// purpose's data to be deleted also deletes the stored answers that cite it;
// and a role limited to some surfaces cannot read another surface's answers.
func TestRevocationWithDeletionRemovesAnswers(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.seedCatalog(t)
	path := "/v1/customers/" + subject
	ts.mustREST(t, "storefront", "PATCH", path+"/consents",
		`{"choices":[{"purpose":"personalization","granted":true},{"purpose":"support","granted":true}],"notice_version":"v1","method":"ui"}`)
	ts.mustREST(t, "storefront", "POST", path+"/signals", `{"signals":[{"type":"purchase","item_id":"sku-01","purposes":["personalization","support"]}]}`)
	storefront := ts.mustREST(t, "storefront", "GET", path+"/recommendations?surface=storefront", "")["recommendation_id"].(string)
	support := ts.mustREST(t, "support_agent", "GET", path+"/recommendations?surface=support", "")["recommendation_id"].(string)

	for _, c := range []struct {
		role, id string
		status   int
	}{
		{"storefront", storefront, 200}, {"support_agent", support, 200}, {"privacy_officer", storefront, 200},
		{"support_agent", storefront, 404}, {"storefront", support, 404},
	} {
		if code, out := ts.rest(t, c.role, "GET", "/v1/recommendations/"+c.id, ""); code != c.status {
			t.Fatalf("%s reading %s: status %d (%v), want %d", c.role, c.id, code, out, c.status)
		}
	}

	out := ts.mustREST(t, "storefront", "PATCH", path+"/consents",
		`{"choices":[{"purpose":"personalization","granted":false,"delete_data":true}],"notice_version":"v1","method":"ui"}`)
	if out["signals_narrowed"].(float64) != 1 {
		t.Fatalf("the purchase kept for support should be narrowed: %v", out)
	}
	if code, _ := ts.rest(t, "privacy_officer", "GET", "/v1/recommendations/"+storefront, ""); code != http.StatusNotFound {
		t.Fatalf("the personalisation answer survived the deletion of personalisation data: status %d", code)
	}
	if code, _ := ts.rest(t, "privacy_officer", "GET", "/v1/recommendations/"+support, ""); code != http.StatusOK {
		t.Fatalf("the support answer should stay: status %d", code)
	}
}
