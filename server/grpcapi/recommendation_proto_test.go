package grpcapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// TestRecommendationProtoGoldens keeps explain's goldens the API payload:
// each is the JSON of a rendered answer (explain.Rendered); converted to
// the API's Recommendation message, that answer marshals (protojson, proto
// field names) to exactly the same document.
func TestRecommendationProtoGoldens(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob(filepath.Join("..", "..", "explain", "testdata", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 10 {
		t.Fatalf("found %d goldens in explain/testdata, want the dozen explain writes", len(paths))
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var rendered explain.Rendered
			dec := json.NewDecoder(bytes.NewReader(want))
			dec.DisallowUnknownFields() // every field of the golden is one of Rendered's
			if err := dec.Decode(&rendered); err != nil {
				t.Fatal(err)
			}
			raw, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(recommendationToProto(&rendered))
			if err != nil {
				t.Fatal(err)
			}
			var compact, got bytes.Buffer
			if err := json.Compact(&compact, raw); err != nil {
				t.Fatal(err)
			}
			if err := json.Indent(&got, compact.Bytes(), "", "  "); err != nil {
				t.Fatal(err)
			}
			got.WriteByte('\n')
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("the API's message differs from the rendered answer:\n got %s\nwant %s", got.Bytes(), want)
			}
		})
	}
}

// testAnswer is an answer of n personal items, each moved by four signals,
// on the support surface (so every item has a compact form too).
func testAnswer(n int) *explain.Answer {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := &explain.Answer{
		ID: "rec_protoprotoprotoprotopro", Surface: "support", Purpose: consent.Support, PolicyVersion: 3, ModelVersion: "als-test",
		CreatedAt: at, ExpiresAt: at.Add(time.Hour),
		Consent:    consent.Decision{Status: consent.StatusGiven, UpdatedAt: at.Add(-time.Hour), NoticeVersion: "2026-02"},
		NotUsed:    []explain.NotUsedCount{{Type: consent.View, Reason: features.ReasonExpired, Count: 2, Retention: 90 * 24 * time.Hour}},
		Suppressed: []explain.CitedSignal{{ID: "sig_suppressed", Type: consent.Search, ItemID: "x", ItemTitle: "X", OccurredAt: at.Add(-48 * time.Hour)}},
	}
	for k := range 8 {
		a.Signals = append(a.Signals, explain.CitedSignal{
			ID: fmt.Sprintf("sig_%d", k), Type: consent.Purchase, ItemID: fmt.Sprintf("item_%d", k), ItemTitle: fmt.Sprintf("Item %d", k),
			OccurredAt: at.Add(-time.Duration(k+1) * 24 * time.Hour),
		})
	}
	for i := range n {
		it := explain.AnswerItem{ItemID: fmt.Sprintf("rec_item_%d", i), Title: fmt.Sprintf("Recommended %d", i), Score: 1, Source: engine.SourceALS}
		for k := range 4 {
			it.Contributions = append(it.Contributions, explain.Contribution{Signal: (i + k) % len(a.Signals), Value: 0.25})
		}
		a.Items = append(a.Items, it)
	}
	a.Items = append(a.Items, explain.AnswerItem{ItemID: "popular", Title: "Popular", Score: 0.5, Source: engine.SourcePopularity})
	return a
}

// TestRecommendationToProtoAllocations: the conversion allocates a fixed
// number of slabs whatever the answer's size (it is on the hot path).
func TestRecommendationToProtoAllocations(t *testing.T) {
	small, large := testAnswer(1).Render(), testAnswer(20).Render()
	allocs := func(r *explain.Rendered) float64 {
		return testing.AllocsPerRun(100, func() { _ = recommendationToProto(r) })
	}
	if s, l := allocs(small), allocs(large); s != l || l > 11 {
		t.Errorf("recommendationToProto allocates %v times for 2 items, %v for 21; want the same, at most 11", s, l)
	}
}

// TestRecommendationToProtoSharesNotes: the answer's not-used notes are
// converted once and shared by every item, as Render shares them.
func TestRecommendationToProtoSharesNotes(t *testing.T) {
	t.Parallel()
	rec := recommendationToProto(testAnswer(3).RenderAllReasons())
	if len(rec.GetNotUsed()) != 2 {
		t.Fatalf("%d notes, want 2: %v", len(rec.GetNotUsed()), rec.GetNotUsed())
	}
	for _, it := range rec.GetItems() {
		notes := it.GetExplanation().GetNotUsed()
		if len(notes) != 2 || notes[0] != rec.GetNotUsed()[0] {
			t.Errorf("item %s: notes %v, want the answer's", it.GetItemId(), notes)
		}
		if it.GetExplanation().GetCompact() == "" {
			t.Errorf("item %s: no compact form on the support surface", it.GetItemId())
		}
	}
	if got := rec.GetItems()[0].GetExplanation().GetReasons()[0]; !got.GetOccurredAt().AsTime().Equal(time.Date(2026, 2, 28, 12, 0, 0, 0, time.UTC)) ||
		!got.GetConsentGivenAt().AsTime().Equal(time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("first reason's times: %v, %v", got.GetOccurredAt().AsTime(), got.GetConsentGivenAt().AsTime())
	}
}

// BenchmarkRecommendationToProto converts a ten-item rendered answer.
func BenchmarkRecommendationToProto(b *testing.B) {
	r := testAnswer(10).Render()
	b.ReportAllocs()
	for b.Loop() {
		_ = recommendationToProto(r)
	}
}
