package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// The privacy center's tests of the customer's data: delete and correct
// one action, download everything, delete the account, review requests
// (privacy_test.go has the fixture's helpers).

// TestPrivacySignalDeleteAndCorrect: deleting and correcting one signal go
// through the store calls of RightsService.DeleteSignal and CorrectSignal.
func TestPrivacySignalDeleteAndCorrect(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	ctx := context.Background()
	session, token := f.privacySession(t)
	post := func(form url.Values) *http.Response {
		t.Helper()
		form.Set("csrf", token)
		return f.do(t, whyRequest{method: "POST", path: "/privacy/signals", form: form, cookies: []*http.Cookie{session}})
	}
	// Delete a signal alice's stored answer cites, correct another.
	del, fix := f.citedSignal(t), ""
	for id := range f.signals {
		if id != del {
			fix = id
		}
	}

	// Delete.
	page := f.privacyDone(t, post(url.Values{"action": {"delete"}, "signal": {del}}), session)
	if _, ok := f.storedSignals(t, f.alice)[del]; ok {
		t.Fatal("the deleted signal is still stored")
	}
	if strings.Contains(page, del) || !strings.Contains(page, "We deleted that action of yours") || !strings.Contains(page, "4 actions of yours") {
		t.Errorf("after deleting, the page:\n%s", page)
	}
	history, _, err := f.s.core.Store().ControlHistory(ctx, f.alice, 0, 10)
	if err != nil || len(history) != 1 || history[0].Action != "deleted" || history[0].Target != del || history[0].ActorRole != "customer" {
		t.Fatalf("control history %+v, %v", history, err)
	}
	// As the API does, the stored answer that cites it goes too.
	if _, _, err := f.s.core.Explanations().Get(ctx, f.recID, f.now); !errors.Is(err, features.ErrNotFound) {
		t.Fatalf("the answer citing the deleted signal: %v", err)
	}
	if resp := post(url.Values{"action": {"delete"}, "signal": {del}}); resp.StatusCode != http.StatusNotFound || !strings.Contains(body(t, resp), "We no longer hold that") {
		t.Errorf("deleting it again: status %d", resp.StatusCode)
	}

	// Correct the item; the time, shown to the minute, is left alone.
	before := f.storedSignals(t, f.alice)[fix]
	shown := before.OccurredAt.UTC().Format(privacyTimeLayout)
	page = f.privacyDone(t, post(url.Values{"action": {"correct"}, "signal": {fix}, "item_id": {"sku-11"}, "was_item": {before.ItemID}, "occurred_at": {shown}, "was_time": {shown}}), session)
	after := f.storedSignals(t, f.alice)[fix]
	if after.ItemID != "sku-11" || !after.OccurredAt.Equal(before.OccurredAt) {
		t.Fatalf("after correcting the item: %+v (was %+v)", after, before)
	}
	if !strings.Contains(html.UnescapeString(page), "We corrected it: it is now your ") || !strings.Contains(html.UnescapeString(page), "Item <11>") {
		t.Errorf("after correcting, the page does not say so")
	}
	// Correct the time.
	newTime := f.now.Add(-30 * time.Hour).Truncate(time.Minute)
	f.privacyDone(t, post(url.Values{"action": {"correct"}, "signal": {fix}, "item_id": {"sku-11"}, "was_item": {"sku-11"}, "occurred_at": {newTime.Format(privacyTimeLayout)}, "was_time": {shown}}), session)
	if after := f.storedSignals(t, f.alice)[fix]; !after.OccurredAt.Equal(newTime) || after.ItemID != "sku-11" {
		t.Fatalf("after correcting the time: %+v, want %s", after, newTime)
	}
	history, _, _ = f.s.core.Store().ControlHistory(ctx, f.alice, 0, 10)
	if len(history) != 3 || history[1].Action != "corrected" || history[2].Action != "corrected" || history[2].ActorRole != "customer" {
		t.Fatalf("control history %+v", history)
	}

	// Mistakes change nothing and say what was wrong.
	for _, c := range []struct {
		form   url.Values
		status int
		says   string
	}{
		{url.Values{"action": {"correct"}, "signal": {fix}, "item_id": {"sku-11"}, "was_item": {"sku-11"}}, 400, "nothing to correct"},
		{url.Values{"action": {"correct"}, "signal": {fix}, "occurred_at": {"yesterday"}}, 400, "write the time as"},
		{url.Values{"action": {"correct"}, "signal": {fix}, "occurred_at": {f.now.Add(48 * time.Hour).Format(privacyTimeLayout)}}, 400, "is in the future"},
		{url.Values{"action": {"correct"}, "signal": {fix}, "item_id": {strings.Repeat("x", 129)}}, 400, "item_id: at most 128 bytes"},
		{url.Values{"action": {"correct"}, "signal": {features.NewID("sig_")}, "item_id": {"sku-01"}}, 404, "We no longer hold that"},
		{url.Values{"action": {"delete"}, "signal": {"sig_nope"}}, 400, "not a signal id"},
		{url.Values{"action": {"forget"}, "signal": {fix}}, 400, "must be delete or correct"},
	} {
		resp := post(c.form)
		if page := body(t, resp); resp.StatusCode != c.status || !strings.Contains(page, c.says) || !strings.Contains(page, `href="/privacy"`) {
			t.Errorf("%v: status %d, want %d saying %q:\n%s", c.form, resp.StatusCode, c.status, c.says, page)
		}
	}
	if after := f.storedSignals(t, f.alice)[fix]; !after.OccurredAt.Equal(newTime) || after.ItemID != "sku-11" {
		t.Fatalf("mistakes changed the signal: %+v", after)
	}
}

// download fetches the export through the page.
func (f *whyFixture) download(t *testing.T, session *http.Cookie) (*http.Response, []byte) {
	t.Helper()
	resp := f.do(t, whyRequest{method: "GET", path: "/privacy/export", cookies: []*http.Cookie{session}})
	return resp, []byte(body(t, resp))
}

func TestPrivacyDownload(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	session, _ := f.privacySession(t)
	resp, raw := f.download(t, session)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="candor-export.json"` {
		t.Fatalf("download: %d %v", resp.StatusCode, resp.Header)
	}
	var doc struct {
		Schema     string `json:"schema"`
		CustomerID string `json:"customer_id"`
		Consents   []struct {
			Purpose string `json:"purpose"`
			Granted bool   `json:"granted"`
		} `json:"consents"`
		Signals []struct {
			SignalID  string   `json:"signal_id"`
			ItemID    string   `json:"item_id"`
			ItemTitle string   `json:"item_title"`
			Purposes  []string `json:"purposes"`
		} `json:"signals"`
		Recommendations []json.RawMessage `json:"recommendations"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the download is not JSON: %v\n%s", err, raw)
	}
	if doc.Schema != app.ExportSchema || doc.CustomerID != "" || len(doc.Recommendations) != 1 {
		t.Errorf("schema %q, customer_id %q, %d recommendations", doc.Schema, doc.CustomerID, len(doc.Recommendations))
	}
	got := map[string]string{}
	for _, s := range doc.Signals {
		got[s.SignalID] = s.ItemID
		if !strings.HasPrefix(s.ItemTitle, "Item <") || len(s.Purposes) != 1 || s.Purposes[0] != "personalization" {
			t.Errorf("signal %+v", s)
		}
	}
	if len(got) != len(f.signals) {
		t.Errorf("%d signals downloaded, alice has %d", len(got), len(f.signals))
	}
	for id, item := range f.signals {
		if got[id] != item {
			t.Errorf("signal %s: downloaded item %q, want %q", id, got[id], item)
		}
	}
	for _, c := range doc.Consents {
		if c.Granted != (c.Purpose == "personalization") {
			t.Errorf("consent %+v", c)
		}
	}
	if bytes.Contains(raw, []byte(f.alice)) {
		t.Error("the download holds the customer's pseudonym")
	}
}

// TestPrivacyDownloadIsTheAPIExport: the page's download is the document
// the API's export writes, bar the customer id the page does not know
// (it knows the customer by the pseudonym their token carries).
func TestPrivacyDownloadIsTheAPIExport(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	ctx := context.Background()
	// Something in every list.
	_, answer, err := f.s.core.Explanations().Get(ctx, f.recID, f.now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.core.Reviews().Open(ctx, f.alice, answer, explain.ReviewContest, "Why this?", f.now); err != nil {
		t.Fatal(err)
	}
	signal, _ := f.aSignal(t)
	if _, _, err := f.s.core.Store().SetControl(ctx, f.alice, features.ControlSignal, signal, "customer", f.now); err != nil {
		t.Fatal(err)
	}
	var api bytes.Buffer
	if _, err := f.s.core.Export(ctx, storefront, "alice", func(b []byte) error { api.Write(b); return nil }); err != nil {
		t.Fatal(err)
	}
	_, page := f.download(t, f.openPrivacy(t, f.token))
	want := bytes.Replace(api.Bytes(), []byte(`"customer_id": "alice"`), []byte(`"customer_id": ""`), 1)
	if !bytes.Equal(page, want) {
		t.Fatalf("the page's download differs from the API's export:\n%s\n---\n%s", page, want)
	}
}

func TestPrivacyDeleteAccount(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	ctx := context.Background()
	_, answer, err := f.s.core.Explanations().Get(ctx, f.recID, f.now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.core.Reviews().Open(ctx, f.alice, answer, explain.ReviewHumanReview, "Please look at this.", f.now); err != nil {
		t.Fatal(err)
	}
	why := f.open(t, f.token)
	session, _ := f.privacySession(t)

	// The confirmation step says what goes.
	resp := f.do(t, whyRequest{method: "GET", path: "/privacy/delete", cookies: []*http.Cookie{session}})
	confirm := body(t, resp)
	for _, want := range []string{"<h1>Delete your account?</h1>", "5 actions of yours", "1 request to review a recommendation", "1 set of recommendations", `name="confirm" value="yes" required`, `<label for="confirm">`, ">Delete my account</button>", `href="/privacy"`} {
		if !strings.Contains(confirm, want) {
			t.Errorf("the confirmation lacks %q", want)
		}
	}
	checkPageStructure(t, confirm)
	checkLabels(t, confirm)
	token := formToken(t, confirm)

	// Without the confirmation, nothing goes.
	for _, form := range []url.Values{{"csrf": {token}}, {"csrf": {token}, "confirm": {"no"}}} {
		resp := f.do(t, whyRequest{method: "POST", path: "/privacy/delete", form: form, cookies: []*http.Cookie{session}})
		if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `role="alert"`) || !strings.Contains(page, "Nothing was deleted") || !strings.Contains(page, `aria-invalid="true"`) {
			t.Errorf("unconfirmed %v: status %d:\n%s", form, resp.StatusCode, page)
		}
	}
	if held, _ := f.s.core.Store().Held(ctx, f.alice); held.Signals != int64(len(f.signals)) {
		t.Fatalf("an unconfirmed request deleted signals: %+v", held)
	}

	// Confirmed: everything goes, the session ends, the receipt shows. A
	// GPC header records nothing first (it would be written only to be
	// deleted), as on the API.
	resp = f.do(t, whyRequest{method: "POST", path: "/privacy/delete", form: url.Values{"csrf": {token}, "confirm": {"yes"}}, cookies: []*http.Cookie{session, why}, header: map[string]string{"Sec-GPC": "1"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/privacy/deleted" {
		t.Fatalf("delete: status %d, Location %q: %s", resp.StatusCode, resp.Header.Get("Location"), body(t, resp))
	}
	for name, path := range map[string]string{privacyCookie: "/privacy", whyCookie: "/why"} {
		if c := cookieNamed(resp, name); c == nil || c.MaxAge >= 0 || c.Path != path {
			t.Errorf("the session cookie %s is not cleared: %+v", name, c)
		}
	}
	receiptCookie := cookieNamed(resp, privacyReceiptCookie)
	if receiptCookie == nil || !receiptCookie.HttpOnly || receiptCookie.SameSite != http.SameSiteStrictMode || receiptCookie.Path != "/privacy/deleted" {
		t.Fatalf("receipt cookie %+v", receiptCookie)
	}

	// The data is gone: no key of alice's is left, and the store and the
	// global records hold nothing of hers.
	keys, err := f.r.Client.Keys(ctx, "*{u:"+string(f.alice)+"}*").Result()
	if err != nil || len(keys) != 0 {
		t.Fatalf("alice's keys after deletion: %v %v", keys, err)
	}
	if held, _ := f.s.core.Store().Held(ctx, f.alice); held.Signals+held.ConsentDecision+held.LedgerEntries+held.Controls+held.ControlChanges != 0 || len(held.RecommendationIDs)+len(held.ReviewIDs) != 0 {
		t.Fatalf("held after deletion: %+v", held)
	}
	if _, _, err := f.s.core.Explanations().Get(ctx, f.recID, f.now); err == nil {
		t.Fatal("the stored answer survived the deletion")
	}
	if cases, _ := f.s.core.Reviews().Customer(ctx, f.alice); len(cases) != 0 {
		t.Fatal("the review case survived the deletion")
	}
	receipts, _, err := f.s.core.Store().Receipts(ctx, 0, 10)
	if err != nil || len(receipts) != 1 || receipts[0].Counts["signals"] != int64(len(f.signals)) || receipts[0].Counts["consent_decisions"] != 1 || receipts[0].Counts["ledger_entries"] != 1 {
		t.Fatalf("receipts %+v, %v", receipts, err)
	}

	page := body(t, f.do(t, whyRequest{method: "GET", path: "/privacy/deleted", cookies: []*http.Cookie{receiptCookie}}))
	for _, want := range []string{
		"<h1>Your account is deleted</h1>", `role="status"`, receipts[0].ID, "Deleted on", "26 November 2026, 12:00 UTC",
		"5 actions of yours", "1 request to review a recommendation", "1 set of recommendations", "at the latest",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the receipt page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, string(f.alice)) || strings.Contains(page, "Item &lt;") {
		t.Error("the receipt names the customer or their data")
	}
	checkHeadings(t, page)
	// It reloads, but cannot be forged.
	if again := f.do(t, whyRequest{method: "GET", path: "/privacy/deleted", cookies: []*http.Cookie{receiptCookie}}); again.StatusCode != http.StatusOK {
		t.Errorf("reloading the receipt: %d", again.StatusCode)
	}
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"r":{"receipt_id":"erasure_forged"}}`))
	if resp := f.do(t, whyRequest{method: "GET", path: "/privacy/deleted", cookies: []*http.Cookie{{Name: privacyReceiptCookie, Value: forged}}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a forged receipt: %d", resp.StatusCode)
	}
}

// TestPrivacyReviews: the customer's review requests, with their status,
// message and the reply.
func TestPrivacyReviews(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	ctx := context.Background()
	_, answer, err := f.s.core.Explanations().Get(ctx, f.recID, f.now)
	if err != nil {
		t.Fatal(err)
	}
	resolved, err := f.s.core.Reviews().Open(ctx, f.alice, answer, explain.ReviewContest, "I never <b>bought</b> this.\nPlease check.", f.now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.core.Reviews().Update(ctx, resolved.ID, explain.ReviewResolved, "You are right: we deleted the purchase & retrained.", f.now); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.core.Reviews().Open(ctx, f.alice, answer, explain.ReviewHumanReview, "Please have a person look.", f.now); err != nil {
		t.Fatal(err)
	}
	session, _ := f.privacySession(t)
	page := f.privacyPage(t, session)
	for _, want := range []string{
		"You contested a recommendation", "You asked for a person to review a recommendation",
		"Resolved", "Received, waiting for a person to look at it", "I never &lt;b&gt;bought&lt;/b&gt; this.\nPlease check.",
		"You are right: we deleted the purchase &amp; retrained.", "No reply yet.", "2 requests to review a recommendation",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Newest first.
	if strings.Index(page, "Please have a person look.") > strings.Index(page, "I never &lt;b&gt;") {
		t.Error("the review requests are not newest first")
	}
	checkPageStructure(t, page)
}

// TestPrivacyManySignals: the page lists the most recent signals, bounded;
// the download holds them all.
func TestPrivacyManySignals(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	var in []features.SignalInput
	for i := 0; i < app.MaxListedSignals+5; i++ {
		in = append(in, features.SignalInput{Type: "view", ItemID: "sku-01", Purposes: []string{"personalization"}, OccurredAt: f.now.Add(-time.Duration(10+i) * time.Minute)})
	}
	if _, err := f.s.core.Store().Track(context.Background(), f.alice, in, f.now); err != nil {
		t.Fatal(err)
	}
	total := len(in) + len(f.signals)
	session, _ := f.privacySession(t)
	page := f.privacyPage(t, session)
	if want := "The " + strconv.Itoa(app.MaxListedSignals) + " most recent of your " + strconv.Itoa(total) + " actions"; !strings.Contains(page, want) {
		t.Errorf("the page lacks %q", want)
	}
	if n := strings.Count(page, ">Delete</button>"); n != app.MaxListedSignals {
		t.Errorf("%d signals listed, want %d", n, app.MaxListedSignals)
	}
	// Newest first: the first listed is the most recent (ten minutes ago).
	if i, j := strings.Index(page, f.now.Add(-10*time.Minute).Format("15:04 UTC")), strings.Index(page, f.now.Add(-11*time.Minute).Format("15:04 UTC")); i < 0 || j < 0 || i > j {
		t.Errorf("not newest first (%d, %d)", i, j)
	}
	_, raw := f.download(t, session)
	var doc struct {
		Signals []json.RawMessage `json:"signals"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Signals) != total {
		t.Fatalf("download: %d signals, %v", len(doc.Signals), err)
	}
}
