package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// exportDoc is the export document (schema candor.export/v1), as a reader
// of it would decode it.
type exportDoc struct {
	Schema     string `json:"schema"`
	ExportedAt string `json:"exported_at"`
	CustomerID string `json:"customer_id"`
	Consents   []struct {
		Purpose, Status, Method string
		Granted                 bool
	} `json:"consents"`
	ConsentHistory []struct {
		Purpose       string `json:"purpose"`
		Granted       bool   `json:"granted"` // left out when false (docs/export-schema.md)
		Method        string `json:"method"`
		NoticeVersion string `json:"notice_version"`
		ActorRole     string `json:"actor_role"`
		RecordedAt    string `json:"recorded_at"`
	} `json:"consent_history"`
	Signals []struct {
		SignalID   string    `json:"signal_id"`
		Type       string    `json:"type"`
		ItemID     string    `json:"item_id"`
		ItemTitle  string    `json:"item_title"`
		Value      float64   `json:"value"`
		OccurredAt time.Time `json:"occurred_at"`
		ExpiresAt  time.Time `json:"expires_at"`
		Purposes   []string  `json:"purposes"`
		Suppressed *bool     `json:"suppressed"`
	} `json:"signals"`
	Controls []struct {
		Kind, Target, Label string
	} `json:"controls"`
	ControlHistory []struct {
		Action, Kind, Target string
		ActorRole            string `json:"actor_role"`
	} `json:"control_history"`
	Recommendations []struct {
		RecommendationID string `json:"recommendation_id"`
		Items            []struct {
			ItemID string `json:"item_id"`
		} `json:"items"`
	} `json:"recommendations"`
	ReviewCases []struct {
		CaseID           string `json:"case_id"`
		RecommendationID string `json:"recommendation_id"`
		Status, Kind     string
	} `json:"review_cases"`
	HowRankingWorks []struct {
		Title      string   `json:"title"`
		Paragraphs []string `json:"paragraphs"`
	} `json:"how_ranking_works"`
}

// decodeExport parses b as exactly one JSON document with every field of
// the schema present.
func decodeExport(t testing.TB, b []byte) exportDoc {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		t.Fatalf("export is not a JSON document: %v\n%.2000s", err, b)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("export holds more than one JSON document (%v)", err)
	}
	for _, field := range []string{"schema", "exported_at", "customer_id", "consents", "consent_history", "signals", "controls", "control_history", "recommendations", "review_cases", "how_ranking_works"} {
		if _, ok := raw[field]; !ok {
			t.Errorf("export lacks %q", field)
		}
	}
	if len(raw) != 11 {
		t.Errorf("export has %d fields, want 11", len(raw))
	}
	var doc exportDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != app.ExportSchema || app.ExportSchema != "candor.export/v1" {
		t.Errorf("schema %q", doc.Schema)
	}
	if len(doc.HowRankingWorks) == 0 || doc.HowRankingWorks[0].Title == "" || len(doc.HowRankingWorks[0].Paragraphs) == 0 {
		t.Errorf("how_ranking_works: %+v", doc.HowRankingWorks)
	}
	if len(doc.Consents) != consent.NumPurposes {
		t.Errorf("%d consents, want one per purpose", len(doc.Consents))
	}
	return doc
}

// TestExportREST: the REST export of a customer with some of everything is
// one JSON document holding all of it.
func TestExportREST(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	const c = "export-all"
	ctx := context.Background()
	p := f.pseudonym(c)
	f.grant(t, c, consent.Personalization, consent.ModelTraining)
	ids := f.track(t, c,
		rfView("sku-00", 1), rfView("sku-03", 30),
		features.SignalInput{Type: "rating", ItemID: "sku-06", Value: 4, Purposes: []string{"personalization", "model_training"}, OccurredAt: rfStart.Add(-2 * time.Hour)},
		features.SignalInput{Type: "purchase", ItemID: "sku-09", Purposes: []string{"personalization"}, OccurredAt: rfStart.Add(-24 * time.Hour)},
	)
	// Consent history: a withdrawal, over the API.
	if _, err := f.consents().UpdateConsents(callAs(keyOf(app.RoleStorefront)), &candorv1.UpdateConsentsRequest{
		CustomerId: c, NoticeVersion: "v2", Method: "ui", Choices: []*candorv1.ConsentChoice{{Purpose: "model_training", Granted: false}},
	}); err != nil {
		t.Fatal(err)
	}
	// Controls: one signal suppressed, one item not wanted.
	if _, _, err := f.s.core.Store().SetControl(ctx, p, features.ControlSignal, ids[1], "customer", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.core.Store().SetControl(ctx, p, features.ControlItem, "sku-11", "customer", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	rec := f.recommend(t, c)
	review, err := f.reviewsClient().CreateReview(callAs(f.token(c)), &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "contest", Message: "Why this?"})
	if err != nil {
		t.Fatal(err)
	}

	for _, cred := range []string{keyOf(app.RoleStorefront), keyOf(app.RolePrivacyOfficer), f.token(c)} {
		resp, body := f.rest(t, http.MethodGet, "/v1/customers/"+c+"/export", cred, "", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("export: %d %s", resp.StatusCode, body)
		}
		if got := resp.Header.Get("Content-Disposition"); got != `attachment; filename="candor-export.json"` {
			t.Errorf("Content-Disposition %q", got)
		}
		if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
			t.Errorf("Content-Type %q", got)
		}
		doc := decodeExport(t, body)
		if doc.CustomerID != c {
			t.Errorf("customer_id %q", doc.CustomerID)
		}
		if at, err := time.Parse(time.RFC3339Nano, doc.ExportedAt); err != nil || !at.Equal(f.clock.Now()) {
			t.Errorf("exported_at %q (%v)", doc.ExportedAt, err)
		}

		// Consents and the full ledger, oldest first.
		ledger := f.ledger(t, c)
		if len(doc.ConsentHistory) != len(ledger) || len(ledger) != 3 {
			t.Fatalf("consent_history has %d entries, the ledger %d", len(doc.ConsentHistory), len(ledger))
		}
		for i, e := range ledger {
			got := doc.ConsentHistory[i]
			if got.Purpose != e.Purpose || got.Granted != e.Granted || got.Method != e.Method || got.NoticeVersion != e.NoticeVersion || got.ActorRole != e.ActorRole {
				t.Errorf("consent_history[%d] = %+v, want %+v", i, got, e)
			}
		}
		for _, cs := range doc.Consents {
			want := map[string]string{"personalization": "given", "model_training": "withdrawn", "support": "unknown", "marketing_email": "unknown"}[cs.Purpose]
			if cs.Status != want || cs.Granted != (want == "given") {
				t.Errorf("consent %+v, want %s", cs, want)
			}
		}

		// Every signal, decrypted, with its purposes and expiry.
		stored := f.signals(t, c)
		if len(doc.Signals) != len(stored) || len(stored) != len(ids) {
			t.Fatalf("%d signals exported, %d stored, %d tracked", len(doc.Signals), len(stored), len(ids))
		}
		for _, got := range doc.Signals {
			want, ok := stored[got.SignalID]
			if !ok {
				t.Errorf("exported unknown signal %s", got.SignalID)
				continue
			}
			if got.Type != want.Type.String() || got.ItemID != want.ItemID || got.Value != want.Value ||
				!got.OccurredAt.Equal(want.OccurredAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
				!slices.Equal(got.Purposes, want.Purposes.Names()) || got.Suppressed == nil || *got.Suppressed != (got.SignalID == ids[1]) {
				t.Errorf("signal %+v, stored %+v", got, want)
			}
			if got.ItemTitle == "" || got.ExpiresAt.IsZero() || len(got.Purposes) == 0 {
				t.Errorf("signal %s lacks its title, expiry or purposes", got.SignalID)
			}
		}

		// Controls and their history.
		if len(doc.Controls) != 2 || len(doc.ControlHistory) != 2 {
			t.Errorf("controls %+v history %+v", doc.Controls, doc.ControlHistory)
		}
		for _, ctl := range doc.Controls {
			if (ctl.Kind == "signals" && ctl.Target != ids[1]) || (ctl.Kind == "items" && (ctl.Target != "sku-11" || ctl.Label != "Item 11")) {
				t.Errorf("control %+v", ctl)
			}
		}

		// The stored recommendation and the review case.
		if len(doc.Recommendations) != 1 || doc.Recommendations[0].RecommendationID != rec.GetRecommendationId() || len(doc.Recommendations[0].Items) == 0 {
			t.Errorf("recommendations %+v", doc.Recommendations)
		}
		if len(doc.ReviewCases) != 1 || doc.ReviewCases[0].CaseID != review.GetCase().GetCaseId() || doc.ReviewCases[0].Status != "open" || doc.ReviewCases[0].RecommendationID != rec.GetRecommendationId() {
			t.Errorf("review_cases %+v", doc.ReviewCases)
		}
		// The pseudonym is candor's, not the customer's: never exported.
		if bytes.Contains(body, []byte(p)) {
			t.Error("the export holds the pseudonym")
		}
	}
}

// TestExportStreams: a long history arrives as many HttpBody messages of
// bounded size over gRPC, and concatenated they are the document; REST
// gives the same document.
func TestExportStreams(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	const c = "export-long"
	const n = 1500
	f.grant(t, c, consent.Personalization, consent.ModelTraining)
	var in []features.SignalInput
	for i := 0; i < n; i++ {
		in = append(in, features.SignalInput{Type: "view", ItemID: fmt.Sprintf("sku-%02d", i%12), Purposes: []string{"personalization", "model_training"}, OccurredAt: rfStart.Add(-time.Duration(i+1) * time.Minute)})
		if len(in) == features.MaxSignalsPerCall {
			f.track(t, c, in...)
			in = in[:0]
		}
	}

	stream, err := f.rights().ExportCustomerData(callAs(f.token(c)), &candorv1.ExportCustomerDataRequest{CustomerId: c})
	if err != nil {
		t.Fatal(err)
	}
	var doc bytes.Buffer
	chunks := 0
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		chunks++
		if msg.GetContentType() != "application/json" {
			t.Errorf("chunk %d content type %q", chunks, msg.GetContentType())
		}
		// A chunk is cut after the record that reaches exportChunk bytes.
		if len(msg.GetData()) == 0 || len(msg.GetData()) > exportChunk+4096 {
			t.Errorf("chunk %d holds %d bytes", chunks, len(msg.GetData()))
		}
		doc.Write(msg.GetData())
	}
	if md, err := stream.Header(); err != nil || !slices.Equal(md.Get("content-disposition"), []string{`attachment; filename="candor-export.json"`}) {
		t.Errorf("header %v (%v)", md, err)
	}
	if min := doc.Len() / exportChunk; chunks < 3 || chunks < min {
		t.Errorf("%d bytes in %d chunks", doc.Len(), chunks)
	}
	got := decodeExport(t, doc.Bytes())
	if len(got.Signals) != n {
		t.Errorf("%d signals, want %d", len(got.Signals), n)
	}
	seen := map[string]bool{}
	for _, s := range got.Signals {
		if seen[s.SignalID] {
			t.Errorf("signal %s exported twice", s.SignalID)
		}
		seen[s.SignalID] = true
	}

	resp, body := f.rest(t, http.MethodGet, "/v1/customers/"+c+"/export", keyOf(app.RoleStorefront), "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("REST export: %d %.500s", resp.StatusCode, body)
	}
	if rest := decodeExport(t, body); len(rest.Signals) != n {
		t.Errorf("REST export has %d signals", len(rest.Signals))
	}
}

// TestExportRefused: only the customer themself, the storefront and the
// privacy officer export, and a customer only their own data.
func TestExportRefused(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	f.shopper(t, "export-alice")
	f.shopper(t, "export-bob")
	aliceToken := f.token("export-alice")

	cases := []struct {
		name, cred, customer string
		http                 int
		code                 codes.Code
	}{
		{"another customer's token", aliceToken, "export-bob", http.StatusForbidden, codes.PermissionDenied},
		{"the marketer", keyOf(app.RoleMarketer), "export-bob", http.StatusForbidden, codes.PermissionDenied},
		{"the admin", keyOf(app.RoleAdmin), "export-bob", http.StatusForbidden, codes.PermissionDenied},
		{"the support chat", keyOf(app.RoleSupportAgent), "export-bob", http.StatusForbidden, codes.PermissionDenied},
		{"no credential", "", "export-bob", http.StatusUnauthorized, codes.Unauthenticated},
		{"a bad customer id", keyOf(app.RoleStorefront), "%20bob", http.StatusBadRequest, codes.InvalidArgument},
	}
	for _, tc := range cases {
		resp, body := f.rest(t, http.MethodGet, "/v1/customers/"+tc.customer+"/export", tc.cred, "", nil)
		if resp.StatusCode != tc.http {
			t.Errorf("%s over REST: %d, want %d", tc.name, resp.StatusCode, tc.http)
		}
		if bytes.Contains(body, []byte("signal_id")) || bytes.Contains(body, []byte("sku-")) || resp.Header.Get("Content-Disposition") != "" {
			t.Errorf("%s over REST: the refusal carries data: %s", tc.name, body)
		}
		ctx := context.Background()
		if tc.cred != "" {
			ctx = callAs(tc.cred)
		}
		customer := strings.ReplaceAll(tc.customer, "%20", " ")
		stream, err := f.rights().ExportCustomerData(ctx, &candorv1.ExportCustomerDataRequest{CustomerId: customer})
		if err == nil {
			var msg any
			msg, err = stream.Recv()
			if err == nil {
				t.Errorf("%s over gRPC: got %v", tc.name, msg)
			}
		}
		if status.Code(err) != tc.code {
			t.Errorf("%s over gRPC: %v, want %s", tc.name, err, tc.code)
		}
	}
}

// TestExportUnknownCustomer: a customer of whom nothing is held gets a
// valid document with empty lists, and asking writes nothing.
func TestExportUnknownCustomer(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	resp, body := f.rest(t, http.MethodGet, "/v1/customers/nobody-here/export", keyOf(app.RoleStorefront), "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %d %s", resp.StatusCode, body)
	}
	doc := decodeExport(t, body)
	if len(doc.ConsentHistory)+len(doc.Signals)+len(doc.Controls)+len(doc.ControlHistory)+len(doc.Recommendations)+len(doc.ReviewCases) != 0 {
		t.Errorf("export of an unknown customer holds data: %s", body)
	}
	for _, cs := range doc.Consents {
		if cs.Status != "unknown" || cs.Granted {
			t.Errorf("consent %+v", cs)
		}
	}
	// The lists are [] rather than null.
	for _, field := range []string{`"signals": []`, `"consent_history": []`, `"controls": []`, `"recommendations": []`, `"review_cases": []`} {
		if !bytes.Contains(body, []byte(field)) {
			t.Errorf("export lacks %s", field)
		}
	}
	if keys := f.customerKeys(t, "nobody-here"); len(keys) != 0 {
		t.Errorf("the export wrote %v", keys)
	}
}
