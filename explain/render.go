package explain

import (
	"math"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
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

// Render turns an answer's facts into the API's Recommendation message, with
// every explanation in words: the first MaxReasons signal reasons of each
// item.
func (a *Answer) Render() *candorv1.Recommendation { return a.render(MaxReasons) }

// RenderAllReasons is Render with every signal reason spelled out.
func (a *Answer) RenderAllReasons() *candorv1.Recommendation { return a.render(math.MaxInt) }

func (a *Answer) render(maxReasons int) *candorv1.Recommendation {
	rec := &candorv1.Recommendation{
		RecommendationId: a.ID,
		Personalized:     a.Personalized(),
		Surface:          a.Surface,
		Purpose:          a.Purpose.String(),
		PolicyVersion:    a.PolicyVersion,
		ModelVersion:     a.ModelVersion,
		CreatedAt:        timestamppb.New(a.CreatedAt),
		ExpiresAt:        timestamppb.New(a.ExpiresAt),
		Items:            make([]*candorv1.RecommendedItem, len(a.Items)),
	}
	r := renderer{a: a, notUsed: a.renderNotUsed(), sentences: make([]string, len(a.Signals)), maxReasons: maxReasons}
	rec.NotUsed = r.notUsed
	for i := range a.Items {
		it := &a.Items[i]
		out := &candorv1.RecommendedItem{ItemId: it.ItemID, Title: it.Title, Score: it.Score, Model: it.Source.String()}
		if it.Source.Personal() {
			out.Explanation, out.Contributions = r.personal(it)
		} else {
			out.Explanation = r.nonPersonal(it)
		}
		out.Explanation.NotUsed = r.notUsed
		if a.Surface == "support" {
			out.Explanation.Compact = r.compact(it)
		}
		rec.Items[i] = out
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
	notUsed    []*candorv1.NotUsedNote
	maxReasons int
	// sentences caches each cited signal's item-independent sentence.
	sentences []string
}

func (r *renderer) personal(it *AnswerItem) (*candorv1.Explanation, []*candorv1.SignalContribution) {
	// One allocation for all of an item's contribution messages.
	slab := make([]candorv1.SignalContribution, len(it.Contributions))
	contributions := make([]*candorv1.SignalContribution, len(it.Contributions))
	for k, c := range it.Contributions {
		slab[k].SignalId, slab[k].Contribution = r.a.Signals[c.Signal].ID, c.Value
		contributions[k] = &slab[k]
	}
	ex := &candorv1.Explanation{Personalized: true}
	for k, c := range it.Contributions {
		if k == r.maxReasons {
			ex.MoreReasons = int32(len(it.Contributions) - r.maxReasons)
			break
		}
		ex.Reasons = append(ex.Reasons, r.signalReason(c, it.Score))
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

func (r *renderer) signalReason(c Contribution, score float64) *candorv1.Reason {
	sig := &r.a.Signals[c.Signal]
	purpose := r.a.Purpose.String()
	if r.sentences[c.Signal] == "" {
		r.sentences[c.Signal] = signalSentence(sig.Type, sig.ItemTitle, sig.Value, sig.OccurredAt, r.a.Purpose, r.a.Consent)
	}
	share := 0.0
	if score != 0 {
		share = c.Value / score
	}
	reason := &candorv1.Reason{
		Kind:                 KindSignal,
		Text:                 r.sentences[c.Signal] + contributionSentence(c.Value, share),
		SignalId:             sig.ID,
		SignalType:           sig.Type.String(),
		ItemId:               sig.ItemID,
		ItemTitle:            sig.ItemTitle,
		OccurredAt:           timestamppb.New(sig.OccurredAt),
		Purpose:              purpose,
		Contribution:         c.Value,
		Share:                share,
		ConsentNoticeVersion: r.a.Consent.NoticeVersion,
	}
	if !r.a.Consent.UpdatedAt.IsZero() {
		reason.ConsentGivenAt = timestamppb.New(r.a.Consent.UpdatedAt)
	}
	return reason
}

func (r *renderer) nonPersonal(it *AnswerItem) *candorv1.Explanation {
	catalogFill := it.Source == engine.SourceCatalog
	kind := KindPopularity
	if catalogFill {
		kind = KindCatalog
	}
	sentence := nonPersonalSentence(catalogFill, it.Category, r.a.Purpose, r.a.Consent.Status)
	return &candorv1.Explanation{
		Personalized: false,
		Headline:     sentence,
		Reasons:      []*candorv1.Reason{{Kind: kind, Text: sentence, Purpose: r.a.Purpose.String()}},
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
func (a *Answer) renderNotUsed() []*candorv1.NotUsedNote {
	notes := make([]*candorv1.NotUsedNote, 0, len(a.Suppressed)+len(a.NotUsed)+1)
	for _, s := range a.Suppressed {
		notes = append(notes, &candorv1.NotUsedNote{
			SignalType:   s.Type.String(),
			DataCategory: s.Type.Info().DataCategory,
			Reason:       features.ReasonSuppressed.String(),
			Count:        1,
			Text:         suppressedSentence(s.Type, s.ItemTitle, s.OccurredAt),
			SignalId:     s.ID,
		})
	}
	for _, n := range a.NotUsed {
		notes = append(notes, &candorv1.NotUsedNote{
			SignalType:   n.Type.String(),
			DataCategory: n.Type.Info().DataCategory,
			Reason:       n.Reason.String(),
			Count:        int32(n.Count),
			Text:         notUsedSentence(n.Type, n.Reason, n.Count, a.Purpose, n.Retention, a.Consent.Status),
		})
	}
	if a.NotInterestedItems+a.NotInterestedCategories > 0 {
		notes = append(notes, &candorv1.NotUsedNote{
			Reason: "not_interested",
			Count:  int32(a.NotInterestedItems + a.NotInterestedCategories),
			Text:   notInterestedSentence(a.NotInterestedItems, a.NotInterestedCategories),
		})
	}
	return notes
}
