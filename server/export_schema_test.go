package server

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// docTableFields returns the first column of the table under the heading
// `heading` of docs/export-schema.md.
func docTableFields(t *testing.T, doc, heading string) []string {
	t.Helper()
	_, section, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("docs/export-schema.md has no %q section", heading)
	}
	if next := strings.Index(section, "\n## "); next >= 0 {
		section = section[:next]
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|")
	var fields []string
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		fields = append(fields, m[1])
	}
	if len(fields) == 0 {
		t.Fatalf("docs/export-schema.md: no field table under %q", heading)
	}
	return fields
}

// topLevelKeys returns the document's keys in the order written.
func topLevelKeys(t *testing.T, doc []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("export does not start with an object: %v %v", tok, err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestExportMatchesItsSchemaDocument exports a customer who has something
// in every list and checks the document against docs/export-schema.md: the
// top-level fields, in order, and the fields of each signal.
func TestExportMatchesItsSchemaDocument(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	ctx := context.Background()
	raw, err := os.ReadFile("../docs/export-schema.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	if !strings.Contains(doc, "# The customer export, schema `"+app.ExportSchema+"`") {
		t.Errorf("docs/export-schema.md does not document %s in its title", app.ExportSchema)
	}

	// Something in every list: a control (and so its history) and a review
	// case, besides alice's consent, signals and answer.
	if _, _, err := f.s.core.Store().SetControl(ctx, f.alice, features.ControlItem, "sku-09", "customer", f.now); err != nil {
		t.Fatal(err)
	}
	_, answer, err := f.s.core.Explanations().Get(ctx, f.recID, f.now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.core.Reviews().Open(ctx, f.alice, answer, explain.ReviewHumanReview, "Please have a person look at this.", f.now); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if _, err := f.s.core.Export(ctx, storefront, "alice", func(b []byte) error { out.Write(b); return nil }); err != nil {
		t.Fatal(err)
	}

	if got, want := topLevelKeys(t, out.Bytes()), docTableFields(t, doc, "## Top-level fields"); !slices.Equal(got, want) {
		t.Errorf("top-level fields\n got %q\nwant %q (docs/export-schema.md)", got, want)
	}
	var parsed map[string]json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &parsed); err != nil {
		t.Fatal(err)
	}
	for name, v := range parsed {
		if name == "schema" || name == "exported_at" || name == "customer_id" {
			continue
		}
		var list []json.RawMessage
		if err := json.Unmarshal(v, &list); err != nil {
			t.Errorf("%s is not a list: %v", name, err)
		}
		if len(list) == 0 {
			t.Errorf("%s is empty; the test customer should have something in every list", name)
		}
	}
	if got := strings.Trim(string(parsed["schema"]), `"`); got != app.ExportSchema {
		t.Errorf("schema %q, want %q", got, app.ExportSchema)
	}

	documented := docTableFields(t, doc, "## `signals`")
	var signals []map[string]json.RawMessage
	if err := json.Unmarshal(parsed["signals"], &signals); err != nil {
		t.Fatal(err)
	}
	if len(signals) != len(f.signals) {
		t.Errorf("%d signals exported, alice has %d", len(signals), len(f.signals))
	}
	for _, sig := range signals {
		for name := range sig {
			if !slices.Contains(documented, name) {
				t.Errorf("signal field %q is not in docs/export-schema.md", name)
			}
		}
		for _, required := range []string{"signal_id", "type", "item_id", "occurred_at", "expires_at", "purposes", "suppressed"} {
			if _, ok := sig[required]; !ok {
				t.Errorf("signal %s has no %s", sig["signal_id"], required)
			}
		}
	}
}
