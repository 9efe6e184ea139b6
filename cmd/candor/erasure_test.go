package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/keyspace"
	"github.com/candorhq/candor/internal/redistest"
)

// erasureArgs: the co-occurrence model is rebuilt every second and an ALS
// model written by `candor train` is picked up within 100 ms, so the test can
// watch the erased customer leave the models; a model older than 2h would be
// refused, which bounds how long an erasure can wait for one.
var erasureArgs = []string{"--model-refresh=1s", "--model-poll=100ms", "--model-max-age=2h", "--min-support=2"}

// TestErasure is the erasure acceptance test, on a single Redis (REDIS_URL,
// or the embedded server) and on a local three-node Redis Cluster: load a
// customer with signals of every kind, consents, controls, explanations and
// review cases; erase over REST; then scan every key and value on every node
// (opening every sealed value) and find nothing of theirs, while everyone
// else's data is byte for byte as it was.
func TestErasure(t *testing.T) {
	t.Parallel()
	t.Run("single", func(t *testing.T) {
		t.Parallel()
		r := redistest.New(t)
		ts := startServerOn(t, r.URL, r.Namespace, erasureArgs...)
		ts.redis = r
		testErasure(t, ts, r.Snapshot, 1)
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		c := redistest.StartCluster(t)
		testErasure(t, startServerOn(t, c.URL(), c.Namespace, erasureArgs...), c.Snapshot, redistest.ClusterNodes)
	})
}

// erasureSubject is everything the test loads for the customer it erases,
// and what the receipt must count.
type erasureSubject struct {
	rawID, path string
	pseudonym   features.Pseudonym
	// solo is an item outside the catalogue and soloSKU one in it; only
	// the subject ever holds a signal on either.
	solo, soloSKU string
	// words is a phrase of their own, in a review case's message.
	words     string
	signalIDs []string // every signal id ever stored, deleted ones too
	recIDs    map[string]bool
	caseIDs   []string
	caseAbout []caseAbout // per case
	counts    map[string]int64
}

// caseAbout is the answer and kind of one of the subject's review cases.
type caseAbout struct{ rec, kind string }

// markers are the subject's pending review markers (their cases are all
// pending when erased), each with the handle of the case it names.
func (s *erasureSubject) markers(keys keyspace.Keyspace, codec *features.Codec) map[string]string {
	out := map[string]string{}
	for i, id := range s.caseIDs {
		about := s.caseAbout[i]
		out[keys.ReviewPending(explain.PendingHandle(codec, s.pseudonym, about.rec, about.kind))] = explain.CaseHandle(codec, id)
	}
	return out
}

// globalKeys are the subject's keys outside their hash tag: stored
// answers, review cases and pending markers.
func (s *erasureSubject) globalKeys(keys keyspace.Keyspace, codec *features.Codec) []string {
	var out []string
	for id := range s.recIDs {
		out = append(out, keys.Recommendation(id))
	}
	for _, id := range s.caseIDs {
		out = append(out, keys.ReviewCase(explain.CaseHandle(codec, id)))
	}
	for marker := range s.markers(keys, codec) {
		out = append(out, marker)
	}
	return out
}

func testErasure(t *testing.T, ts *testServer, snapshot func(testing.TB) []redistest.Key, nodes int) {
	ns := ts.namespace
	codec, pseudonyms := serverCrypto(t, ts)
	suffix := randomSuffix(t)
	ts.seedCatalog(t)
	ts.seedPopulation(t, 12)
	s := &erasureSubject{
		rawID: "erase-me-" + suffix, solo: "lone-" + suffix, soloSKU: "sku-only-" + suffix,
		words: "my-own-words-" + suffix, recIDs: map[string]bool{}, counts: map[string]int64{},
	}
	s.path = "/v1/customers/" + s.rawID
	s.pseudonym = pseudonyms.Pseudonym(s.rawID)
	other := loadOtherCustomer(t, ts, "keep-me-"+suffix)
	// Added after the other customer's answer was stored: a new item may
	// well be recommended to anyone ("New in our catalogue"), which would
	// put it in their stored answer without being the subject's data.
	ts.mustREST(t, "admin", "PUT", "/v1/catalog/items/"+s.soloSKU, `{"title":"Lone lamp","categories":["cat-0"]}`)
	loadSubject(t, ts, s)

	// The ALS model is trained on everyone who consented to model
	// training, the subject included; items fewer than --min-support
	// customers hold (solo, soloSKU) are left out of it.
	info := ts.trainOnce(t, "--keep=2")
	if info["customers"].(float64) != 14 {
		t.Fatalf("train: %v; want the 12 of the population, the other customer and the subject", info)
	}
	version, trainedAt := info["version"].(string), jsonTime(t, info["trained_at"])
	var rec map[string]any
	waitFor(t, func() bool {
		rec = s.recommend(t, ts, "storefront", "storefront")
		return rec["personalized"] == true && strings.Contains(rec["model_version"].(string), version)
	})
	checkEveryItemExplained(t, rec)
	support := s.recommend(t, ts, "support_agent", "support")
	s.recommend(t, ts, "storefront", "email")
	s.counts["recommendations"] = int64(len(s.recIDs))
	openReviews(t, ts, s, rec["recommendation_id"].(string), support["recommendation_id"].(string))

	// Before: the scan sees every kind of key the subject has, on every
	// node, and every needle it will look for afterwards, in the clear or
	// in a value it opens. So finding nothing afterwards means something.
	keys, err := keyspace.New(ns)
	if err != nil {
		t.Fatal(err)
	}
	tag := keys.Customer(s.pseudonym).Prefix
	before := snapshot(t)
	byName := keysByName(before)
	global := s.globalKeys(keys, codec)
	held := append(keys.Customer(s.pseudonym).All(), global...)
	markers := s.markers(keys, codec)
	for _, name := range held {
		k, ok := byName[name]
		if !ok {
			t.Fatalf("before erasure, %s is not stored; the test loads less than it claims", name)
		}
		// Every value of the subject's records is sealed, and the test opens
		// each, except the index of recommendation ids (recs) and the
		// markers, which hold a case's handle.
		if handle, ok := markers[name]; ok {
			if k.Type != "string" || len(k.Items) != 1 || k.Items[0].Value != handle {
				t.Fatalf("before erasure, the marker %s holds %+v, want the handle of its case", name, k.Items)
			}
		} else if k.Type != "set" && k.Type != "zset" {
			for _, it := range k.Items {
				if _, ok := openSealed(codec, k.Name, it); !ok {
					t.Fatalf("a value of %s (field %q) does not open with the server's key; the scan would be blind to it", k.Name, it.Field)
				}
			}
		}
	}
	needles := s.needles()
	for label, needle := range needles {
		if label == "raw customer id" {
			continue // never stored, not even before (invariant 6)
		}
		if len(findNeedle(before, codec, needle)) == 0 {
			t.Fatalf("before erasure the scan finds no %s (%q): it would prove nothing afterwards", label, needle)
		}
	}
	if seen := nodesOf(before); len(seen) != nodes {
		t.Fatalf("the scan read keys from %d nodes (%v), want %d", len(seen), seen, nodes)
	}
	if hits := findNeedle(before, codec, s.rawID); len(hits) > 0 {
		t.Fatalf("the raw customer id is stored in %v", hits)
	}

	// Erase, over REST, with the customer's own token.
	start := time.Now()
	code, raw := ts.restRaw(t, "subject", "DELETE", s.path, "")
	if code != http.StatusOK {
		t.Fatalf("DELETE %s: status %d: %s", s.path, code, raw)
	}
	receipt := checkReceipt(t, raw, s.counts, s.needles(), start, time.Now())
	if receipt["model_pending"] != true || !jsonTime(t, receipt["model_trained_at"]).Equal(trainedAt) ||
		!jsonTime(t, receipt["reflected_at_most_until"]).Equal(trainedAt.Add(2*time.Hour)) {
		t.Fatalf("the receipt's model state: %s; want pending, the ALS model's training time %s, and that plus --model-max-age", raw, trainedAt.Format(time.RFC3339Nano))
	}

	// After: nothing of theirs on any node; everyone else's keys as they
	// were.
	after := snapshot(t)
	checkNothingLeft(t, after, codec, keys, tag, needles, s.soloSKU)
	checkGone(t, after, global)
	checkOthersIntact(t, before, after, keys, codec, tag, s)

	// Idempotent: a second erasure (by the storefront, on their behalf)
	// finds nothing and says so.
	code, raw2 := ts.restRaw(t, "storefront", "DELETE", s.path, "")
	if code != http.StatusOK {
		t.Fatalf("second DELETE: status %d: %s", code, raw2)
	}
	zero := map[string]int64{}
	for kind := range s.counts {
		zero[kind] = 0
	}
	receipt2 := checkReceipt(t, raw2, zero, s.needles(), start, time.Now())
	if receipt2["receipt_id"] == receipt["receipt_id"] {
		t.Fatal("the second erasure reused the first receipt's id")
	}
	after = snapshot(t)
	checkNothingLeft(t, after, codec, keys, tag, needles, s.soloSKU)
	checkGone(t, after, global)

	// The privacy officer sees both receipts, newest first; nobody else
	// may list them.
	list := ts.mustREST(t, "privacy_officer", "GET", "/v1/erasures", "")
	var ids []string
	for _, r := range list["receipts"].([]any) {
		ids = append(ids, r.(map[string]any)["receipt_id"].(string))
	}
	if want := []string{receipt2["receipt_id"].(string), receipt["receipt_id"].(string)}; !slices.Equal(ids, want) {
		t.Fatalf("GET /v1/erasures lists %v, want %v", ids, want)
	}
	for _, role := range []string{"storefront", "support_agent", "marketer", "admin", "subject"} {
		if code, _ := ts.rest(t, role, "GET", "/v1/erasures", ""); code != http.StatusForbidden {
			t.Fatalf("%s listing erasure receipts: status %d, want 403", role, code)
		}
	}

	// The next training leaves the subject out (keeping only the new
	// version deletes the one trained on them); once every server uses
	// models built after the erasure, no receipt is pending any more.
	if info := ts.trainOnce(t, "--keep=1"); info["customers"].(float64) != 13 {
		t.Fatalf("retrain after erasure: %v; want 13 customers", info)
	}
	waitFor(t, func() bool {
		list := ts.mustREST(t, "privacy_officer", "GET", "/v1/erasures", "")
		for _, r := range list["receipts"].([]any) {
			if r.(map[string]any)["model_pending"] != false {
				return false
			}
		}
		return list["longest_pending_seconds"] == "0"
	})
	final := snapshot(t)
	if _, ok := keysByName(final)[keys.Model(version)]; ok {
		t.Fatalf("the model version trained on the subject is still stored")
	}
	checkNothingLeft(t, final, codec, keys, tag, needles, s.soloSKU)
	checkGone(t, final, global)

	// A recommendation for them now is not personalised and says why.
	after2 := ts.mustREST(t, "storefront", "GET", s.path+"/recommendations?surface=storefront&limit=5", "")
	checkEveryItemExplained(t, after2)
	if after2["personalized"] != false || len(citedSignals(t, after2)) != 0 || len(after2["not_used"].([]any)) != 0 {
		t.Fatalf("after erasure the answer uses or mentions personal data: %v", after2)
	}
	for _, it := range after2["items"].([]any) {
		ex := it.(map[string]any)["explanation"].(map[string]any)
		h := ex["headline"].(string)
		if ex["personalized"] != false || !strings.Contains(h, "Not based on your personal data") || !strings.Contains(h, "because you have not consented to") {
			t.Fatalf("headline after erasure: %q", h)
		}
	}

	// The other customer's records still read back.
	if got := ts.mustREST(t, "privacy_officer", "GET", "/v1/recommendations/"+other.recID, ""); got["recommendation_id"] != other.recID {
		t.Fatalf("the other customer's stored answer: %v", got)
	}
	if cases := ts.mustREST(t, "storefront", "GET", other.path+"/reviews", "")["cases"].([]any); len(cases) != 1 {
		t.Fatalf("the other customer's cases: %v", cases)
	}
	if strings.Contains(ts.logs.String(), s.rawID) {
		t.Fatal("the logs hold the raw customer id")
	}
}

// loadSubject gives the subject consent decisions (granted and withdrawn),
// a signal of every type (one on an item outside the catalogue, one on a
// catalogue item nobody else holds), a corrected and a deleted signal, and
// controls of every kind (one set and removed again), and counts what the
// receipt must report.
func loadSubject(t *testing.T, ts *testServer, s *erasureSubject) {
	t.Helper()
	ledger := 0
	for _, body := range []string{
		`{"choices":[{"purpose":"personalization","granted":true,"sensitive":true},{"purpose":"support","granted":true},{"purpose":"marketing_email","granted":true},{"purpose":"model_training","granted":true}],"notice_version":"v1","method":"ui"}`,
		`{"choices":[{"purpose":"marketing_email","granted":false}],"notice_version":"v1","method":"ui"}`,
	} {
		ledger += len(ts.mustREST(t, "storefront", "PATCH", s.path+"/consents", body)["recorded"].([]any))
	}
	s.counts["consent_decisions"], s.counts["ledger_entries"] = int64(consent.NumPurposes), int64(ledger)

	itemOf := map[consent.SignalType]string{
		consent.View: s.solo, consent.AddToCart: s.soloSKU, consent.Purchase: "sku-00",
		consent.Search: "sku-03", consent.Rating: "sku-06", consent.SupportTicket: "sku-09",
	}
	type input struct {
		Type     string   `json:"type"`
		ItemID   string   `json:"item_id"`
		Purposes []string `json:"purposes"`
		Value    float64  `json:"value,omitempty"`
	}
	purposes := []string{"personalization", "support", "model_training"}
	var inputs []input
	for _, typ := range consent.SignalTypes() {
		item, ok := itemOf[typ]
		if !ok {
			t.Fatalf("signal type %s is new: give it an item in this test", typ)
		}
		in := input{Type: typ.String(), ItemID: item, Purposes: purposes}
		if typ == consent.Rating {
			in.Value = 4
		}
		inputs = append(inputs, in)
	}
	for _, item := range []string{"sku-00", "sku-03", "sku-06", "sku-15"} {
		inputs = append(inputs, input{Type: "view", ItemID: item, Purposes: purposes})
	}
	body, err := json.Marshal(map[string]any{"signals": inputs})
	if err != nil {
		t.Fatal(err)
	}
	tracked := ts.mustREST(t, "storefront", "POST", s.path+"/signals", string(body))
	if int(tracked["stored_count"].(float64)) != len(inputs) {
		t.Fatalf("track: %v; want every signal stored", tracked)
	}
	for _, r := range tracked["results"].([]any) {
		s.signalIDs = append(s.signalIDs, r.(map[string]any)["signal_id"].(string))
	}
	purchase, search, last := s.signalIDs[consent.Purchase], s.signalIDs[consent.Search], s.signalIDs[len(s.signalIDs)-1]

	// Rectification: one signal corrected, one deleted (each recorded in
	// the change log).
	ts.mustREST(t, "storefront", "PATCH", s.path+"/signals/"+purchase,
		fmt.Sprintf(`{"occurred_at":%q}`, time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)))
	if out := ts.mustREST(t, "storefront", "DELETE", s.path+"/signals/"+last, ""); out["deleted"] != true {
		t.Fatalf("delete signal: %v", out)
	}
	s.counts["signals"] = int64(len(s.signalIDs) - 1)

	// Controls of every kind, by the customer (with a token) and by the
	// storefront; one is set and removed again.
	tok := ts.mustREST(t, "storefront", "POST", s.path+"/tokens", `{"ttl_seconds":3600}`)["token"].(string)
	ts.keys["subject"] = tok
	for _, c := range []struct{ role, method, target string }{
		{"subject", "PUT", "signals/" + search},
		{"subject", "PUT", "items/sku-21"},
		{"storefront", "PUT", "categories/cat-2"},
		{"subject", "PUT", "items/sku-24"},
		{"subject", "DELETE", "items/sku-24"},
	} {
		ts.mustREST(t, c.role, c.method, s.path+"/controls/"+c.target, "")
	}
	s.counts["controls"], s.counts["control_changes"] = 3, 5+2
}

// recommend asks for recommendations for the subject and remembers the
// stored answer's id.
func (s *erasureSubject) recommend(t *testing.T, ts *testServer, role, surface string) map[string]any {
	t.Helper()
	rec := ts.mustREST(t, role, "GET", s.path+"/recommendations?limit=5&surface="+surface, "")
	s.recIDs[rec["recommendation_id"].(string)] = true
	return rec
}

// openReviews opens two cases (a contest by the customer, a human review
// through the support chat) and moves the second to in_review, so that the
// subject's cases sit in two of the privacy officer's queues.
func openReviews(t *testing.T, ts *testServer, s *erasureSubject, storefrontRec, supportRec string) {
	t.Helper()
	for _, c := range []struct{ role, rec, kind, message string }{
		{"subject", storefrontRec, "contest", "I never wanted this: " + s.words},
		{"support_agent", supportRec, "human_review", "Please have a person look at this."},
	} {
		body := fmt.Sprintf(`{"kind":%q,"message":%q}`, c.kind, c.message)
		out := ts.mustREST(t, c.role, "POST", "/v1/recommendations/"+c.rec+"/reviews", body)
		s.caseIDs = append(s.caseIDs, out["case"].(map[string]any)["case_id"].(string))
		s.caseAbout = append(s.caseAbout, caseAbout{c.rec, c.kind})
	}
	ts.mustREST(t, "privacy_officer", "PATCH", "/v1/reviews/"+s.caseIDs[1], `{"status":"in_review","reply":"Looking into it."}`)
	s.counts["review_cases"] = int64(len(s.caseIDs))
}

// needles are what must not be found after erasure, by label.
func (s *erasureSubject) needles() map[string]string {
	n := map[string]string{
		"pseudonym": string(s.pseudonym), "raw customer id": s.rawID,
		"item outside the catalogue": s.solo, "catalogue item only they hold": s.soloSKU,
		"words of their own": s.words,
	}
	for i, id := range s.signalIDs {
		n[fmt.Sprintf("signal id %d", i)] = id
	}
	for id := range s.recIDs {
		n["recommendation id "+id] = id
	}
	for _, id := range s.caseIDs {
		n["case id "+id] = id
	}
	return n
}

// otherCustomer is a customer with records of every kind who is not erased.
type otherCustomer struct{ path, recID string }

func loadOtherCustomer(t *testing.T, ts *testServer, id string) otherCustomer {
	t.Helper()
	o := otherCustomer{path: "/v1/customers/" + id}
	ts.mustREST(t, "storefront", "PATCH", o.path+"/consents",
		`{"choices":[{"purpose":"personalization","granted":true},{"purpose":"model_training","granted":true}],"notice_version":"v1","method":"ui"}`)
	ts.mustREST(t, "storefront", "POST", o.path+"/signals",
		`{"signals":[{"type":"view","item_id":"sku-00","purposes":["personalization","model_training"]},{"type":"purchase","item_id":"sku-03","purposes":["personalization","model_training"]}]}`)
	ts.mustREST(t, "storefront", "PUT", o.path+"/controls/items/sku-12", "")
	o.recID = ts.mustREST(t, "storefront", "GET", o.path+"/recommendations?limit=5", "")["recommendation_id"].(string)
	ts.mustREST(t, "storefront", "POST", "/v1/recommendations/"+o.recID+"/reviews", `{"kind":"contest","message":"Why this?"}`)
	return o
}

// checkReceipt checks an erasure receipt: only the documented fields, a
// receipt id, a time inside the call, the expected counts, and nothing that
// could name the customer or anything of theirs.
func checkReceipt(t *testing.T, raw []byte, counts map[string]int64, needles map[string]string, from, to time.Time) map[string]any {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("receipt is not JSON: %v: %s", err, raw)
	}
	allowed := []string{"receipt_id", "erased_at", "counts", "model_trained_at", "reflected_at_most_until", "model_pending"}
	for field := range r {
		if !slices.Contains(allowed, field) {
			t.Fatalf("the receipt has an undocumented field %q: %s", field, raw)
		}
	}
	if id, _ := r["receipt_id"].(string); !features.ValidID("erasure_", id) {
		t.Fatalf("receipt id %q", r["receipt_id"])
	}
	if at := jsonTime(t, r["erased_at"]); at.Before(from.Add(-time.Second)) || at.After(to.Add(time.Second)) {
		t.Fatalf("erased_at %s is not within the call (%s to %s)", at, from, to)
	}
	got := map[string]int64{}
	for kind, v := range r["counts"].(map[string]any) {
		n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64) // int64 is a JSON string
		if err != nil {
			t.Fatalf("count %s = %v", kind, v)
		}
		got[kind] = n
	}
	if !maps.Equal(got, counts) {
		t.Fatalf("receipt counts %v, want %v", got, counts)
	}
	text := strings.ToLower(string(raw))
	for label, needle := range needles {
		if strings.Contains(text, strings.ToLower(needle)) {
			t.Fatalf("the receipt holds the %s: %s", label, raw)
		}
	}
	if strings.Contains(text, "sku-") || strings.Contains(text, "erase-me") {
		t.Fatalf("the receipt names an item or the customer: %s", raw)
	}
	return r
}

// checkNothingLeft: no key under the customer's hash tag, and no needle in
// any key name, field, value or opened value, anywhere. The one exception is
// the catalogue item only they held, which stays in the catalogue (an item,
// not their data): in the catalogue's items and changes only.
// The item model needs no exception: items held by fewer than --min-support
// customers are never in it, and the model's factors for shared items (which
// do reflect the customer until the next training, as the receipt reports)
// name no one.
func checkNothingLeft(t *testing.T, keys []redistest.Key, codec *features.Codec, ks keyspace.Keyspace, tag string, needles map[string]string, soloSKU string) {
	t.Helper()
	catalog := []string{ks.Catalog().Items, ks.Catalog().Changes}
	for _, k := range keys {
		if strings.HasPrefix(k.Name, tag) {
			t.Fatalf("after erasure %s (on %s) is still stored", k.Name, k.Node)
		}
		if !strings.HasPrefix(k.Name, ks.Namespace()+":") {
			t.Fatalf("key %s (on %s) is outside the namespace", k.Name, k.Node)
		}
	}
	for label, needle := range needles {
		for _, where := range findNeedle(keys, codec, needle) {
			if needle == soloSKU && slices.Contains(catalog, where) {
				continue
			}
			t.Errorf("after erasure the %s (%q) is still in %s", label, needle, where)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// checkGone: none of the subject's keys outside their hash tag (some of
// which, the markers, hold no needle) is stored any more.
func checkGone(t *testing.T, keys []redistest.Key, theirs []string) {
	t.Helper()
	now := keysByName(keys)
	for _, name := range theirs {
		if k, ok := now[name]; ok {
			t.Fatalf("after erasure %s (on %s) is still stored", name, k.Node)
		}
	}
}

// checkOthersIntact: every key that was not the subject's is still there
// with exactly the same content, except the review queues, which lost the
// subject's cases and nothing else; the only new key is the receipts list.
func checkOthersIntact(t *testing.T, before, after []redistest.Key, keys keyspace.Keyspace, codec *features.Codec, tag string, s *erasureSubject) {
	t.Helper()
	theirs := map[string]bool{}
	for _, name := range s.globalKeys(keys, codec) {
		theirs[name] = true
	}
	var handles []string // the subject's cases are queued under their handles
	for _, id := range s.caseIDs {
		handles = append(handles, explain.CaseHandle(codec, id))
	}
	queue := map[string]bool{}
	for _, st := range explain.ReviewStatuses {
		queue[keys.ReviewQueue(st)] = true
	}
	now := keysByName(after)
	for _, k := range before {
		if strings.HasPrefix(k.Name, tag) || theirs[k.Name] {
			continue
		}
		want := k
		if queue[k.Name] {
			want.Items = slices.DeleteFunc(slices.Clone(k.Items), func(it redistest.Item) bool { return slices.Contains(handles, it.Value) })
			if len(want.Items) == 0 {
				if got, ok := now[k.Name]; ok {
					t.Fatalf("queue %s should be gone with the subject's only case in it: %+v", k.Name, got)
				}
				continue
			}
		}
		got, ok := now[k.Name]
		if !ok {
			t.Fatalf("erasure deleted %s, which was not the subject's", k.Name)
		}
		if got.Type != want.Type || !slices.Equal(got.Items, want.Items) {
			t.Fatalf("erasure changed %s, which was not the subject's", k.Name)
		}
		delete(now, k.Name)
	}
	delete(now, keys.ErasureReceipts())
	if len(now) != 0 {
		t.Fatalf("erasure wrote keys other than the receipts list: %v", slices.Sorted(maps.Keys(now)))
	}
}
