package main

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestBadInput sends invalid input to every endpoint over REST and expects a
// 4xx with a message that names what to fix, and not a single write.
func TestBadInput(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.seedCatalog(t)
	ts.mustREST(t, "storefront", "PATCH", "/v1/customers/c1/consents",
		`{"choices":[{"purpose":"personalization","granted":true}],"notice_version":"v1","method":"ui"}`)

	long := strings.Repeat("x", 129)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var tooMany []string
	for i := 0; i < 501; i++ {
		tooMany = append(tooMany, `{"type":"view","item_id":"sku-01","purposes":["personalization"]}`)
	}
	var tooManyItems []string
	for i := 0; i < 1001; i++ {
		tooManyItems = append(tooManyItems, fmt.Sprintf(`{"item_id":"n-%d","title":"t"}`, i))
	}
	cases := []struct {
		name, role, method, path, body string
		status                         int
		message                        string
	}{
		{"customer id too long", "storefront", "GET", "/v1/customers/" + long + "/consents", "", 400, "customer_id: at most 128 bytes"},
		{"customer id with control character", "storefront", "GET", "/v1/customers/a%01b/consents", "", 400, "customer_id: must not contain control"},
		{"customer id that is not UTF-8", "storefront", "GET", "/v1/customers/a%ffb/consents", "", 400, "must be valid UTF-8"},
		{"item id that is not UTF-8, without a key", "", "GET", "/v1/catalog/items/a%ffb", "", 400, "must be valid UTF-8"},
		{"query that is not UTF-8", "storefront", "GET", "/v1/customers/c1/recommendations?surface=%ff", "", 400, "must be valid UTF-8"},
		{"no choices", "storefront", "PATCH", "/v1/customers/c1/consents", `{"choices":[],"notice_version":"v1","method":"ui"}`, 400, "choices: at least one choice"},
		{"unknown purpose", "storefront", "PATCH", "/v1/customers/c1/consents", `{"choices":[{"purpose":"ads","granted":true}],"notice_version":"v1","method":"ui"}`, 400, `choices[0].purpose: unknown purpose "ads"`},
		{"no notice version", "storefront", "PATCH", "/v1/customers/c1/consents", `{"choices":[{"purpose":"support","granted":true}],"method":"ui"}`, 400, "notice_version: required"},
		{"no method", "storefront", "PATCH", "/v1/customers/c1/consents", `{"choices":[{"purpose":"support","granted":true}],"notice_version":"v1"}`, 400, "method: required"},
		{"unknown method", "storefront", "PATCH", "/v1/customers/c1/consents", `{"choices":[{"purpose":"support","granted":true}],"notice_version":"v1","method":"fax"}`, 400, `unknown method "fax"`},
		{"delete_data while granting", "storefront", "PATCH", "/v1/customers/c1/consents", `{"choices":[{"purpose":"support","granted":true,"delete_data":true}],"notice_version":"v1","method":"ui"}`, 400, "delete_data is only allowed when revoking"},
		{"same purpose twice", "storefront", "PATCH", "/v1/customers/c1/consents", `{"choices":[{"purpose":"support","granted":true},{"purpose":"support","granted":false}],"notice_version":"v1","method":"ui"}`, 400, "appears more than once"},
		{"misspelt field", "storefront", "PATCH", "/v1/customers/c1/consents", `{"choices":[{"purpose":"support","grantd":true}],"notice_version":"v1","method":"ui"}`, 400, "grantd"},
		{"history page size", "storefront", "GET", "/v1/customers/c1/consents/history?page_size=5000", "", 400, "page_size: must be between 1 and 1000"},
		{"history page token", "storefront", "GET", "/v1/customers/c1/consents/history?page_token=garbage", "", 400, "page_token"},
		{"unknown signal type", "storefront", "POST", "/v1/customers/c1/signals", `{"signals":[{"type":"clik","item_id":"sku-01","purposes":["personalization"]}]}`, 400, `signals[0].type: unknown signal type "clik"`},
		{"empty item id", "storefront", "POST", "/v1/customers/c1/signals", `{"signals":[{"type":"view","item_id":"","purposes":["personalization"]}]}`, 400, "signals[0].item_id: required"},
		{"oversized item id", "storefront", "POST", "/v1/customers/c1/signals", `{"signals":[{"type":"view","item_id":"` + long + `","purposes":["personalization"]}]}`, 400, "signals[0].item_id: at most 128 bytes"},
		{"no purposes", "storefront", "POST", "/v1/customers/c1/signals", `{"signals":[{"type":"view","item_id":"sku-01"}]}`, 400, "signals[0].purposes: at least one"},
		{"unknown signal purpose", "storefront", "POST", "/v1/customers/c1/signals", `{"signals":[{"type":"view","item_id":"sku-01","purposes":["resale"]}]}`, 400, `signals[0].purposes[0]: unknown purpose "resale"`},
		{"future time", "storefront", "POST", "/v1/customers/c1/signals", `{"signals":[{"type":"view","item_id":"sku-01","purposes":["personalization"],"occurred_at":"` + future + `"}]}`, 400, "signals[0].occurred_at: " + future + " is in the future"},
		{"malformed time", "storefront", "POST", "/v1/customers/c1/signals", `{"signals":[{"type":"view","item_id":"sku-01","purposes":["personalization"],"occurred_at":"yesterday"}]}`, 400, "signals[0].occurred_at: must be a timestamp like 2026-11-20T14:30:00Z"},
		{"rating out of range", "storefront", "POST", "/v1/customers/c1/signals", `{"signals":[{"type":"rating","item_id":"sku-01","purposes":["personalization"],"value":9}]}`, 400, "signals[0].value: a rating needs a value from 1 to 5"},
		{"oversized batch", "storefront", "POST", "/v1/customers/c1/signals", `{"signals":[` + strings.Join(tooMany, ",") + `]}`, 400, "at most 500 signals per call"},
		{"last signal of a batch invalid", "storefront", "POST", "/v1/customers/c1/signals", `{"signals":[{"type":"view","item_id":"sku-01","purposes":["personalization"]},{"type":"view","item_id":"sku-02","purposes":["personalization"]},{"type":"view","item_id":"sku-03","purposes":[]}]}`, 400, "signals[2].purposes"},
		{"item without title", "admin", "PUT", "/v1/catalog/items/sku-99", `{"categories":["c"]}`, 400, "item.title: required"},
		{"item id differs from path", "admin", "PUT", "/v1/catalog/items/sku-99", `{"item_id":"sku-98","title":"t"}`, 400, "differs from the item_id in the path"},
		{"item id too long", "admin", "PUT", "/v1/catalog/items/" + long, `{"title":"t"}`, 400, "item.item_id: at most 128 bytes"},
		{"delete with id too long", "admin", "DELETE", "/v1/catalog/items/" + long, "", 400, "item_id: at most 128 bytes"},
		{"empty batch upsert", "admin", "POST", "/v1/catalog/items:batchUpsert", `{"items":[]}`, 400, "items: at least one item"},
		{"oversized batch upsert", "admin", "POST", "/v1/catalog/items:batchUpsert", `{"items":[` + strings.Join(tooManyItems, ",") + `]}`, 400, "at most 1000 items per call"},
		{"duplicate ids in batch upsert", "admin", "POST", "/v1/catalog/items:batchUpsert", `{"items":[{"item_id":"a","title":"t"},{"item_id":"a","title":"u"}]}`, 400, `items[1].item_id: "a" repeats items[0]`},
		{"limit too large", "storefront", "GET", "/v1/customers/c1/recommendations?limit=101", "", 400, "limit: must be between 1 and 100"},
		{"negative limit", "storefront", "GET", "/v1/customers/c1/recommendations?limit=-1", "", 400, "limit: must be between 1 and 100"},
		{"unknown surface", "storefront", "GET", "/v1/customers/c1/recommendations?surface=tv", "", 400, `surface: unknown surface "tv"`},
		{"malformed recommendation id", "storefront", "GET", "/v1/recommendations/nope", "", 400, "recommendation_id: not a recommendation id"},
		{"unknown recommendation id", "storefront", "GET", "/v1/recommendations/rec_aaaaaaaaaaaaaaaaaaaaaaaa", "", 404, "not found"},
		{"unknown item", "admin", "GET", "/v1/catalog/items/sku-unknown", "", 404, "not found"},
		{"policy missing a purpose", "marketer", "PUT", "/v1/policy/signal-sets", `{"signal_sets":[{"purpose":"personalization","signal_types":["view"]}]}`, 400, `purpose "support" is missing`},
		{"policy with unknown type", "marketer", "PUT", "/v1/policy/signal-sets", `{"signal_sets":[{"purpose":"personalization","signal_types":["telepathy"]}]}`, 400, `signal_sets[0].signal_types[0]: unknown signal type "telepathy"`},
		{"policy version conflict", "marketer", "PUT", "/v1/policy/signal-sets", `{"expected_version":7,"signal_sets":[{"purpose":"personalization"},{"purpose":"support"},{"purpose":"marketing_email"},{"purpose":"model_training"}]}`, 409, "expected version 7, current is 1"},
	}
	before := ts.redis.Dump(t)
	for _, c := range cases {
		code, out := ts.rest(t, c.role, c.method, c.path, c.body)
		msg, _ := out["message"].(string)
		if code != c.status || !strings.Contains(msg, c.message) {
			t.Errorf("%s: status %d, message %q; want %d with %q", c.name, code, msg, c.status, c.message)
		}
		if code >= 500 {
			t.Errorf("%s: server error %d", c.name, code)
		}
	}
	// Recommendation lookups of unknown ids write nothing; nor does any
	// refused request.
	if after := ts.redis.Dump(t); !reflect.DeepEqual(before, after) {
		for k, v := range after {
			if old, ok := before[k]; !ok || old != v {
				t.Errorf("a refused request wrote key %s", k)
			}
		}
		t.Error("refused requests changed the store")
	}
	if code, _ := ts.rest(t, "storefront", "GET", "/v1/customers/c1/nothing-here", ""); code != http.StatusNotFound {
		t.Errorf("unknown route: status %d, want 404", code)
	}
}
