package grpcapi

import (
	"bytes"
	"encoding/json"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Rendering: domain values into API messages, in one place, for the
// services and the export document (Records).

func consentStates(state *consent.State) []*candorv1.ConsentState {
	out := make([]*candorv1.ConsentState, 0, consent.NumPurposes)
	for _, p := range consent.Purposes() {
		d := state.Decisions[p]
		cs := &candorv1.ConsentState{
			Purpose:          p.String(),
			Description:      p.Info().Description,
			Granted:          d.Granted(),
			Status:           d.Status.String(),
			SensitiveGranted: state.SensitiveGranted(p),
			NoticeVersion:    d.NoticeVersion,
			Method:           d.Method.String(),
			ConfirmedOverGpc: d.OverGPC,
		}
		if !d.UpdatedAt.IsZero() {
			cs.UpdatedAt = timestamppb.New(d.UpdatedAt)
		}
		out = append(out, cs)
	}
	return out
}

func ledgerEntry(e *consent.LedgerEntry) *candorv1.ConsentLedgerEntry {
	return &candorv1.ConsentLedgerEntry{
		RecordedAt:       timestamppb.New(e.RecordedAt),
		Purpose:          e.Purpose,
		Granted:          e.Granted,
		Sensitive:        e.Sensitive,
		NoticeVersion:    e.NoticeVersion,
		Method:           e.Method,
		ActorRole:        e.ActorRole,
		DeleteData:       e.DeleteData,
		ConfirmedOverGpc: e.OverGPC,
	}
}

func ledgerEntries(entries []consent.LedgerEntry) []*candorv1.ConsentLedgerEntry {
	out := make([]*candorv1.ConsentLedgerEntry, 0, len(entries))
	for i := range entries {
		out = append(out, ledgerEntry(&entries[i]))
	}
	return out
}

func controlToProto(c app.LabelledControl) *candorv1.Control {
	return &candorv1.Control{Kind: c.Kind.String(), Target: c.Target, Label: c.Label, SetAt: timestamppb.New(c.SetAt)}
}

func controlChange(c *features.ControlChange) *candorv1.ControlHistoryEntry {
	return &candorv1.ControlHistoryEntry{
		RecordedAt: timestamppb.New(c.RecordedAt), Action: c.Action, Kind: c.Kind.String(), Target: c.Target, ActorRole: c.ActorRole,
	}
}

// recommendation renders a stored answer: its first explain.MaxReasons
// signal reasons per item, or every reason.
func recommendation(a *explain.Answer, allReasons bool) *candorv1.Recommendation {
	if allReasons {
		return recommendationToProto(a.RenderAllReasons())
	}
	return recommendationToProto(a.Render())
}

// reviewCase renders a case with its recommendation and every reason (a
// reviewer needs them all). It never carries whose case it is.
func reviewCase(c *explain.Case) (*candorv1.ReviewCase, error) {
	a, err := c.Recommendation()
	if err != nil {
		return nil, err
	}
	return &candorv1.ReviewCase{
		CaseId: c.ID, RecommendationId: c.RecommendationID, Kind: c.Kind, Message: c.Message,
		Status: c.Status, Reply: c.Reply, CreatedAt: timestamppb.New(c.CreatedAt), UpdatedAt: timestamppb.New(c.UpdatedAt),
		Recommendation: recommendation(a, true),
	}, nil
}

func reviewCases(cases []*explain.Case) ([]*candorv1.ReviewCase, error) {
	out := make([]*candorv1.ReviewCase, 0, len(cases))
	for _, c := range cases {
		pc, err := reviewCase(c)
		if err != nil {
			return nil, err
		}
		out = append(out, pc)
	}
	return out, nil
}

func receipt(r app.Receipt) *candorv1.ErasureReceipt {
	out := &candorv1.ErasureReceipt{ReceiptId: r.ID, ErasedAt: timestamppb.New(r.ErasedAt), Counts: r.Counts}
	if !r.ModelTrainedAt.IsZero() {
		out.ModelTrainedAt = timestamppb.New(r.ModelTrainedAt)
	}
	out.ReflectedAtMostUntil = timestamppb.New(r.ReflectedAtMostUntil)
	out.ModelPending = r.ModelPending
	return out
}

func rankingSection(sec explain.Section) *candorv1.RankingSection {
	return &candorv1.RankingSection{Title: sec.Title, Paragraphs: sec.Paragraphs}
}

func itemFromProto(in *candorv1.Item) features.Item {
	return features.Item{
		ID:          in.GetItemId(),
		Title:       in.GetTitle(),
		Categories:  in.GetCategories(),
		Sensitive:   in.GetSensitive(),
		Promotional: in.GetPromotional(),
	}
}

func itemToProto(it *features.Item) *candorv1.Item {
	return &candorv1.Item{
		ItemId:      it.ID,
		Title:       it.Title,
		Categories:  it.Categories,
		Sensitive:   it.Sensitive,
		Promotional: it.Promotional,
		UpdatedAt:   timestamppb.New(it.UpdatedAt),
	}
}

func policyToProto(p *consent.Policy) *candorv1.SignalSetPolicy {
	out := &candorv1.SignalSetPolicy{Version: p.Version, AuthorRole: p.AuthorRole}
	if !p.CreatedAt.IsZero() {
		out.CreatedAt = timestamppb.New(p.CreatedAt)
	}
	for _, purpose := range consent.Purposes() {
		out.SignalSets = append(out.SignalSets, &candorv1.SignalSet{Purpose: purpose.String(), SignalTypes: p.Allowed[purpose].Names()})
	}
	return out
}

// Records encodes the export's records in the API's shapes (with the proto
// field names, as REST answers), so the export document and the API never
// disagree. The core's export uses it (app.Options.Records).
type Records struct{}

var _ app.ExportRecords = Records{}

var exportJSON = protojson.MarshalOptions{UseProtoNames: true}

// encode writes m compactly: protojson may put spaces of its choosing
// between tokens, and compact output keeps the document stable.
func encode(m proto.Message) ([]byte, error) {
	b, err := exportJSON.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(b))
	if err := json.Compact(&out, b); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Consents encodes one record per purpose.
func (Records) Consents(state *consent.State) ([][]byte, error) {
	states := consentStates(state)
	out := make([][]byte, len(states))
	for i, cs := range states {
		b, err := encode(cs)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// LedgerEntry encodes one consent ledger entry.
func (Records) LedgerEntry(e *consent.LedgerEntry) ([]byte, error) { return encode(ledgerEntry(e)) }

// Control encodes one control.
func (Records) Control(c app.LabelledControl) ([]byte, error) { return encode(controlToProto(c)) }

// ControlChange encodes one entry of the control history.
func (Records) ControlChange(c *features.ControlChange) ([]byte, error) {
	return encode(controlChange(c))
}

// Recommendation encodes a stored answer with every reason.
func (Records) Recommendation(a *explain.Answer) ([]byte, error) {
	return encode(recommendation(a, true))
}

// ReviewCase encodes a review case.
func (Records) ReviewCase(c *explain.Case) ([]byte, error) {
	pc, err := reviewCase(c)
	if err != nil {
		return nil, err
	}
	return encode(pc)
}

// RankingSection encodes a section of how ranking works.
func (Records) RankingSection(sec explain.Section) ([]byte, error) {
	return encode(rankingSection(sec))
}

// RecommendationMessage is the API's message of a stored answer, as
// GetRecommendation answers it (for the doors' tests and tools).
func RecommendationMessage(a *explain.Answer, allReasons bool) *candorv1.Recommendation {
	return recommendation(a, allReasons)
}
