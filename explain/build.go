package explain

import (
	"sort"
	"strconv"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
)

// Input is what one answer is explained from.
type Input struct {
	ID        string
	Pseudonym features.Pseudonym
	Surface   string
	Purpose   consent.Purpose
	View      *features.CustomerView
	Usable    *features.Usable
	Result    *engine.Result
	// SignalRetention names retention periods in "expired" notes.
	SignalRetention *features.Retention
	CreatedAt       time.Time
	ExpiresAt       time.Time
}

// Build explains every item of an answer. It only restates what the engine
// computed: each signal reason is one contribution, and the contributions of
// an item sum to its score.
func Build(in Input) *Recommendation {
	rec := &Recommendation{
		ID:            in.ID,
		Pseudonym:     in.Pseudonym,
		Surface:       in.Surface,
		Purpose:       in.Purpose.String(),
		PolicyVersion: in.View.Policy.Version,
		ModelVersion:  in.Result.ModelVersion,
		CreatedAt:     in.CreatedAt.UTC(),
		ExpiresAt:     in.ExpiresAt.UTC(),
		Personalized:  in.Result.Personalized(),
		Items:         make([]Item, 0, len(in.Result.Items)),
	}
	notUsed := notUsedNotes(in)
	for i := range in.Result.Items {
		scored := &in.Result.Items[i]
		it := Item{
			ItemID: scored.ItemID,
			Title:  title(in.View.Catalog, scored.ItemID),
			Score:  scored.Score,
			Model:  scored.Source.String(),
		}
		switch scored.Source {
		case engine.SourceCooccurrence:
			it.Explanation = personalExplanation(in, scored)
		default:
			it.Explanation = nonPersonalExplanation(in, scored)
		}
		it.Explanation.NotUsed = notUsed
		rec.Items = append(rec.Items, it)
	}
	return rec
}

func title(c *features.CatalogSnapshot, id string) string {
	if it := c.Item(id); it != nil {
		return it.Title
	}
	return id
}

func personalExplanation(in Input, scored *engine.Scored) Explanation {
	decision := in.View.Consent.Decisions[in.Purpose]
	ex := Explanation{Personalized: true, Reasons: make([]Reason, 0, len(scored.Contributions))}
	headline := -1
	for k, c := range scored.Contributions {
		sig := &in.Usable.Signals[c.Signal]
		itemTitle := title(in.View.Catalog, sig.ItemID)
		act := action(sig.Type, itemTitle, sig.Value)
		share := 0.0
		if scored.Score != 0 {
			share = c.Value / scored.Score
		}
		ex.Reasons = append(ex.Reasons, Reason{
			Kind:         KindSignal,
			SignalID:     sig.ID,
			SignalType:   sig.Type.String(),
			ItemID:       sig.ItemID,
			ItemTitle:    itemTitle,
			OccurredAt:   sig.OccurredAt,
			Purpose:      in.Purpose.String(),
			Contribution: c.Value,
			Share:        share,
			Text: render(reasonSignalText, map[string]any{
				"Action": act, "At": sig.OccurredAt, "Purpose": in.Purpose.String(),
				"ConsentAt": decision.UpdatedAt, "Notice": decision.NoticeVersion,
				"Contribution": c.Value, "Share": share,
			}),
			ConsentNoticeVersion: decision.NoticeVersion,
			ConsentGivenAt:       decision.UpdatedAt,
		})
		if headline < 0 && c.Value > 0 {
			headline = k
		}
	}
	if headline >= 0 {
		r := ex.Reasons[headline]
		sig := &in.Usable.Signals[scored.Contributions[headline].Signal]
		ex.Headline = render(headlineSignalText, map[string]any{
			"Action": action(sig.Type, r.ItemTitle, sig.Value), "At": r.OccurredAt,
		})
	}
	return ex
}

func nonPersonalExplanation(in Input, scored *engine.Scored) Explanation {
	decision := in.View.Consent.Decisions[in.Purpose]
	data := map[string]any{"Category": "", "Purpose": in.Purpose.String()}
	if it := in.View.Catalog.Item(scored.ItemID); it != nil && len(it.Categories) > 0 {
		data["Category"] = it.Categories[0]
	}
	data["Why"] = render(nonPersonalWhy[decision.Status], data)
	kind, text := KindPopularity, popularityText
	if scored.Source == engine.SourceCatalog {
		kind, text = KindCatalog, catalogText
	}
	sentence := render(text, data)
	return Explanation{
		Personalized: false,
		Headline:     sentence,
		Reasons:      []Reason{{Kind: kind, Text: sentence, Purpose: in.Purpose.String()}},
	}
}

// notUsedNotes counts what was left out, per signal type and reason.
func notUsedNotes(in Input) []NotUsedNote {
	type key struct {
		t consent.SignalType
		r features.Reason
	}
	counts := map[key]int{}
	for _, ex := range in.Usable.Excluded {
		counts[key{ex.Signal.Type, ex.Reason}]++
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].t != keys[j].t {
			return keys[i].t < keys[j].t
		}
		return keys[i].r < keys[j].r
	})
	status := in.View.Consent.Decisions[in.Purpose].Status
	notes := make([]NotUsedNote, 0, len(keys))
	for _, k := range keys {
		n := counts[k]
		data := map[string]any{
			"Count": n, "Purpose": in.Purpose.String(), "Plural": nouns[k.t][1],
			"Retention": retentionWords(in.SignalRetention.For(k.t)),
		}
		data["ConsentState"] = render(noConsentWhy[status], data)
		why := render(notUsedWhy[k.r], data)
		notes = append(notes, NotUsedNote{
			SignalType:   k.t.String(),
			DataCategory: k.t.Info().DataCategory,
			Reason:       k.r.String(),
			Count:        n,
			Text:         render(notUsedText, map[string]any{"Count": n, "Noun": noun(k.t, n), "Why": why}),
		})
	}
	return notes
}

func retentionWords(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	}
	return d.String()
}
