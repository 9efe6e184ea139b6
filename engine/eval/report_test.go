package eval

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
)

func sampleReport(tb testing.TB) *Report {
	tb.Helper()
	ds := synthetic(tb, 40, 30, 3, 9)
	rep, err := Run(tb.Context(), mapFS(map[string]string{"u.data": uData(ds), "u.user": uUser(ds, 0)}),
		Options{Models: testModels(), Folds: 2, Seed: 1, Audit: true, Name: "synthetic"})
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

func TestReportJSONShape(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := sampleReport(t).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"dataset", "protocol", "results", "audit"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("no %q in %s", key, buf.String())
		}
	}
	var name string
	if err := json.Unmarshal(doc["dataset"], &name); err != nil || name != "synthetic" {
		t.Errorf("dataset %s", doc["dataset"])
	}
	var results []map[string]any
	if err := json.Unmarshal(doc["results"], &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 || results[0]["model"] != "pop" || results[2]["model"] != "als" {
		t.Fatalf("results: %v", results)
	}
	for _, r := range results {
		for _, key := range []string{"precision@10", "recall@10", "map@10", "ndcg@10", "mrr@10", "coverage", "consent_rate"} {
			if _, ok := r[key].(float64); !ok {
				t.Errorf("%v: no number %q", r["model"], key)
			}
		}
	}
	if hp, ok := results[2]["hyperparameters"].([]any); !ok || len(hp) != 2 {
		t.Errorf("als hyperparameters: %v", results[2]["hyperparameters"])
	}
	// The first keys of a result are in the documented order.
	raw := buf.String()
	at := func(s string) int { return strings.Index(raw, s) }
	order := []int{at(`"model"`), at(`"precision@10"`), at(`"recall@10"`), at(`"map@10"`), at(`"ndcg@10"`), at(`"mrr@10"`), at(`"coverage"`)}
	if !slices.IsSorted(order) {
		t.Errorf("result keys out of order: %v", order)
	}
}

func TestReportTable(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := sampleReport(t).WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"dataset synthetic (ml-100k)", "NDCG@10", "als hyperparameters at consent 1.00", "fold 2:", "fairness audit", "exposure share", "45+"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	// Rows of the results table (up to the first blank line after its
	// header) end at the same column.
	var rows []string
	inTable := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == "model" && !inTable:
			inTable = true
		case inTable && len(f) == 0:
			inTable = false
		}
		if inTable {
			rows = append(rows, line)
		}
		if !inTable && len(rows) > 0 {
			break
		}
	}
	if len(rows) != 4 {
		t.Fatalf("results table rows: %q", rows)
	}
	for _, r := range rows {
		if len(r) != len(rows[0]) {
			t.Errorf("misaligned row %q (len %d vs %d)", r, len(r), len(rows[0]))
		}
	}
}

func TestCheckGorse(t *testing.T) {
	t.Parallel()
	rep := &Report{Data: DataSummary{Layout: LayoutML100K}, Folds: 5, Results: []*Result{{Model: "pop", ConsentRate: 1, Metrics: GorseItemPop}}}
	if err := CheckGorse(rep, io.Discard); err != nil {
		t.Errorf("exact row: %v", err)
	}
	rep.Results[0].NDCG += 0.009
	if err := CheckGorse(rep, io.Discard); err != nil {
		t.Errorf("within tolerance: %v", err)
	}
	rep.Results[0].MRR -= 0.011
	var buf bytes.Buffer
	if err := CheckGorse(rep, &buf); err == nil || !strings.Contains(err.Error(), "mrr@10") || !strings.Contains(buf.String(), "OFF") {
		t.Errorf("out of tolerance: %v\n%s", err, buf.String())
	}
	rep.Folds = 3
	if err := CheckGorse(rep, io.Discard); err == nil {
		t.Error("3 folds accepted")
	}
	rep.Folds, rep.Results[0].Model = 5, "als"
	if err := CheckGorse(rep, io.Discard); err == nil {
		t.Error("no pop row accepted")
	}
}
