package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// The export: one JSON document with everything held about a customer,
// under the schema docs/export-schema.md describes. It is written a record
// at a time and sent in chunks of about exportChunk bytes, so a customer
// with a very long history is exported in bounded memory: signals are read
// from Redis a batch at a time (HSCAN) and never all held at once.

// ExportSchema names the version of the export document. A change that
// removes or renames a field, or changes its meaning, gets a new version.
const ExportSchema = "candor.export/v1"

// exportChunk is the size at which the document is sent on.
const exportChunk = 32 << 10

// exportFilename is what a browser saves the document as.
const exportFilename = "candor-export.json"

// exportedSignal is one stored signal, decrypted.
type exportedSignal struct {
	SignalID   string    `json:"signal_id"`
	Type       string    `json:"type"`
	ItemID     string    `json:"item_id"`
	ItemTitle  string    `json:"item_title,omitempty"`
	Value      float64   `json:"value,omitempty"`
	OccurredAt time.Time `json:"occurred_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Purposes   []string  `json:"purposes"`
	// Suppressed is true when the customer asked that it not be used.
	Suppressed bool `json:"suppressed"`
}

// exportWriter writes one JSON object field by field and list item by list
// item. Chunks are cut only between records: the REST gateway writes a
// newline after every chunk, which JSON allows there.
type exportWriter struct {
	send    func([]byte) error
	buf     bytes.Buffer
	fields  int // fields written in the document so far
	records int // records written in the open list
}

func (e *exportWriter) key(name string) {
	if e.fields == 0 {
		e.buf.WriteString("{\n")
	} else {
		e.buf.WriteString(",\n")
	}
	e.fields++
	quoted, _ := json.Marshal(name)
	e.buf.Write(quoted)
	e.buf.WriteString(": ")
}

// field writes one field with a single value.
func (e *exportWriter) field(name string, v any) error {
	e.key(name)
	return e.value(v)
}

func (e *exportWriter) openList(name string) {
	e.key(name)
	e.buf.WriteString("[")
	e.records = 0
}

// record appends a value to the open list.
func (e *exportWriter) record(v any) error {
	if e.records > 0 {
		e.buf.WriteString(",")
	}
	e.records++
	e.buf.WriteString("\n  ")
	if err := e.value(v); err != nil {
		return err
	}
	if e.buf.Len() >= exportChunk {
		return e.flush()
	}
	return nil
}

func (e *exportWriter) closeList() {
	if e.records > 0 {
		e.buf.WriteString("\n")
	}
	e.buf.WriteString("]")
}

// value writes proto messages with their proto field names (as the API
// answers) and anything else with encoding/json.
func (e *exportWriter) value(v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		b, err := json.Marshal(v) // compact already
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		e.buf.Write(b)
		return nil
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	// protojson output may hold spaces of its choosing; compact keeps the
	// document stable.
	if err := json.Compact(&e.buf, b); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// finish closes the document and sends what remains.
func (e *exportWriter) finish() error {
	e.buf.WriteString("\n}\n")
	return e.flush()
}

func (e *exportWriter) flush() error {
	if e.buf.Len() == 0 {
		return nil
	}
	// send may keep the slice (gRPC marshals it before returning, but a
	// copy keeps the buffer ours whatever the transport does).
	chunk := bytes.Clone(e.buf.Bytes())
	e.buf.Reset()
	return e.send(chunk)
}

// ExportCustomerData streams the customer's export.
func (s *rightsService) ExportCustomerData(req *candorv1.ExportCustomerDataRequest, stream grpc.ServerStreamingServer[httpbody.HttpBody]) error {
	ctx := stream.Context()
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return err
	}
	if err := stream.SetHeader(metadata.Pairs("content-disposition", `attachment; filename="`+exportFilename+`"`)); err != nil {
		return s.status(ctx, "ExportCustomerData", err)
	}
	w := &exportWriter{send: func(b []byte) error {
		return stream.Send(&httpbody.HttpBody{ContentType: "application/json", Data: b})
	}}
	if err := s.export(ctx, req.GetCustomerId(), w); err != nil {
		return s.status(ctx, "ExportCustomerData", err)
	}
	return nil
}

// export writes the whole document. Everything small is read before the
// first byte is sent, so the common failures (the store unreachable) answer
// with a proper error status rather than a cut document.
func (a *app) export(ctx context.Context, customerID string, w *exportWriter) error {
	return a.exportOf(ctx, a.pseudonyms.Pseudonym(customerID), customerID, w)
}

// exportOf writes the document of the customer p, under the id the caller
// knows them by (empty for a caller that knows only the pseudonym, such as
// the privacy center).
func (a *app) exportOf(ctx context.Context, p features.Pseudonym, customerID string, w *exportWriter) error {
	now := a.now().UTC()
	state, err := a.store.Consent(ctx, p)
	if err != nil {
		return err
	}
	controls, err := a.store.Controls(ctx, p)
	if err != nil {
		return err
	}
	catalog, err := a.catalog.Current(ctx)
	if err != nil {
		return err
	}
	policy, err := a.policies.Current(ctx)
	if err != nil {
		return err
	}
	cases, err := a.reviews.Customer(ctx, p)
	if err != nil {
		return err
	}

	if err := w.field("schema", ExportSchema); err != nil {
		return err
	}
	if err := w.field("exported_at", now.Format(time.RFC3339Nano)); err != nil {
		return err
	}
	if err := w.field("customer_id", customerID); err != nil {
		return err
	}

	w.openList("consents")
	for _, cs := range consentStates(&state) {
		if err := w.record(cs); err != nil {
			return err
		}
	}
	w.closeList()

	w.openList("consent_history")
	if err := a.store.EachLedgerEntry(ctx, p, func(e consent.LedgerEntry) error { return w.record(ledgerEntry(&e)) }); err != nil {
		return err
	}
	w.closeList()

	w.openList("signals")
	retention := a.store.Retention()
	err = a.store.EachSignal(ctx, p, func(sig features.Signal) error {
		out := exportedSignal{
			SignalID: sig.ID, Type: sig.Type.String(), ItemID: sig.ItemID, Value: sig.Value,
			OccurredAt: sig.OccurredAt.UTC(), ExpiresAt: retention.Expiry(&sig).UTC(),
			Purposes: sig.Purposes.Names(), Suppressed: controls.SuppressedSignal(sig.ID),
		}
		if it := catalog.Item(sig.ItemID); it != nil {
			out.ItemTitle = it.Title
		}
		return w.record(out)
	})
	if err != nil {
		return err
	}
	w.closeList()

	w.openList("controls")
	for _, c := range controls.List() {
		pc := &candorv1.Control{Kind: c.Kind.String(), Target: c.Target, SetAt: timestamppb.New(c.SetAt), Label: exportControlLabel(c, catalog)}
		if err := w.record(pc); err != nil {
			return err
		}
	}
	w.closeList()

	w.openList("control_history")
	err = a.store.EachControlChange(ctx, p, func(c features.ControlChange) error {
		return w.record(&candorv1.ControlHistoryEntry{
			RecordedAt: timestamppb.New(c.RecordedAt), Action: c.Action, Kind: c.Kind.String(), Target: c.Target, ActorRole: c.ActorRole,
		})
	})
	if err != nil {
		return err
	}
	w.closeList()

	w.openList("recommendations")
	if err := a.explanations.Each(ctx, p, now, func(ans *explain.Answer) error { return w.record(recommendationToProto(ans.RenderAllReasons())) }); err != nil {
		return err
	}
	w.closeList()

	w.openList("review_cases")
	for _, c := range cases {
		pc, err := caseToProto(c)
		if err != nil {
			return err
		}
		if err := w.record(pc); err != nil {
			return err
		}
	}
	w.closeList()

	w.openList("how_ranking_works")
	for _, sec := range explain.RankingDescription(a.rankingFacts(policy)) {
		if err := w.record(&candorv1.RankingSection{Title: sec.Title, Paragraphs: sec.Paragraphs}); err != nil {
			return err
		}
	}
	w.closeList()
	return w.finish()
}

// exportControlLabel names a control's target without loading the
// customer's signals (a signal control names a signal of the "signals"
// list by its id).
func exportControlLabel(c features.Control, catalog *features.CatalogSnapshot) string {
	switch c.Kind {
	case features.ControlSignal:
		return "the signal " + c.Target
	case features.ControlItem:
		if it := catalog.Item(c.Target); it != nil {
			return it.Title
		}
		return c.Target
	default:
		return "everything in " + c.Target
	}
}
