package explain

import (
	"math"
	"time"

	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
)

// MaxReasons is how many signal reasons an item's explanation spells out;
// every contribution is listed beside the score regardless.
const MaxReasons = 3

// Reason kinds.
const (
	KindSignal     = "signal"
	KindPopularity = "popularity"
	KindCatalog    = "catalog"
)

// Rendered is an answer with every explanation in words: what the API's
// Recommendation message says, field for field, in plain Go types (the doors
// translate it; explain imports no transport). The JSON tags give the API's
// field names, so its JSON form is the API payload.
type Rendered struct {
	RecommendationID string `json:"recommendation_id,omitempty"`
	// Personalized is true when at least one item was ranked from the
	// customer's own data.
	Personalized bool           `json:"personalized,omitempty"`
	Items        []RenderedItem `json:"items,omitempty"`
	Surface      string         `json:"surface,omitempty"`
	// Purpose is the purpose the surface served, e.g. "personalization".
	Purpose string `json:"purpose,omitempty"`
	// PolicyVersion is the version of the signal-set policy that applied.
	PolicyVersion int64 `json:"policy_version,omitempty,string"`
	// ModelVersion is the version of the item model that ranked the items.
	ModelVersion string    `json:"model_version,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	// ExpiresAt is when the stored explanation will be deleted.
	ExpiresAt time.Time `json:"expires_at"`
	// NotUsed is what was left out of this answer, per data category, and
	// why (also on every item's explanation, so that each stands alone).
	NotUsed []NotUsedNote `json:"not_used,omitempty"`
}

// RenderedItem is one result with its score and explanation.
type RenderedItem struct {
	ItemID string `json:"item_id,omitempty"`
	Title  string `json:"title,omitempty"`
	// Score is the ranking score: for personal models the exact sum of the
	// contributions; for "popularity" the item's popularity relative to the
	// most popular item (0 to 1).
	Score float64 `json:"score,omitempty"`
	// Model is the model that placed the item (engine.Source).
	Model       string      `json:"model,omitempty"`
	Explanation Explanation `json:"explanation"`
	// Contributions are the exact contribution of every signal that moved
	// the item, largest magnitude first; they sum to Score. Empty when the
	// item was not ranked from personal data.
	Contributions []SignalContribution `json:"contributions,omitempty"`
}

// SignalContribution is one signal's exact share of a score.
type SignalContribution struct {
	SignalID     string  `json:"signal_id,omitempty"`
	Contribution float64 `json:"contribution,omitempty"`
}

// Explanation says why an item is there, what moved it and by how much, and
// what was not used.
type Explanation struct {
	// Personalized is false when no personal data was used for this item.
	Personalized bool `json:"personalized,omitempty"`
	// Headline is one plain sentence.
	Headline string `json:"headline,omitempty"`
	// Reasons are the first MaxReasons signal reasons (all of them from
	// RenderAllReasons), largest contribution first.
	Reasons []Reason `json:"reasons,omitempty"`
	// NotUsed is the answer's list (shared, not copied).
	NotUsed []NotUsedNote `json:"not_used,omitempty"`
	// MoreReasons counts the further signals that moved the item; their
	// contributions are in RenderedItem.Contributions.
	MoreReasons int32 `json:"more_reasons,omitempty"`
	// Compact is a short form that fits one chat bubble; set on the support
	// surface.
	Compact string `json:"compact,omitempty"`
}

// Reason is one thing that moved an item.
type Reason struct {
	// Kind is KindSignal (one of the customer's signals), KindPopularity or
	// KindCatalog (neither based on the customer's personal data).
	Kind string `json:"kind,omitempty"`
	// Text is the reason in words a customer can read.
	Text       string `json:"text,omitempty"`
	SignalID   string `json:"signal_id,omitempty"`
	SignalType string `json:"signal_type,omitempty"`
	// ItemID and ItemTitle name the item the signal was about (not the
	// recommended item).
	ItemID     string    `json:"item_id,omitempty"`
	ItemTitle  string    `json:"item_title,omitempty"`
	OccurredAt time.Time `json:"occurred_at,omitzero"`
	// Purpose is the purpose the signal was used under.
	Purpose string `json:"purpose,omitempty"`
	// Contribution is the exact amount this signal added to the score.
	Contribution float64 `json:"contribution,omitempty"`
	// Share is Contribution divided by the score.
	Share float64 `json:"share,omitempty"`
	// ConsentNoticeVersion and ConsentGivenAt are the consent the use rests
	// on (ConsentGivenAt is zero when the decision has no date).
	ConsentNoticeVersion string    `json:"consent_notice_version,omitempty"`
	ConsentGivenAt       time.Time `json:"consent_given_at,omitzero"`
}

// NotUsedNote says what was left out of the answer and why: the signals of
// one type left out for one reason, one signal the customer asked not to
// use, or the items and categories they marked not interested.
type NotUsedNote struct {
	// SignalType is empty for "not_interested".
	SignalType string `json:"signal_type,omitempty"`
	// DataCategory is the fideslang data category, e.g.
	// "user.behavior.browsing_history".
	DataCategory string `json:"data_category,omitempty"`
	// Reason is a features.Reason's name or "not_interested".
	Reason string `json:"reason,omitempty"`
	Count  int32  `json:"count,omitempty"`
	Text   string `json:"text,omitempty"`
	// SignalID is set for "suppressed": the signal.
	SignalID string `json:"signal_id,omitempty"`
}

// Render turns an answer's facts into its rendered form, with every
// explanation in words: the first MaxReasons signal reasons of each item.
func (a *Answer) Render() *Rendered { return a.render(MaxReasons) }

// RenderAllReasons is Render with every signal reason spelled out.
func (a *Answer) RenderAllReasons() *Rendered { return a.render(math.MaxInt) }

func (a *Answer) render(maxReasons int) *Rendered {
	rec := &Rendered{
		RecommendationID: a.ID,
		Personalized:     a.Personalized(),
		Surface:          a.Surface,
		Purpose:          a.Purpose.String(),
		PolicyVersion:    a.PolicyVersion,
		ModelVersion:     a.ModelVersion,
		CreatedAt:        a.CreatedAt.UTC(),
		ExpiresAt:        a.ExpiresAt.UTC(),
		Items:            make([]RenderedItem, len(a.Items)),
	}
	r := renderer{a: a, notUsed: a.renderNotUsed(), sentences: make([]string, len(a.Signals)), maxReasons: maxReasons}
	rec.NotUsed = r.notUsed
	for i := range a.Items {
		it := &a.Items[i]
		out := &rec.Items[i]
		out.ItemID, out.Title, out.Score, out.Model = it.ItemID, it.Title, it.Score, it.Source.String()
		if it.Source.Personal() {
			out.Explanation, out.Contributions = r.personal(it)
		} else {
			out.Explanation = r.nonPersonal(it)
		}
		out.Explanation.NotUsed = r.notUsed
		if a.Surface == "support" {
			out.Explanation.Compact = r.compact(it)
		}
	}
	return rec
}

// Personalized reports whether any item was ranked from personal data.
func (a *Answer) Personalized() bool {
	for i := range a.Items {
		if a.Items[i].Source.Personal() {
			return true
		}
	}
	return false
}

type renderer struct {
	a          *Answer
	notUsed    []NotUsedNote
	maxReasons int
	// sentences caches each cited signal's item-independent sentence.
	sentences []string
}

func (r *renderer) personal(it *AnswerItem) (Explanation, []SignalContribution) {
	// One allocation for all of an item's contributions.
	contributions := make([]SignalContribution, len(it.Contributions))
	for k, c := range it.Contributions {
		contributions[k] = SignalContribution{SignalID: r.a.Signals[c.Signal].ID, Contribution: c.Value}
	}
	ex := Explanation{Personalized: true}
	if n := min(len(it.Contributions), r.maxReasons); n > 0 {
		ex.Reasons = make([]Reason, n)
		for k, c := range it.Contributions[:n] {
			r.signalReason(&ex.Reasons[k], c, it.Score)
		}
	}
	if len(it.Contributions) > r.maxReasons {
		ex.MoreReasons = int32(len(it.Contributions) - r.maxReasons)
	}
	// The headline names the largest positive contribution (contributions
	// are sorted by magnitude, so a negative one may come first).
	for _, c := range it.Contributions {
		if c.Value > 0 {
			sig := &r.a.Signals[c.Signal]
			ex.Headline = headline(sig.Type, sig.ItemTitle, sig.Value, sig.OccurredAt)
			break
		}
	}
	return ex, contributions
}

// signalReason fills in the reason of one contribution to an item's score.
func (r *renderer) signalReason(reason *Reason, c Contribution, score float64) {
	sig := &r.a.Signals[c.Signal]
	if r.sentences[c.Signal] == "" {
		r.sentences[c.Signal] = signalSentence(sig.Type, sig.ItemTitle, sig.Value, sig.OccurredAt, r.a.Purpose, r.a.Consent)
	}
	share := 0.0
	if score != 0 {
		share = c.Value / score
	}
	*reason = Reason{
		Kind:                 KindSignal,
		Text:                 r.sentences[c.Signal] + contributionSentence(c.Value, share),
		SignalID:             sig.ID,
		SignalType:           sig.Type.String(),
		ItemID:               sig.ItemID,
		ItemTitle:            sig.ItemTitle,
		OccurredAt:           sig.OccurredAt.UTC(),
		Purpose:              r.a.Purpose.String(),
		Contribution:         c.Value,
		Share:                share,
		ConsentNoticeVersion: r.a.Consent.NoticeVersion,
	}
	if !r.a.Consent.UpdatedAt.IsZero() {
		reason.ConsentGivenAt = r.a.Consent.UpdatedAt.UTC()
	}
}

func (r *renderer) nonPersonal(it *AnswerItem) Explanation {
	catalogFill := it.Source == engine.SourceCatalog
	kind := KindPopularity
	if catalogFill {
		kind = KindCatalog
	}
	sentence := nonPersonalSentence(catalogFill, it.Category, r.a.Purpose, r.a.Consent.Status)
	return Explanation{
		Personalized: false,
		Headline:     sentence,
		Reasons:      []Reason{{Kind: kind, Text: sentence, Purpose: r.a.Purpose.String()}},
	}
}

// compact is the one-bubble form of an item's explanation (support chat).
func (r *renderer) compact(it *AnswerItem) string {
	for _, c := range it.Contributions {
		if c.Value > 0 {
			sig := &r.a.Signals[c.Signal]
			return compactSentence(true, false, sig.Type, sig.ItemTitle, sig.Value, sig.OccurredAt, "")
		}
	}
	return compactSentence(false, it.Source == engine.SourceCatalog, 0, "", 0, time.Time{}, it.Category)
}

// renderNotUsed lists what was left out: first the signals the customer
// asked us not to use, then counts per type and reason, then the
// not-interested controls.
func (a *Answer) renderNotUsed() []NotUsedNote {
	notes := make([]NotUsedNote, 0, len(a.Suppressed)+len(a.NotUsed)+1)
	for _, s := range a.Suppressed {
		notes = append(notes, NotUsedNote{
			SignalType:   s.Type.String(),
			DataCategory: s.Type.Info().DataCategory,
			Reason:       features.ReasonSuppressed.String(),
			Count:        1,
			Text:         suppressedSentence(s.Type, s.ItemTitle, s.OccurredAt),
			SignalID:     s.ID,
		})
	}
	for _, n := range a.NotUsed {
		notes = append(notes, NotUsedNote{
			SignalType:   n.Type.String(),
			DataCategory: n.Type.Info().DataCategory,
			Reason:       n.Reason.String(),
			Count:        int32(n.Count),
			Text:         notUsedSentence(n.Type, n.Reason, n.Count, a.Purpose, n.Retention, a.Consent.Status),
		})
	}
	if a.NotInterestedItems+a.NotInterestedCategories > 0 {
		notes = append(notes, NotUsedNote{
			Reason: "not_interested",
			Count:  int32(a.NotInterestedItems + a.NotInterestedCategories),
			Text:   notInterestedSentence(a.NotInterestedItems, a.NotInterestedCategories),
		})
	}
	return notes
}
