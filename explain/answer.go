package explain

import (
	"slices"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
)

// Answer holds the facts of one answer: everything its explanations are
// rendered from, and nothing more. It is what is stored under the
// recommendation id (compactly encoded, sealed); the wording is rendered from
// it when the answer is returned and again when it is read back, so a stored
// explanation says what the original said.
type Answer struct {
	ID            string
	Surface       string
	Purpose       consent.Purpose
	PolicyVersion int64
	ModelVersion  string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	// Consent is the customer's decision for Purpose when the answer was
	// made: the consent each signal reason rests on.
	Consent consent.Decision
	// Signals are the signals cited by any item, in the order they are first
	// cited (item by item, largest contribution first).
	Signals []CitedSignal
	Items   []AnswerItem
	NotUsed []NotUsedCount
	// Suppressed are the signals left out because the customer asked us
	// not to use them; each gets its own note.
	Suppressed []CitedSignal
	// NotInterestedItems and NotInterestedCategories count the customer's
	// "not interested" controls, which kept items out of the answer.
	NotInterestedItems, NotInterestedCategories int
}

// CitedSignal is a usable signal that moved at least one item.
type CitedSignal struct {
	ID         string
	Type       consent.SignalType
	ItemID     string
	ItemTitle  string
	OccurredAt time.Time
	Value      float64
}

// AnswerItem is one result.
type AnswerItem struct {
	ItemID   string
	Title    string
	Category string // the item's first category, named by non-personal reasons
	Score    float64
	Source   engine.Source
	// Contributions index Answer.Signals; largest magnitude first; they
	// sum to Score for personal sources (co-occurrence, ALS) and are empty
	// otherwise.
	Contributions []Contribution
}

// Contribution is one cited signal's exact share of an item's score.
type Contribution struct {
	Signal int // index into Answer.Signals
	Value  float64
}

// NotUsedCount counts the signals of one type left out for one reason.
type NotUsedCount struct {
	Type   consent.SignalType
	Reason features.Reason
	Count  int
	// Retention is the type's retention period, named by "expired" notes.
	Retention time.Duration
}

// Input is what one answer is explained from.
type Input struct {
	ID      string
	Surface string
	Purpose consent.Purpose
	View    *features.CustomerView
	Usable  *features.Usable
	Result  *engine.Result
	// SignalRetention names retention periods in "expired" notes.
	SignalRetention *features.Retention
	CreatedAt       time.Time
	ExpiresAt       time.Time
}

// Build collects the facts of an answer. It only restates what the engine
// computed: each contribution is the engine's, for a usable signal.
func Build(in Input) *Answer {
	a := &Answer{
		ID:            in.ID,
		Surface:       in.Surface,
		Purpose:       in.Purpose,
		PolicyVersion: in.View.Policy.Version,
		ModelVersion:  in.Result.ModelVersion,
		CreatedAt:     in.CreatedAt.UTC(),
		ExpiresAt:     in.ExpiresAt.UTC(),
		Consent:       in.View.Consent.Decisions[in.Purpose],
		Items:         make([]AnswerItem, len(in.Result.Items)),
	}
	cited := map[int]int{} // usable index -> Answer.Signals index
	for i := range in.Result.Items {
		scored := &in.Result.Items[i]
		it := AnswerItem{ItemID: scored.ItemID, Title: scored.ItemID, Score: scored.Score, Source: scored.Source}
		if item := in.View.Catalog.Item(scored.ItemID); item != nil {
			it.Title = item.Title
			if len(item.Categories) > 0 {
				it.Category = item.Categories[0]
			}
		}
		if len(scored.Contributions) > 0 {
			it.Contributions = make([]Contribution, len(scored.Contributions))
		}
		for k, c := range scored.Contributions {
			idx, ok := cited[c.Signal]
			if !ok {
				idx = len(a.Signals)
				cited[c.Signal] = idx
				a.Signals = append(a.Signals, citedSignal(in.View.Catalog, &in.Usable.Signals[c.Signal]))
			}
			it.Contributions[k] = Contribution{Signal: idx, Value: c.Value}
		}
		a.Items[i] = it
	}
	a.NotUsed = notUsedCounts(in)
	for _, ex := range in.Usable.Excluded {
		if ex.Reason == features.ReasonSuppressed {
			a.Suppressed = append(a.Suppressed, citedSignal(in.View.Catalog, ex.Signal))
		}
	}
	slices.SortFunc(a.Suppressed, func(x, y CitedSignal) int { return x.OccurredAt.Compare(y.OccurredAt) })
	a.NotInterestedItems = in.View.Controls.Count(features.ControlItem)
	a.NotInterestedCategories = in.View.Controls.Count(features.ControlCategory)
	return a
}

func citedSignal(c *features.CatalogSnapshot, sig *features.Signal) CitedSignal {
	title := sig.ItemID
	if item := c.Item(sig.ItemID); item != nil {
		title = item.Title
	}
	return CitedSignal{ID: sig.ID, Type: sig.Type, ItemID: sig.ItemID, ItemTitle: title, OccurredAt: sig.OccurredAt, Value: sig.Value}
}

// notUsedCounts counts what was left out, per signal type and reason, in
// type then reason order.
func notUsedCounts(in Input) []NotUsedCount {
	retention := in.SignalRetention
	if retention == nil {
		retention = features.DefaultRetention()
	}
	var counts []NotUsedCount
	for _, ex := range in.Usable.Excluded {
		if ex.Reason == features.ReasonSuppressed {
			continue // a note per signal instead (Answer.Suppressed)
		}
		i := slices.IndexFunc(counts, func(c NotUsedCount) bool { return c.Type == ex.Signal.Type && c.Reason == ex.Reason })
		if i < 0 {
			counts = append(counts, NotUsedCount{Type: ex.Signal.Type, Reason: ex.Reason, Retention: retention.For(ex.Signal.Type)})
			i = len(counts) - 1
		}
		counts[i].Count++
	}
	slices.SortFunc(counts, func(a, b NotUsedCount) int {
		if a.Type != b.Type {
			return int(a.Type) - int(b.Type)
		}
		return int(a.Reason) - int(b.Reason)
	})
	return counts
}
