package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Published TC strings (github.com/prebid/go-gdpr v1.12.1 test files; see
// consent/signals_test.go, which reads them bit by bit).
const (
	// vendorconsent/benchmark_test.go: a real string, four segments,
	// consenting to TCF purposes 1 to 10.
	tcPurposes1to10 = "CPAavcCPAavcCAGABCFRBKCsAP_AAH_AAAqIHFNf_X_fb3_j-_59_9t0eY1f9_7_v-0zjgeds-8Nyd_X_L8X5mM7vB36pq4KuR4Eu3LBAQdlHOHcTUmw6IkVqTPsbk2Mr7NKJ7PEinMbe2dYGH9_n9XT_ZKY79_____7__-_____7_f__-__3_vp9V---wOJAIMBAUAgAEMAAQIFCIQAAQhiQAAAABBCIBQJIAEqgAWVwEdoIEACAxAQgQAgBBQgwCAAQAAJKAgBACwQCAAiAQAAgAEAIAAEIAILACQEAAAEAJCAAiACECAgiAAg5DAgIgCCAFABAAAuJDACAMooASBAPGQGAAKAAqACGAEwALgAjgBlgDUAHZAPsA_ACMAFLAK2AbwBMQCbAFogLYAYEAw8BkQDOQGeAM-EQHwAVABWAC4AIYAZAAywBqADZAHYAPwAgABGAClgFPANYAdUA-QCGwEOgIvASIAmwBOwCkQFyAMCAYSAw8Bk4DOQGfCQAYADgBzgN_CQTgAEAALgAoACoAGQAOAAeABAACIAFQAMIAaABqADyAIYAigBMgCqAKwAWAAuABvADmAHoAQ0AiACJgEsAS4AmgBSgC3AGGAMgAZcA1ADVAGyAO8AewA-IB9gH6AQAAjABQQClgFPAL8AYoA1gBtADcAG8AOIAegA-QCGwEOgIqAReAkQBMQCZQE2AJ2AUOApEBYoC2AFyALvAYEAwYBhIDDQGHgMiAZIAycBlwDOQGfANIAadA1gDWQoAEAYQaBIACoAKwAXABDADIAGWANQAbIA7AB-AEAAIKARgApYBT4C0ALSAawA3gB1QD5AIbAQ6Ai8BIgCbAE7AKRAXIAwIBhIDDwGMAMnAZyAzwBnwcAEAA4Bv4qA2ABQAFQAQwAmABcAEcAMsAagA7AB-AEYAKXAWgBaQDeAJBATEAmwBTYC2AFyAMCAYeAyIBnIDPAGfANyHQWQAFwAUABUADIAHAAQAAiABdADAAMYAaABqADwAH0AQwBFACZAFUAVgAsABcADEAGYAN4AcwA9ACGAERAJYAmABNACjAFKALEAW4AwwBkADKAGiANQAbIA3wB3gD2gH2AfoBGACVAFBAKeAWKAtAC0gFzALyAX4AxQBuADiQHTAdQA9ACGwEOgIiAReAkEBIgCbAE7AKHAU0AqwBYsC2ALZAXAAuQBdoC7wGEgMNAYeAxIBjADHgGSAMnAZUAywBlwDOQGfANEgaQBpIDSwGnANYAbGPABAIqAb-QgZgALAAoABkAEQALgAYgBDACYAFUALgAYgAzABvAD0AI4AWIAygBqADfAHfAPsA_ACMAFBAKGAU-AtAC0gF-AMUAdQA9ACQQEiAJsAU0AsUBaMC2ALaAXAAuQBdoDDwGJAMiAZOAzkBngDPgGiANJAaWA4AlAyAAQAAsACgAGQAOAAigBgAGIAPAAiABMACqAFwAMQAZgA2gCGgEQARIAowBSgC3AGEAMoAaoA2QB3gD8AIwAU-AtAC0gGKANwAcQA6gCHQEXgJEATYAsUBbAC7QGHgMiAZOAywBnIDPAGfANIAawA4AmACARUA38pBBAAXABQAFQAMgAcABAACKAGAAYwA0ADUAHkAQwBFACYAFIAKoAWAAuABiADMAHMAQwAiABRgClAFiALcAZQA0QBqgDZAHfAPsA_ACMAFBAKGAVsAuYBeQDaAG4APQAh0BF4CRAE2AJ2AUOApoBWwCxQFsALgAXIAu0BhoDDwGMAMiAZIAycBlwDOQGeAM-gaQBpMDWANZAbGVABAA-Ab-A.YAAAAAAAAAAA"
	// vendorconsent/tcf2/metadata_test.go, policy version 4 (TCF v2.2),
	// consenting to no purpose.
	tcNoPurposes = "CPtGDMAPtGDMALMAAAENA_E_AAAAAAAAACiQAAAAAAAA"
	// vendorconsent/consent_test.go: a TCF v1.1 string.
	tcV1 = "BONV8oqONXwgmADACHENAO7pqzAAppY"
)

// TestDeleteSignal: a customer deletes one of their signals; it is gone
// from the store, from the stored answers that cited it and from the
// export, and the change is logged. A second delete reports deleted false.
func TestDeleteSignal(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	const c = "rights-del"
	ids := f.shopper(t, c)
	rec := f.recommend(t, c)
	if !rec.GetPersonalized() {
		t.Fatalf("not personalised: %v", rec)
	}
	// The answer cites the signal about to be deleted.
	target := ""
	for _, it := range rec.GetItems() {
		for _, r := range it.GetExplanation().GetReasons() {
			if r.GetKind() == explain.KindSignal {
				target = r.GetSignalId()
			}
		}
	}
	if target == "" {
		t.Fatal("the answer cites no signal")
	}
	tok := callAs(f.token(c))

	resp, err := f.rights().DeleteSignal(tok, &candorv1.DeleteSignalRequest{CustomerId: c, SignalId: target})
	if err != nil || !resp.GetDeleted() {
		t.Fatalf("DeleteSignal: %v (%v)", resp, err)
	}
	if _, ok := f.signals(t, c)[target]; ok {
		t.Error("the signal is still stored")
	}
	if n := len(f.signals(t, c)); n != len(ids)-1 {
		t.Errorf("%d signals left, want %d", n, len(ids)-1)
	}
	// Again: nothing to delete, said so, over REST too.
	resp, err = f.rights().DeleteSignal(tok, &candorv1.DeleteSignalRequest{CustomerId: c, SignalId: target})
	if err != nil || resp.GetDeleted() {
		t.Errorf("second DeleteSignal: %v (%v)", resp, err)
	}
	r, body := f.rest(t, http.MethodDelete, "/v1/customers/"+c+"/signals/"+target, keyOf(app.RoleStorefront), "", nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(string(body), `"deleted":false`) {
		t.Errorf("REST delete of a deleted signal: %d %s", r.StatusCode, body)
	}

	// Logged as a change of the customer's, by the customer.
	history, _, err := f.s.core.Store().ControlHistory(context.Background(), f.pseudonym(c), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 1 || history[0].Action != "deleted" || history[0].Target != target || history[0].ActorRole != "customer" || history[0].Kind != features.ControlSignal {
		t.Errorf("change log %+v", history)
	}

	// The stored answer that cited it is gone, and the export names the
	// signal nowhere.
	_, err = f.recs().GetRecommendation(tok, &candorv1.GetRecommendationRequest{RecommendationId: rec.GetRecommendationId()})
	wantCode(t, "the answer citing the deleted signal", err, codes.NotFound)
	r, body = f.rest(t, http.MethodGet, "/v1/customers/"+c+"/export", f.token(c), "", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("export: %d", r.StatusCode)
	}
	doc := decodeExport(t, body)
	for _, s := range doc.Signals {
		if s.SignalID == target {
			t.Error("the export still holds the deleted signal")
		}
	}
	var raw struct {
		Recommendations json.RawMessage `json:"recommendations"`
		ControlHistory  json.RawMessage `json:"control_history"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw.Recommendations), target) {
		t.Error("the export's recommendations still cite the deleted signal")
	}
	// Only the change log names it: what was deleted, and when.
	if !strings.Contains(string(raw.ControlHistory), target) {
		t.Error("the export's control history does not record the deletion")
	}
	// The next answer does not cite it.
	next := f.recommend(t, c)
	if js, _ := protojson.Marshal(next); strings.Contains(string(js), target) {
		t.Error("the next answer cites the deleted signal")
	}

	other := f.shopper(t, "rights-del-other")
	for _, tc := range []struct {
		name string
		ctx  context.Context
		req  *candorv1.DeleteSignalRequest
		code codes.Code
	}{
		{"not a signal id", tok, &candorv1.DeleteSignalRequest{CustomerId: c, SignalId: "sig_1"}, codes.InvalidArgument},
		{"a recommendation id", tok, &candorv1.DeleteSignalRequest{CustomerId: c, SignalId: rec.GetRecommendationId()}, codes.InvalidArgument},
		{"no customer", keyOfCtx(app.RoleStorefront), &candorv1.DeleteSignalRequest{SignalId: ids[0]}, codes.InvalidArgument},
		{"another customer's token", callAs(f.token("rights-del-other")), &candorv1.DeleteSignalRequest{CustomerId: c, SignalId: ids[0]}, codes.PermissionDenied},
		{"the marketer", keyOfCtx(app.RoleMarketer), &candorv1.DeleteSignalRequest{CustomerId: c, SignalId: ids[0]}, codes.PermissionDenied},
		{"the privacy officer", keyOfCtx(app.RolePrivacyOfficer), &candorv1.DeleteSignalRequest{CustomerId: c, SignalId: ids[0]}, codes.PermissionDenied},
	} {
		_, err := f.rights().DeleteSignal(tc.ctx, tc.req)
		wantCode(t, tc.name, err, tc.code)
	}
	// Another customer's signal id under this customer deletes nothing.
	resp, err = f.rights().DeleteSignal(tok, &candorv1.DeleteSignalRequest{CustomerId: c, SignalId: other[0]})
	if err != nil || resp.GetDeleted() {
		t.Errorf("deleting another customer's signal id: %v (%v)", resp, err)
	}
	if len(f.signals(t, "rights-del-other")) != len(other) || len(f.signals(t, c)) != len(ids)-1 {
		t.Error("a refused delete deleted something")
	}
	// The support chat may delete too.
	if resp, err := f.rights().DeleteSignal(keyOfCtx(app.RoleSupportAgent), &candorv1.DeleteSignalRequest{CustomerId: c, SignalId: ids[0]}); err != nil || (ids[0] != target) != resp.GetDeleted() {
		t.Errorf("support DeleteSignal: %v (%v)", resp, err)
	}
}

// keyOfCtx is a call context with a role's API key.
func keyOfCtx(r app.Role) context.Context { return callAs(keyOf(r)) }

// TestCorrectSignal: a signal's item or time is corrected, with the expiry
// following the time; bad corrections are refused and change nothing.
func TestCorrectSignal(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	const c = "rights-fix"
	ids := f.shopper(t, c)
	rec := f.recommend(t, c)
	tok := callAs(f.token(c))
	before := f.signals(t, c)[ids[0]]

	// The item.
	resp, err := f.rights().CorrectSignal(tok, &candorv1.CorrectSignalRequest{CustomerId: c, SignalId: ids[0], ItemId: "sku-01"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetItemId() != "sku-01" || resp.GetSignalId() != ids[0] || resp.GetType() != "view" ||
		!resp.GetOccurredAt().AsTime().Equal(before.OccurredAt) || !resp.GetExpiresAt().AsTime().Equal(before.ExpiresAt) || !slices.Equal(resp.GetPurposes(), []string{"personalization"}) {
		t.Errorf("item correction answered %v", resp)
	}
	if got := f.signals(t, c)[ids[0]]; got.ItemID != "sku-01" || !got.OccurredAt.Equal(before.OccurredAt) {
		t.Errorf("stored %+v", got)
	}

	// The time, over REST: the expiry follows.
	at := rfStart.Add(-72 * time.Hour)
	r, body := f.rest(t, http.MethodPatch, "/v1/customers/"+c+"/signals/"+ids[0], f.token(c), `{"occurred_at":"`+at.Format(time.RFC3339)+`"}`, nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("REST correction: %d %s", r.StatusCode, body)
	}
	got := f.signals(t, c)[ids[0]]
	if got.ItemID != "sku-01" || !got.OccurredAt.Equal(at) || !got.ExpiresAt.Equal(at.Add(f.s.core.Store().Retention().For(consent.View))) {
		t.Errorf("after the time correction: %+v", got)
	}
	var answer struct {
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || !answer.ExpiresAt.Equal(got.ExpiresAt) {
		t.Errorf("REST answer %s", body)
	}

	// Both at once, by the storefront.
	if _, err := f.rights().CorrectSignal(keyOfCtx(app.RoleStorefront), &candorv1.CorrectSignalRequest{CustomerId: c, SignalId: ids[1], ItemId: "sku-04", OccurredAt: timestamppb.New(rfStart.Add(-time.Hour))}); err != nil {
		t.Fatal(err)
	}

	// Logged, by actor.
	history, _, err := f.s.core.Store().ControlHistory(context.Background(), f.pseudonym(c), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	for _, h := range history {
		log = append(log, h.Action+" "+h.Target+" "+h.ActorRole)
	}
	if want := []string{"corrected " + ids[0] + " customer", "corrected " + ids[0] + " customer", "corrected " + ids[1] + " storefront"}; !slices.Equal(log, want) {
		t.Errorf("change log %v, want %v", log, want)
	}
	// The stored answer explained with the old item and time is gone.
	_, err = f.recs().GetRecommendation(tok, &candorv1.GetRecommendationRequest{RecommendationId: rec.GetRecommendationId()})
	wantCode(t, "the answer citing the corrected signal", err, codes.NotFound)

	snapshot := f.signals(t, c)
	retention := f.s.core.Store().Retention().For(consent.View)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		req  *candorv1.CorrectSignalRequest
		code codes.Code
	}{
		{"nothing to correct", tok, &candorv1.CorrectSignalRequest{CustomerId: c, SignalId: ids[2]}, codes.InvalidArgument},
		{"in the future", tok, &candorv1.CorrectSignalRequest{CustomerId: c, SignalId: ids[2], OccurredAt: timestamppb.New(rfStart.Add(time.Hour))}, codes.InvalidArgument},
		{"past its retention", tok, &candorv1.CorrectSignalRequest{CustomerId: c, SignalId: ids[2], OccurredAt: timestamppb.New(rfStart.Add(-retention - time.Hour))}, codes.InvalidArgument},
		{"an invalid time", tok, &candorv1.CorrectSignalRequest{CustomerId: c, SignalId: ids[2], OccurredAt: &timestamppb.Timestamp{Seconds: 1, Nanos: -1}}, codes.InvalidArgument},
		{"an item id with spaces around", tok, &candorv1.CorrectSignalRequest{CustomerId: c, SignalId: ids[2], ItemId: " sku-01"}, codes.InvalidArgument},
		{"an item id too long", tok, &candorv1.CorrectSignalRequest{CustomerId: c, SignalId: ids[2], ItemId: strings.Repeat("x", features.MaxItemIDLen+1)}, codes.InvalidArgument},
		{"an item id with a control character", tok, &candorv1.CorrectSignalRequest{CustomerId: c, SignalId: ids[2], ItemId: "sku\x0001"}, codes.InvalidArgument},
		{"not a signal id", tok, &candorv1.CorrectSignalRequest{CustomerId: c, SignalId: "sig_x", ItemId: "sku-01"}, codes.InvalidArgument},
		{"an unknown signal", tok, &candorv1.CorrectSignalRequest{CustomerId: c, SignalId: features.NewID("sig_"), ItemId: "sku-01"}, codes.NotFound},
		{"another customer's token", callAs(f.token("rights-fix-other")), &candorv1.CorrectSignalRequest{CustomerId: c, SignalId: ids[2], ItemId: "sku-01"}, codes.PermissionDenied},
		{"the marketer", keyOfCtx(app.RoleMarketer), &candorv1.CorrectSignalRequest{CustomerId: c, SignalId: ids[2], ItemId: "sku-01"}, codes.PermissionDenied},
	} {
		_, err := f.rights().CorrectSignal(tc.ctx, tc.req)
		wantCode(t, tc.name, err, tc.code)
	}
	if after := f.signals(t, c); !mapsEqualSignals(after, snapshot) {
		t.Error("a refused correction changed a signal")
	}
	if h, _, err := f.s.core.Store().ControlHistory(context.Background(), f.pseudonym(c), 0, 100); err != nil || len(h) != len(history) {
		t.Errorf("a refused correction was logged (%v): %d entries, want %d", err, len(h), len(history))
	}
}

func mapsEqualSignals(a, b map[string]features.Signal) bool {
	if len(a) != len(b) {
		return false
	}
	for id, s := range a {
		o, ok := b[id]
		if !ok || o.ItemID != s.ItemID || !o.OccurredAt.Equal(s.OccurredAt) || !o.ExpiresAt.Equal(s.ExpiresAt) || o.Purposes != s.Purposes {
			return false
		}
	}
	return true
}

// TestObjectToProfiling: an objection withdraws personalisation and
// marketing email, recorded with method "objection"; the very next answer
// is not personalised.
func TestObjectToProfiling(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	const c = "rights-object"
	f.shopper(t, c)
	f.grant(t, c, consent.Support, consent.ModelTraining)
	if rec := f.recommend(t, c); !rec.GetPersonalized() {
		t.Fatalf("not personalised before the objection: %v", rec)
	}
	before := len(f.ledger(t, c))

	_, err := f.rights().ObjectToProfiling(callAs(f.token(c)), &candorv1.ObjectToProfilingRequest{CustomerId: c})
	wantCode(t, "objection without a notice version", err, codes.InvalidArgument)
	_, err = f.rights().ObjectToProfiling(keyOfCtx(app.RoleMarketer), &candorv1.ObjectToProfilingRequest{CustomerId: c, NoticeVersion: "privacy-2026-11"})
	wantCode(t, "objection by the marketer", err, codes.PermissionDenied)
	_, err = f.rights().ObjectToProfiling(callAs(f.token("someone-else")), &candorv1.ObjectToProfilingRequest{CustomerId: c, NoticeVersion: "privacy-2026-11"})
	wantCode(t, "objection with another customer's token", err, codes.PermissionDenied)
	if n := len(f.ledger(t, c)); n != before {
		t.Fatalf("refused objections recorded %d entries", n-before)
	}

	resp, err := f.rights().ObjectToProfiling(callAs(f.token(c)), &candorv1.ObjectToProfilingRequest{CustomerId: c, NoticeVersion: "privacy-2026-11"})
	if err != nil {
		t.Fatal(err)
	}
	var recorded []string
	for _, e := range resp.GetRecorded() {
		recorded = append(recorded, e.GetPurpose())
		if e.GetGranted() || e.GetMethod() != "objection" || e.GetActorRole() != "customer" || e.GetNoticeVersion() != "privacy-2026-11" {
			t.Errorf("recorded %v", e)
		}
	}
	if !slices.Equal(recorded, []string{"personalization", "marketing_email"}) {
		t.Errorf("recorded for %v", recorded)
	}
	entries := f.ledger(t, c)
	if len(entries) != before+2 || entries[before].Method != "objection" || entries[before+1].Method != "objection" {
		t.Errorf("ledger %+v", entries[before:])
	}
	st := f.consentOf(t, c)
	for p, want := range map[consent.Purpose]consent.Status{
		consent.Personalization: consent.StatusWithdrawn, // was given
		consent.MarketingEmail:  consent.StatusRefused,   // never asked
		consent.Support:         consent.StatusGiven,
		consent.ModelTraining:   consent.StatusGiven,
	} {
		if d := st.Decisions[p]; d.Status != want {
			t.Errorf("%s: %s, want %s", p, d.Status, want)
		}
	}
	if d := st.Decisions[consent.Personalization]; d.Method != consent.MethodObjection {
		t.Errorf("personalisation decided by %s", d.Method)
	}
	for _, cs := range resp.GetConsents() {
		if cs.GetPurpose() == "personalization" && (cs.GetGranted() || cs.GetStatus() != "withdrawn" || cs.GetMethod() != "objection") {
			t.Errorf("answer's consent %v", cs)
		}
	}

	rec := f.recommend(t, c)
	if rec.GetPersonalized() {
		t.Errorf("personalised after the objection: %v", rec)
	}
	for _, it := range rec.GetItems() {
		for _, r := range it.GetExplanation().GetReasons() {
			if r.GetKind() == explain.KindSignal {
				t.Errorf("item %s cites signal %s after the objection", it.GetItemId(), r.GetSignalId())
			}
		}
	}

	// Over REST, by the support chat, it is recorded again.
	r, body := f.rest(t, http.MethodPost, "/v1/customers/"+c+":objectToProfiling", keyOf(app.RoleSupportAgent), `{"notice_version":"privacy-2026-11"}`, nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(string(body), `"method":"objection"`) {
		t.Errorf("REST objection: %d %s", r.StatusCode, body)
	}
}

// TestImportTcfConsent: a real TCF v2 string's choices are recorded as
// ledger entries with method import; anything else is refused.
func TestImportTcfConsent(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	const c = "rights-tcf"
	store := keyOfCtx(app.RoleStorefront)

	resp, err := f.rights().ImportTcfConsent(store, &candorv1.ImportTcfConsentRequest{CustomerId: c, TcString: tcPurposes1to10})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(resp.GetTcfPurposesGranted(), want) {
		t.Errorf("TCF purposes granted %v, want %v", resp.GetTcfPurposesGranted(), want)
	}
	entries := f.ledger(t, c)
	if len(entries) != 2 {
		t.Fatalf("ledger %+v", entries)
	}
	for i, want := range []string{"personalization", "model_training"} {
		e := entries[i]
		if e.Purpose != want || !e.Granted || e.Method != "import" || e.ActorRole != "storefront" || e.NoticeVersion != "tcf-policy-2:cmp-6-v1:screen-2" {
			t.Errorf("entry %d %+v", i, e)
		}
	}
	if st := f.consentOf(t, c); !st.Granted(consent.Personalization) || !st.Granted(consent.ModelTraining) || st.Decisions[consent.Support].Status != consent.StatusUnknown || st.Decisions[consent.MarketingEmail].Status != consent.StatusUnknown {
		t.Errorf("state after import %+v", st)
	}

	// A later string consenting to nothing withdraws both, over REST.
	r, body := f.rest(t, http.MethodPost, "/v1/customers/"+c+"/consents:importTcf", keyOf(app.RoleStorefront), `{"tc_string":"`+tcNoPurposes+`"}`, nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("REST import: %d %s", r.StatusCode, body)
	}
	entries = f.ledger(t, c)
	if len(entries) != 4 || entries[2].Granted || entries[3].Granted || entries[2].Method != "import" || entries[3].NoticeVersion != "tcf-policy-4:cmp-716-v0:screen-0" {
		t.Errorf("ledger after the second import %+v", entries)
	}
	if st := f.consentOf(t, c); st.Decisions[consent.Personalization].Status != consent.StatusWithdrawn || st.Decisions[consent.ModelTraining].Status != consent.StatusWithdrawn {
		t.Errorf("state after the second import %+v", st)
	}

	for _, tc := range []struct {
		name string
		ctx  context.Context
		tc   string
		code codes.Code
		msg  string
	}{
		{"a TCF v1.1 string", store, tcV1, codes.InvalidArgument, "version 1"},
		{"go-gdpr's truncated crafted v2 string", store, "COvcSpYOvcSpYC9AAAENAPCAAAAAAAAAAAAAAFAAAAA", codes.InvalidArgument, "tc_string"},
		{"garbage", store, "not a consent string", codes.InvalidArgument, "tc_string"},
		{"empty", store, "", codes.InvalidArgument, "tc_string"},
		{"too long", store, "C" + strings.Repeat("A", consent.MaxTCStringLen), codes.InvalidArgument, "tc_string"},
		{"the customer themself", callAs(f.token(c)), tcPurposes1to10, codes.PermissionDenied, ""},
		{"the support chat", keyOfCtx(app.RoleSupportAgent), tcPurposes1to10, codes.PermissionDenied, ""},
		{"the marketer", keyOfCtx(app.RoleMarketer), tcPurposes1to10, codes.PermissionDenied, ""},
	} {
		_, err := f.rights().ImportTcfConsent(tc.ctx, &candorv1.ImportTcfConsentRequest{CustomerId: c, TcString: tc.tc})
		wantCode(t, tc.name, err, tc.code)
		if err != nil && !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v does not mention %q", tc.name, err, tc.msg)
		}
	}
	if n := len(f.ledger(t, c)); n != 4 {
		t.Errorf("refused imports recorded %d entries", n-4)
	}
}
