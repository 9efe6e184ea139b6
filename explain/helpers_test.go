package explain_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/keyspace"
	"github.com/candorhq/candor/internal/redistest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Fixed times, so that goldens are stable.
var (
	now       = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	consentAt = time.Date(2026, 2, 14, 9, 30, 0, 0, time.UTC)
)

const (
	goldenID        = "rec_goldengoldengoldengolden"
	goldenPseudonym = features.Pseudonym("00112233445566778899aabbccddeeff")
	goldenModel     = "cooc-0123456789ab"
)

// shopItems is the catalogue of the explain tests.
var shopItems = []features.Item{
	{ID: "kettle", Title: "Blue Kettle", Categories: []string{"Kitchen"}},
	{ID: "teapot", Title: "Stoneware Teapot", Categories: []string{"Kitchen", "Tea"}},
	{ID: "mugs", Title: "Set of Four Mugs", Categories: []string{"Kitchen"}},
	{ID: "grinder", Title: "Hand Coffee Grinder", Categories: []string{"Coffee"}},
	{ID: "beans", Title: "Ethiopian Coffee Beans", Categories: []string{"Coffee"}},
	{ID: "scale", Title: "Kitchen Scale"},
	{ID: "cookbook", Title: "The Tea Cookbook", Categories: []string{"Books"}},
	{ID: "vitamins", Title: "Vitamin D Drops", Categories: []string{"Health"}, Sensitive: true},
}

// shopCatalog returns a snapshot of shopItems.
func shopCatalog(tb testing.TB) *features.CatalogSnapshot {
	tb.Helper()
	r := redistest.New(tb)
	ks, err := keyspace.New(r.Namespace)
	if err != nil {
		tb.Fatal(err)
	}
	cat := features.NewCatalog(r.Client, ks)
	items := append([]features.Item(nil), shopItems...)
	if err := cat.Upsert(context.Background(), items, now.Add(-48*time.Hour)); err != nil {
		tb.Fatal(err)
	}
	snap, err := cat.Current(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return snap
}

func signal(id string, t consent.SignalType, item string, at time.Time) features.Signal {
	return features.Signal{
		ID:         id,
		Type:       t,
		ItemID:     item,
		Purposes:   consent.NewPurposeSet(consent.Personalization, consent.ModelTraining),
		OccurredAt: at,
		ExpiresAt:  at.Add(t.Retention()),
	}
}

func rated(id, item string, stars float64, at time.Time) features.Signal {
	s := signal(id, consent.Rating, item, at)
	s.Value = stars
	return s
}

func day(month time.Month, d int) time.Time { return time.Date(2026, month, d, 10, 0, 0, 0, time.UTC) }

// decided returns a consent state with one purpose's decision.
func decided(p consent.Purpose, status consent.Status, sensitive bool) consent.State {
	var st consent.State
	st.Decisions[p] = consent.Decision{
		Status: status, SensitiveGranted: sensitive, UpdatedAt: consentAt, NoticeVersion: "2026-02", Method: consent.MethodUI,
	}
	return st
}

// input assembles an explain.Input with the fixed id and times.
func input(view *features.CustomerView, purpose consent.Purpose, surface string, usable *features.Usable, res *engine.Result) explain.Input {
	policy := consent.DefaultPolicy()
	if view.Policy == nil {
		view.Policy = &policy
	}
	return explain.Input{
		ID:              goldenID,
		Surface:         surface,
		Purpose:         purpose,
		View:            view,
		Usable:          usable,
		Result:          res,
		SignalRetention: features.DefaultRetention(),
		CreatedAt:       now,
		ExpiresAt:       now.Add(explain.DefaultRetention),
	}
}

// excludedN returns n exclusions of signals of type t for reason r.
func excludedN(t consent.SignalType, r features.Reason, n int) []features.Exclusion {
	out := make([]features.Exclusion, n)
	for k := range out {
		s := signal(fmt.Sprintf("sig_x_%s_%s_%d", t, r, k), t, "kettle", day(1, 5+k))
		out[k] = features.Exclusion{Signal: &s, Reason: r}
	}
	return out
}

// checkGolden compares the rendered answer, as indented JSON with the API's
// field names, with testdata/<name>.golden, or rewrites the file with
// -update. The goldens are the API payload: server checks that the API's
// Recommendation message, converted from the same answer, marshals to
// exactly these files (TestRecommendationProtoGoldens).
func checkGolden(tb testing.TB, name string, rec *explain.Rendered) {
	tb.Helper()
	got := indentedJSON(tb, rec)
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test ./explain/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s is out of date (review, then go test ./explain/ -update):\n%s", path, lineDiff(string(want), string(got)))
	}
}

// indentedJSON is the JSON form of a rendered answer, indented.
func indentedJSON(tb testing.TB, rec *explain.Rendered) []byte {
	tb.Helper()
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // as protojson
	enc.SetIndent("", "  ")
	if err := enc.Encode(rec); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// lineDiff lists the lines that differ, position by position.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}
