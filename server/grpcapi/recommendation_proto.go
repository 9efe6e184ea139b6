package grpcapi

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/explain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// recommendationToProto is the API's Recommendation message of a rendered
// answer, field for field. It is on the hot path of every
// GetRecommendations, so the messages of one kind share one allocation
// (a slab) across the whole answer rather than one allocation each; the
// not-used notes, shared by the answer and each of its items, are converted
// once.
func recommendationToProto(r *explain.Rendered) *candorv1.Recommendation {
	if r == nil {
		return nil
	}
	var nReasons, nContributions, nTimes int
	nTimes = 2 // created_at, expires_at
	for i := range r.Items {
		it := &r.Items[i]
		nReasons += len(it.Explanation.Reasons)
		nContributions += len(it.Contributions)
		for k := range it.Explanation.Reasons {
			nTimes += reasonTimes(&it.Explanation.Reasons[k])
		}
	}
	times := make([]timestamppb.Timestamp, nTimes)
	stamp := func(t time.Time) *timestamppb.Timestamp {
		ts := &times[0] // as timestamppb.New(t)
		ts.Seconds, ts.Nanos = t.Unix(), int32(t.Nanosecond())
		times = times[1:]
		return ts
	}

	rec := &candorv1.Recommendation{
		RecommendationId: r.RecommendationID,
		Personalized:     r.Personalized,
		Surface:          r.Surface,
		Purpose:          r.Purpose,
		PolicyVersion:    r.PolicyVersion,
		ModelVersion:     r.ModelVersion,
		CreatedAt:        stamp(r.CreatedAt),
		ExpiresAt:        stamp(r.ExpiresAt),
		NotUsed:          notUsedToProto(r.NotUsed),
	}
	if len(r.Items) == 0 {
		return rec
	}
	items := make([]candorv1.RecommendedItem, len(r.Items))
	explanations := make([]candorv1.Explanation, len(r.Items))
	reasons := make([]candorv1.Reason, nReasons)
	contributions := make([]candorv1.SignalContribution, nContributions)
	// One backing array each for every item's pointer lists; each item
	// gets a capped window of it, so appending to one never touches the
	// next.
	reasonPtrs := make([]*candorv1.Reason, nReasons)
	contributionPtrs := make([]*candorv1.SignalContribution, nContributions)
	rec.Items = make([]*candorv1.RecommendedItem, len(r.Items))
	for i := range r.Items {
		in, out, ex := &r.Items[i], &items[i], &explanations[i]
		out.ItemId, out.Title, out.Score, out.Model = in.ItemID, in.Title, in.Score, in.Model

		inEx := &in.Explanation
		ex.Personalized, ex.Headline, ex.MoreReasons, ex.Compact = inEx.Personalized, inEx.Headline, inEx.MoreReasons, inEx.Compact
		ex.NotUsed = rec.NotUsed
		if !sameNotes(inEx.NotUsed, r.NotUsed) {
			ex.NotUsed = notUsedToProto(inEx.NotUsed)
		}
		if n := len(inEx.Reasons); n > 0 {
			ex.Reasons = reasonPtrs[:n:n]
			reasonPtrs = reasonPtrs[n:]
			for k := range inEx.Reasons {
				src, dst := &inEx.Reasons[k], &reasons[k]
				dst.Kind, dst.Text, dst.Purpose = src.Kind, src.Text, src.Purpose
				dst.SignalId, dst.SignalType, dst.ItemId, dst.ItemTitle = src.SignalID, src.SignalType, src.ItemID, src.ItemTitle
				dst.Contribution, dst.Share, dst.ConsentNoticeVersion = src.Contribution, src.Share, src.ConsentNoticeVersion
				if src.Kind == explain.KindSignal {
					dst.OccurredAt = stamp(src.OccurredAt)
				}
				if !src.ConsentGivenAt.IsZero() {
					dst.ConsentGivenAt = stamp(src.ConsentGivenAt)
				}
				ex.Reasons[k] = dst
			}
			reasons = reasons[n:]
		}
		out.Explanation = ex

		if n := len(in.Contributions); n > 0 {
			out.Contributions = contributionPtrs[:n:n]
			contributionPtrs = contributionPtrs[n:]
			for k, c := range in.Contributions {
				contributions[k].SignalId, contributions[k].Contribution = c.SignalID, c.Contribution
				out.Contributions[k] = &contributions[k]
			}
			contributions = contributions[n:]
		}
		rec.Items[i] = out
	}
	return rec
}

// reasonTimes counts the timestamps recommendationToProto sets on a reason.
func reasonTimes(r *explain.Reason) int {
	n := 0
	if r.Kind == explain.KindSignal {
		n++
	}
	if !r.ConsentGivenAt.IsZero() {
		n++
	}
	return n
}

// sameNotes reports whether two lists of notes are one (Render shares the
// answer's list with every item).
func sameNotes(a, b []explain.NotUsedNote) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// notUsedToProto converts the answer's not-used notes, in one allocation for
// the messages.
func notUsedToProto(notes []explain.NotUsedNote) []*candorv1.NotUsedNote {
	if len(notes) == 0 {
		return nil
	}
	slab := make([]candorv1.NotUsedNote, len(notes))
	out := make([]*candorv1.NotUsedNote, len(notes))
	for k, n := range notes {
		slab[k].SignalType, slab[k].DataCategory, slab[k].Reason = n.SignalType, n.DataCategory, n.Reason
		slab[k].Count, slab[k].Text, slab[k].SignalId = n.Count, n.Text, n.SignalID
		out[k] = &slab[k]
	}
	return out
}
