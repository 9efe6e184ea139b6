package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"

	"google.golang.org/grpc/codes"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/server/rest"
)

// gwError is the gateway's error body, {"code", "message", "details"}, with
// details kept raw so that a missing one shows.
type gwError struct {
	Code    *int            `json:"code"`
	Message string          `json:"message"`
	Details json.RawMessage `json:"details"`
}

// wantGWError checks that an answer is the gateway's error shape with the
// HTTP status and gRPC code, and returns its message.
func wantGWError(t *testing.T, resp *http.Response, body []byte, httpStatus int, code codes.Code) string {
	t.Helper()
	if resp.StatusCode != httpStatus {
		t.Errorf("status %d, want %d (%s)", resp.StatusCode, httpStatus, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	var e gwError
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if e.Code == nil || *e.Code != int(code) {
		t.Errorf("code in %s, want %d (%s)", body, int(code), code)
	}
	if string(e.Details) != "[]" {
		t.Errorf("details in %s, want []", body)
	}
	return e.Message
}

const formType = "application/x-www-form-urlencoded"

// TestGatewayWrongMethod: a request with a method its path does not take is
// a 405 listing the methods it does, changes nothing, and a form-encoded
// POST (curl -d without -X) is not served as the path's GET.
func TestGatewayWrongMethod(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	const customer = "gw-method"
	f.grant(t, customer, consent.Personalization, consent.ModelTraining)
	ids := f.track(t, customer, rfView("sku-00", 1))
	ledger := len(f.ledger(t, customer))
	revoke := `{"choices":[{"purpose":"model_training","granted":false,"delete_data":true}],"notice_version":"v2","method":"api"}`

	for _, tc := range []struct {
		name, method, path, contentType, body string
		role                                  app.Role
		allow                                 string
	}{
		{"form POST to a PATCH path", http.MethodPost, "/v1/customers/" + customer + "/consents", formType, revoke, app.RoleStorefront, "GET, PATCH"},
		{"JSON POST to a PATCH path", http.MethodPost, "/v1/customers/" + customer + "/consents", "application/json", revoke, app.RoleStorefront, "GET, PATCH"},
		{"form POST to a PUT path", http.MethodPost, "/v1/catalog/items/sku-00", formType, `{"title":"Changed"}`, app.RoleAdmin, "GET, PUT, DELETE"},
		{"form POST to a PATCH and DELETE path", http.MethodPost, "/v1/customers/" + customer + "/signals/" + ids[0], formType, `{"item_id":"sku-01"}`, app.RoleStorefront, "PATCH, DELETE"},
		{"GET of a PATCH and DELETE path", http.MethodGet, "/v1/customers/" + customer + "/signals/" + ids[0], "", "", app.RoleStorefront, "PATCH, DELETE"},
		{"PUT to a DELETE path", http.MethodPut, "/v1/customers/" + customer, "application/json", "{}", app.RoleStorefront, "DELETE"},
		{"DELETE of a POST path", http.MethodDelete, "/v1/customers/" + customer + "/signals", "", "", app.RoleStorefront, "POST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := map[string]string{}
			if tc.contentType != "" {
				header["Content-Type"] = tc.contentType
			}
			resp, body := f.rest(t, tc.method, tc.path, keyOf(tc.role), tc.body, header)
			msg := wantGWError(t, resp, body, http.StatusMethodNotAllowed, codes.Unimplemented)
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			if !strings.Contains(msg, tc.method) || !strings.Contains(msg, tc.allow) {
				t.Errorf("message %q does not name the method and %s", msg, tc.allow)
			}
		})
	}

	// Nothing changed: the consent, its ledger, the item, the signal.
	if st := f.consentOf(t, customer); !st.Granted(consent.ModelTraining) {
		t.Error("model_training was revoked by a refused request")
	}
	if n := len(f.ledger(t, customer)); n != ledger {
		t.Errorf("ledger grew from %d to %d entries", ledger, n)
	}
	if it, err := f.s.core.Catalog().Get(context.Background(), "sku-00"); err != nil || it.Title != "Item 0" {
		t.Errorf("item sku-00: %+v, %v", it, err)
	}
	if s, ok := f.signals(t, customer)[ids[0]]; !ok || s.ItemID != "sku-00" {
		t.Errorf("signal %s: %+v (present %v)", ids[0], s, ok)
	}

	// The right method still works with curl's form type (curl -X PATCH -d).
	resp, body := f.rest(t, http.MethodPatch, "/v1/customers/"+customer+"/consents", keyOf(app.RoleStorefront), revoke, map[string]string{"Content-Type": formType})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH consents: %d %s", resp.StatusCode, body)
	}
	if st := f.consentOf(t, customer); st.Granted(consent.ModelTraining) {
		t.Error("PATCH did not revoke model_training")
	}
}

// TestGatewayBodyTooLarge: a body over the limit is a 413 in the gateway's
// error shape, whether its Content-Length says so or it is sent chunked
// (then it is the gateway's decoder that hits the limit).
func TestGatewayBodyTooLarge(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	// An array of items padded with spaces past the limit.
	big := `{"items":[{"item_id":"sku-big","title":"Big"}` + strings.Repeat(" ", rest.MaxBodyBytes) + `]}`
	for _, tc := range []struct {
		name    string
		chunked bool
	}{
		{"with Content-Length", false},
		{"chunked", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rd io.Reader = strings.NewReader(big)
			if tc.chunked {
				rd = iotest.HalfReader(rd) // no known length: sent chunked
			}
			req, err := http.NewRequest(http.MethodPost, f.base+"/v1/catalog/items:batchUpsert", rd)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+keyOf(app.RoleAdmin))
			req.Header.Set("Content-Type", "application/json")
			// The server answers before reading; with 100-continue the client
			// waits for that answer instead of writing 4 MiB into a closed
			// connection.
			req.Header.Set("Expect", "100-continue")
			resp, err := testHTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if (req.ContentLength > 0) == tc.chunked {
				t.Fatalf("request length %d: not the case under test", req.ContentLength)
			}
			msg := wantGWError(t, resp, body, http.StatusRequestEntityTooLarge, codes.InvalidArgument)
			if !strings.Contains(msg, "4 MiB") {
				t.Errorf("message %q does not name the limit", msg)
			}
		})
	}
	if _, err := f.s.core.Catalog().Get(context.Background(), "sku-big"); err == nil {
		t.Error("an item of a refused body was written")
	}

	// Just under the limit, the body is read and decoded.
	under := `{"items":[{"item_id":"sku-under","title":"Under"}]}`
	under += strings.Repeat(" ", rest.MaxBodyBytes-len(under))
	resp, body := f.rest(t, http.MethodPost, "/v1/catalog/items:batchUpsert", keyOf(app.RoleAdmin), under, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a body of exactly the limit: %d %s", resp.StatusCode, body)
	}
}

// TestGatewayDecodeErrors: a body that does not decode is a 400 whose
// message names the field by its proto name and place, and what it must be,
// in the API's words; nothing is written.
func TestGatewayDecodeErrors(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	const customer = "gw-decode"
	f.grant(t, customer, consent.Personalization)
	signals := "/v1/customers/" + customer + "/signals"
	consents := "/v1/customers/" + customer + "/consents"

	for _, tc := range []struct {
		name, method, path string
		role               app.Role
		body, want         string
	}{
		{"string field given a number, in a list element", http.MethodPost, signals, app.RoleStorefront,
			`{"signals":[{"type":"view","item_id":123,"purposes":["personalization"]}]}`, "signals[0].item_id: must be a string"},
		{"the second element", http.MethodPost, signals, app.RoleStorefront,
			`{"signals":[{"type":"view","item_id":"sku-00"},{"type":"view","item_id":["sku-01"]}]}`, "signals[1].item_id: must be a string"},
		{"number field given a string", http.MethodPost, signals, app.RoleStorefront,
			`{"signals":[{"type":"rating","item_id":"sku-00","value":"five"}]}`, "signals[0].value: must be a number"},
		{"whole number given a string", http.MethodPut, "/v1/policy/signal-sets", app.RoleMarketer,
			`{"expected_version":"latest"}`, "expected_version: must be a whole number"},
		{"whole number out of range", http.MethodPost, "/v1/customers/" + customer + "/tokens", app.RoleStorefront,
			`{"ttl_seconds":3000000000}`, "ttl_seconds: must be a whole number from -2147483648 to 2147483647"},
		{"bool given a string", http.MethodPatch, consents, app.RoleStorefront,
			`{"choices":[{"purpose":"personalization","granted":"no"}],"notice_version":"v2","method":"api"}`, "choices[0].granted: must be true or false"},
		{"timestamp in another format", http.MethodPost, signals, app.RoleStorefront,
			`{"signals":[{"type":"view","item_id":"sku-00","occurred_at":"26/11/2026"}]}`, "signals[0].occurred_at: must be a timestamp like 2026-11-20T14:30:00Z"},
		{"list given an object", http.MethodPost, signals, app.RoleStorefront,
			`{"signals":{"type":"view","item_id":"sku-00"}}`, "signals: must be a list"},
		{"message given a string", http.MethodPost, signals, app.RoleStorefront,
			`{"signals":["view"]}`, "signals[0]: must be an object"},
		{"body not an object", http.MethodPost, signals, app.RoleStorefront,
			`[{"type":"view"}]`, "body: must be an object"},
		{"unknown field", http.MethodPost, signals, app.RoleStorefront,
			`{"signal":[{"type":"view","item_id":"sku-00"}]}`, `body: unknown field "signal" (known: customer_id, signals)`},
		{"unknown field in a list element", http.MethodPost, signals, app.RoleStorefront,
			`{"signals":[{"type":"view","itemid":"sku-00"}]}`, `signals[0]: unknown field "itemid" (known: type, item_id, purposes, occurred_at, value)`},
		{"field given twice", http.MethodPost, signals, app.RoleStorefront,
			`{"signals":[{"type":"view","item_id":"sku-00","itemId":"sku-01"}]}`, "signals[0].item_id: is given more than once"},
		{"malformed JSON", http.MethodPost, signals, app.RoleStorefront,
			`{"signals":[{"type":"view",}]}`, "body: is not valid JSON (line 1, column 28)"},
		{"malformed JSON on a later line", http.MethodPost, signals, app.RoleStorefront,
			"{\n  \"signals\": [\n    {\"type\": 'view'}\n  ]\n}", "body: is not valid JSON (line 3, column 14)"},
		{"truncated JSON", http.MethodPost, signals, app.RoleStorefront,
			`{"signals":[{"type":"view"`, "body: is not valid JSON (it ends too early)"},
		{"form data", http.MethodPost, signals, app.RoleStorefront,
			`item_id=sku-00&type=view`, "body: is not valid JSON (line 1, column 1)"},
		{"body bound to one field", http.MethodPut, "/v1/catalog/items/sku-new", app.RoleAdmin,
			`{"title":"New","categories":"Running"}`, "categories: must be a list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.rest(t, tc.method, tc.path, keyOf(tc.role), tc.body, nil)
			if msg := wantGWError(t, resp, body, http.StatusBadRequest, codes.InvalidArgument); msg != tc.want {
				t.Errorf("message %q\nwant    %q", msg, tc.want)
			}
		})
	}
	if got := f.signals(t, customer); len(got) != 0 {
		t.Errorf("refused bodies stored %d signals", len(got))
	}
	if _, err := f.s.core.Catalog().Get(context.Background(), "sku-new"); err == nil {
		t.Error("a refused PutItem wrote the item")
	}

	// A body that decodes is served as before.
	resp, body := f.rest(t, http.MethodPost, signals, keyOf(app.RoleStorefront), `{"signals":[{"type":"view","item_id":"sku-00","purposes":["personalization"],"occurred_at":"2026-11-26T11:00:00Z"}]}`, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a valid body: %d %s", resp.StatusCode, body)
	}
	if got := f.signals(t, customer); len(got) != 1 {
		t.Errorf("a valid body stored %d signals, want 1", len(got))
	}
}

// TestGatewayQueryParameters: a query parameter the route does not take is
// refused with the ones it does; those, by proto or JSON name, still work.
func TestGatewayQueryParameters(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	const customer = "gw-query"
	f.shopper(t, customer)
	rec := f.recommend(t, customer)
	recs := "/v1/customers/" + customer + "/recommendations"

	for _, tc := range []struct {
		name, method, path string
		role               app.Role
		want               string // the message of the 400; empty for a 200
	}{
		{"misspelt parameter", http.MethodGet, recs + "?surface=storefront&limt=5", app.RoleStorefront,
			`unknown query parameter "limt" (known: surface, limit)`},
		{"two unknown", http.MethodGet, recs + "?surface=storefront&b=1&a=2", app.RoleStorefront,
			`unknown query parameters "a", "b" (known: surface, limit)`},
		{"a field the path binds", http.MethodGet, recs + "?surface=storefront&customer_id=someone-else", app.RoleStorefront,
			`unknown query parameter "customer_id" (known: surface, limit)`},
		{"a call that takes none", http.MethodGet, "/v1/customers/" + customer + "/consents?purpose=personalization", app.RoleStorefront,
			`unknown query parameter "purpose" (this call takes none)`},
		{"a call whose body takes every field", http.MethodPost, "/v1/customers/" + customer + "/signals?dry_run=true", app.RoleStorefront,
			`unknown query parameter "dry_run" (this call takes none)`},
		{"a list's page parameters", http.MethodGet, "/v1/customers/" + customer + "/consents/history?page_sise=2", app.RoleStorefront,
			`unknown query parameter "page_sise" (known: page_size, page_token)`},
		{"a value of the wrong type", http.MethodGet, recs + "?surface=storefront&limit=ten", app.RoleStorefront,
			"limit: must be a whole number"},
		{"known parameters", http.MethodGet, recs + "?surface=storefront&limit=3", app.RoleStorefront, ""},
		{"known parameters and pretty", http.MethodGet, recs + "?surface=storefront&limit=3&pretty", app.RoleStorefront, ""},
		{"a JSON name", http.MethodGet, "/v1/recommendations/" + rec.GetRecommendationId() + "?allReasons=true", app.RoleStorefront, ""},
		{"page parameters", http.MethodGet, "/v1/customers/" + customer + "/consents/history?page_size=1&pretty", app.RoleStorefront, ""},
		{"no query", http.MethodGet, "/v1/customers/" + customer + "/consents", app.RoleStorefront, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ""
			if tc.method == http.MethodPost {
				body = `{"signals":[{"type":"view","item_id":"sku-09","purposes":["personalization"]}]}`
			}
			resp, got := f.rest(t, tc.method, tc.path, keyOf(tc.role), body, nil)
			if tc.want == "" {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%d %s", resp.StatusCode, got)
				}
				return
			}
			if msg := wantGWError(t, resp, got, http.StatusBadRequest, codes.InvalidArgument); msg != tc.want {
				t.Errorf("message %q\nwant    %q", msg, tc.want)
			}
		})
	}
	for _, s := range f.signals(t, customer) {
		if s.ItemID == "sku-09" {
			t.Error("a refused TrackSignals stored its signal")
		}
	}
}

// TestLimitsMatchReadme keeps the README's limits equal to the code's.
func TestLimitsMatchReadme(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	start := strings.Index(readme, "### Limits and errors")
	if start < 0 {
		t.Fatal(`README has no "### Limits and errors" section`)
	}
	section := readme[start:]
	if end := regexp.MustCompile("\n##+ ").FindStringIndex(section[3:]); end != nil {
		section = section[:end[0]+3]
	}
	for _, want := range []string{
		fmt.Sprintf("| Request body | %d MiB |", rest.MaxBodyBytes>>20),
		fmt.Sprintf("| Signals per `TrackSignals` call | %d |", features.MaxSignalsPerCall),
		fmt.Sprintf("| Items per `BatchUpsertItems` call | %d |", features.MaxItemsPerUpsert),
		fmt.Sprintf("| `limit` of `GetRecommendations` | 1 to %d, default %d |", app.MaxLimit, app.DefaultLimit),
		fmt.Sprintf("| `page_size` of the lists | 1 to %d, default %d |", app.MaxPageSize, app.DefaultPageSize),
	} {
		if !strings.Contains(section, want) {
			t.Errorf("the README's limits lack the row %q", want)
		}
	}
}
