package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestEvalFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		err  string // empty: must succeed
	}{
		{"defaults", []string{"--dataset", "d"}, ""},
		{"everything", []string{"--dataset=d", "--models=als,pop", "--folds=3", "--format=json", "--seed=9", "--consent-rate=1,0.5,0.2", "--audit"}, ""},
		{"gorse check", []string{"--dataset=d", "--models=pop", "--check-gorse"}, ""},
		{"no dataset", nil, "--dataset: required"},
		{"unknown model", []string{"--dataset=d", "--models=pop,bpr"}, `unknown model "bpr"`},
		{"empty model", []string{"--dataset=d", "--models=pop,"}, `unknown model ""`},
		{"model twice", []string{"--dataset=d", "--models=pop,pop"}, "given twice"},
		{"one fold", []string{"--dataset=d", "--folds=1"}, "--folds: want 2 to 100"},
		{"folds not a number", []string{"--dataset=d", "--folds=five"}, "usage"},
		{"bad format", []string{"--dataset=d", "--format=csv"}, "--format: want table or json"},
		{"consent above 1", []string{"--dataset=d", "--consent-rate=1.2"}, "--consent-rate: want numbers from 0 to 1"},
		{"consent not a number", []string{"--dataset=d", "--consent-rate=most"}, "--consent-rate"},
		{"consent NaN", []string{"--dataset=d", "--consent-rate=NaN"}, "--consent-rate"},
		{"consent twice", []string{"--dataset=d", "--consent-rate=0.5,0.5"}, "given twice"},
		{"negative seed", []string{"--dataset=d", "--seed=-1"}, "usage"},
		{"gorse check without pop", []string{"--dataset=d", "--models=als", "--check-gorse"}, "--check-gorse"},
		{"gorse check on 3 folds", []string{"--dataset=d", "--models=pop", "--folds=3", "--check-gorse"}, "--check-gorse"},
		{"stray argument", []string{"--dataset=d", "extra"}, `unexpected argument "extra"`},
		{"unknown flag", []string{"--dataset=d", "--fast"}, "usage"},
	}
	for _, c := range cases {
		o, err := parseEvalFlags(c.args, io.Discard)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v; want one containing %q", c.name, err, c.err)
		case c.name == "everything":
			if !slices.Equal(o.models, []string{"als", "pop"}) || o.folds != 3 || o.format != "json" || o.seed != 9 ||
				!slices.Equal(o.consentRates, []float64{1, 0.5, 0.2}) || !o.audit {
				t.Errorf("everything: %+v", o)
			}
		case c.name == "defaults":
			if !slices.Equal(o.models, []string{"pop", "cooc", "als"}) || o.folds != 5 || o.format != "table" || o.seed != 1 ||
				!slices.Equal(o.consentRates, []float64{1}) || o.audit {
				t.Errorf("defaults: %+v", o)
			}
		}
	}
}

// writeRatings writes a small synthetic u.data (and u.user) into a temporary
// directory: 30 users in 3 taste groups over 24 items.
func writeRatings(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	var data, users strings.Builder
	for u := 1; u <= 30; u++ {
		for i := 1; i <= 24; i++ {
			if i%3 == u%3 && (i+u)%4 != 0 || (i*7+u)%23 == 0 {
				fmt.Fprintf(&data, "%d\t%d\t%d\t%d\n", u, 100+i, 1+(u+i)%5, 880000000+u*100+i)
			}
		}
		g := "M"
		if u%2 == 0 {
			g = "F"
		}
		fmt.Fprintf(&users, "%d|%d|%s|other|00000\n", u, 18+u, g)
	}
	for name, content := range map[string]string{"u.data": data.String(), "u.user": users.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func TestEvalCommand(t *testing.T) {
	t.Parallel()
	dir := writeRatings(t)
	var stdout, stderr bytes.Buffer
	// ALS (and its 18-candidate grid) is exercised with a small grid in
	// engine/eval; here the command's wiring is what is under test.
	err := run(t.Context(), []string{"eval", "--dataset", dir, "--models", "pop,cooc", "--folds", "3", "--format", "json", "--consent-rate", "1,0.5", "--audit"},
		envOf(nil), &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var rep struct {
		Dataset  string
		Protocol string
		Results  []map[string]any
		Audit    []map[string]any
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if rep.Dataset != filepath.Base(dir) || !strings.Contains(rep.Protocol, "3-fold") || len(rep.Results) != 4 || len(rep.Audit) != 4 {
		t.Errorf("report: dataset %q, protocol %q, %d results, %d audits", rep.Dataset, rep.Protocol, len(rep.Results), len(rep.Audit))
	}
	for _, r := range rep.Results {
		if _, ok := r["ndcg@10"].(float64); !ok {
			t.Errorf("result without ndcg@10: %v", r)
		}
	}

	stdout.Reset()
	if err := run(t.Context(), []string{"eval", "--dataset", dir, "--models", "pop", "--folds", "2"}, envOf(nil), &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "NDCG@10") || !strings.Contains(stdout.String(), "pop") {
		t.Errorf("table:\n%s", stdout.String())
	}
}

func TestEvalCommandErrors(t *testing.T) {
	t.Parallel()
	dir := writeRatings(t)
	empty := t.TempDir()
	noUsers := t.TempDir()
	if err := os.WriteFile(filepath.Join(noUsers, "u.data"), []byte("1\t2\t3\t4\n2\t2\t3\t4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing directory", []string{"eval", "--dataset", filepath.Join(empty, "nope")}, "--dataset"},
		{"a file, not a directory", []string{"eval", "--dataset", filepath.Join(dir, "u.data")}, "not a directory"},
		{"no ratings file", []string{"eval", "--dataset", empty}, "no u.data"},
		{"audit without u.user", []string{"eval", "--dataset", noUsers, "--models", "pop", "--folds", "2", "--audit"}, "u.user"},
		{"gorse check off ml-100k figures", []string{"eval", "--dataset", dir, "--models", "pop", "--check-gorse"}, "does not reproduce"},
		{"bad flag", []string{"eval", "--dataset", dir, "--format", "xml"}, "--format"},
	}
	for _, c := range cases {
		err := run(t.Context(), c.args, envOf(nil), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
