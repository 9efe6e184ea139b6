package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// The export: one JSON document with everything held about a customer,
// under the schema docs/export-schema.md describes. It is written a record
// at a time and sent in chunks of about exportChunk bytes, so a customer
// with a very long history is exported in bounded memory: signals are read
// from Redis a batch at a time (HSCAN) and never all held at once. The
// records that the API also returns (consents, ledger entries, controls,
// answers, cases, ranking sections) are in the API's own shapes, encoded by
// the ExportRecords the gRPC adapter provides, so the document and the API
// never disagree.

// ExportSchema names the version of the export document. A change that
// removes or renames a field, or changes its meaning, gets a new version.
const ExportSchema = "candor.export/v1"

// ExportFilename is what a browser saves the document as.
const ExportFilename = "candor-export.json"

// exportChunk is the size at which the document is sent on.
const exportChunk = 32 << 10

// ExportRecords encodes the export's records as compact JSON in the API's
// shapes.
type ExportRecords interface {
	Consents(*consent.State) ([][]byte, error)
	LedgerEntry(*consent.LedgerEntry) ([]byte, error)
	Control(LabelledControl) ([]byte, error)
	ControlChange(*features.ControlChange) ([]byte, error)
	Recommendation(*explain.Answer) ([]byte, error)
	ReviewCase(*explain.Case) ([]byte, error)
	RankingSection(explain.Section) ([]byte, error)
}

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

// Export writes the customer's export document to send, chunk by chunk.
// Everything small is read before the first byte is sent, so the common
// failures (the store unreachable) are errors before anything was sent
// rather than a cut document; started reports whether send was called.
func (a *App) Export(ctx context.Context, who Actor, customerID string, send func([]byte) error) (started bool, err error) {
	p, err := a.customer(ctx, OpExportCustomerData, who, customerID)
	if err != nil {
		return false, err
	}
	if a.records == nil {
		return false, errors.New("app: export: no record encoder configured")
	}
	w := &exportWriter{records: a.records, send: func(b []byte) error { started = true; return send(b) }}
	err = a.export(ctx, p, customerID, w)
	return started, err
}

func (a *App) export(ctx context.Context, p features.Pseudonym, customerID string, w *exportWriter) error {
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

	w.field("schema", ExportSchema)
	w.field("exported_at", now.Format(time.RFC3339Nano))
	w.field("customer_id", customerID)

	w.openList("consents")
	consents, err := w.records.Consents(&state)
	if err != nil {
		return err
	}
	for _, cs := range consents {
		if err := w.raw(cs); err != nil {
			return err
		}
	}
	w.closeList()

	w.openList("consent_history")
	if err := a.store.EachLedgerEntry(ctx, p, func(e consent.LedgerEntry) error { return w.record(w.records.LedgerEntry(&e)) }); err != nil {
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
		return w.record(json.Marshal(out))
	})
	if err != nil {
		return err
	}
	w.closeList()

	w.openList("controls")
	for _, c := range controls.List() {
		if err := w.record(w.records.Control(LabelledControl{Control: c, Label: exportControlLabel(c, catalog)})); err != nil {
			return err
		}
	}
	w.closeList()

	w.openList("control_history")
	err = a.store.EachControlChange(ctx, p, func(c features.ControlChange) error { return w.record(w.records.ControlChange(&c)) })
	if err != nil {
		return err
	}
	w.closeList()

	w.openList("recommendations")
	if err := a.explanations.Each(ctx, p, now, func(ans *explain.Answer) error { return w.record(w.records.Recommendation(ans)) }); err != nil {
		return err
	}
	w.closeList()

	w.openList("review_cases")
	for _, c := range cases {
		if err := w.record(w.records.ReviewCase(c)); err != nil {
			return err
		}
	}
	w.closeList()

	w.openList("how_ranking_works")
	for _, sec := range explain.RankingDescription(a.rankingFacts(policy)) {
		if err := w.record(w.records.RankingSection(sec)); err != nil {
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

// exportWriter writes one JSON object field by field and list item by list
// item. Chunks are cut only between records: the REST gateway writes a
// newline after every chunk, which JSON allows there.
type exportWriter struct {
	records ExportRecords
	send    func([]byte) error
	buf     bytes.Buffer
	fields  int // fields written in the document so far
	items   int // records written in the open list
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

// field writes one field with a string value.
func (e *exportWriter) field(name, v string) {
	e.key(name)
	quoted, _ := json.Marshal(v)
	e.buf.Write(quoted)
}

func (e *exportWriter) openList(name string) {
	e.key(name)
	e.buf.WriteString("[")
	e.items = 0
}

// record appends an encoded record to the open list.
func (e *exportWriter) record(b []byte, err error) error {
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return e.raw(b)
}

func (e *exportWriter) raw(b []byte) error {
	if e.items > 0 {
		e.buf.WriteString(",")
	}
	e.items++
	e.buf.WriteString("\n  ")
	e.buf.Write(b)
	if e.buf.Len() >= exportChunk {
		return e.flush()
	}
	return nil
}

func (e *exportWriter) closeList() {
	if e.items > 0 {
		e.buf.WriteString("\n")
	}
	e.buf.WriteString("]")
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
