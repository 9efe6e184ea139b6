package explain

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
)

// The stored form of an answer is a compact binary encoding (a few KB for ten
// items with fifty contributions each), sealed by the codec. The first byte
// is the format version; decoding rejects anything it does not understand.

// Format 2 added the suppressed signals and the not-interested counts;
// format 1 records decode with none.
const answerFormat = 2

var errCorrupt = errors.New("corrupt answer")

func encodeAnswer(p features.Pseudonym, a *Answer) []byte {
	var w writer
	w.byte(answerFormat)
	w.string(string(p))
	w.string(a.ID)
	w.string(a.Surface)
	w.byte(byte(a.Purpose))
	w.uvarint(uint64(a.PolicyVersion))
	w.string(a.ModelVersion)
	w.time(a.CreatedAt)
	w.time(a.ExpiresAt)
	w.byte(byte(a.Consent.Status))
	w.bool(a.Consent.SensitiveGranted)
	w.byte(byte(a.Consent.Method))
	w.time(a.Consent.UpdatedAt)
	w.string(a.Consent.NoticeVersion)
	w.uvarint(uint64(len(a.Signals)))
	for _, s := range a.Signals {
		w.signal(s)
	}
	w.uvarint(uint64(len(a.Items)))
	for _, it := range a.Items {
		w.string(it.ItemID)
		w.string(it.Title)
		w.string(it.Category)
		w.float(it.Score)
		w.byte(byte(it.Source))
		w.uvarint(uint64(len(it.Contributions)))
		for _, c := range it.Contributions {
			w.uvarint(uint64(c.Signal))
			w.float(c.Value)
		}
	}
	w.uvarint(uint64(len(a.NotUsed)))
	for _, n := range a.NotUsed {
		w.byte(byte(n.Type))
		w.byte(byte(n.Reason))
		w.uvarint(uint64(n.Count))
		w.uvarint(uint64(n.Retention / time.Millisecond))
	}
	w.uvarint(uint64(len(a.Suppressed)))
	for _, s := range a.Suppressed {
		w.signal(s)
	}
	w.uvarint(uint64(a.NotInterestedItems))
	w.uvarint(uint64(a.NotInterestedCategories))
	return w.b
}

func decodeAnswer(b []byte) (features.Pseudonym, *Answer, error) {
	r := reader{b: b}
	format := r.byte()
	if format != 1 && format != answerFormat {
		return "", nil, errCorrupt
	}
	p := features.Pseudonym(r.string())
	a := &Answer{
		ID:            r.string(),
		Surface:       r.string(),
		Purpose:       consent.Purpose(r.byte()),
		PolicyVersion: int64(r.uvarint()),
		ModelVersion:  r.string(),
		CreatedAt:     r.time(),
		ExpiresAt:     r.time(),
	}
	a.Consent = consent.Decision{
		Status:           consent.Status(r.byte()),
		SensitiveGranted: r.bool(),
		Method:           consent.Method(r.byte()),
		UpdatedAt:        r.time(),
		NoticeVersion:    r.string(),
	}
	if !a.Purpose.Valid() || !a.Consent.Status.Valid() {
		return "", nil, errCorrupt
	}
	n := r.count()
	a.Signals = make([]CitedSignal, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		s := r.signal()
		if !s.Type.Valid() {
			return "", nil, errCorrupt
		}
		a.Signals = append(a.Signals, s)
	}
	n = r.count()
	a.Items = make([]AnswerItem, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		it := AnswerItem{ItemID: r.string(), Title: r.string(), Category: r.string(), Score: r.float(), Source: engine.Source(r.byte())}
		if it.Source.String() == "" {
			return "", nil, errCorrupt
		}
		m := r.count()
		for k := 0; k < m && r.err == nil; k++ {
			idx := r.uvarint()
			if idx >= uint64(len(a.Signals)) { // before int(): a huge index must not wrap negative
				return "", nil, errCorrupt
			}
			c := Contribution{Signal: int(idx), Value: r.float()}
			it.Contributions = append(it.Contributions, c)
		}
		a.Items = append(a.Items, it)
	}
	n = r.count()
	for i := 0; i < n && r.err == nil; i++ {
		nu := NotUsedCount{Type: consent.SignalType(r.byte()), Reason: features.Reason(r.byte()), Count: int(r.uvarint()), Retention: time.Duration(r.uvarint()) * time.Millisecond}
		if !nu.Type.Valid() || nu.Reason.String() == "" {
			return "", nil, errCorrupt
		}
		a.NotUsed = append(a.NotUsed, nu)
	}
	if format >= 2 {
		n = r.count()
		for i := 0; i < n && r.err == nil; i++ {
			s := r.signal()
			if !s.Type.Valid() {
				return "", nil, errCorrupt
			}
			a.Suppressed = append(a.Suppressed, s)
		}
		a.NotInterestedItems, a.NotInterestedCategories = int(r.uvarint()), int(r.uvarint())
	}
	if r.err != nil || len(r.b) != 0 {
		return "", nil, errCorrupt
	}
	return p, a, nil
}

type writer struct{ b []byte }

func (w *writer) byte(v byte)      { w.b = append(w.b, v) }
func (w *writer) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) float(v float64)  { w.b = binary.BigEndian.AppendUint64(w.b, math.Float64bits(v)) }
func (w *writer) time(t time.Time) { w.b = binary.AppendVarint(w.b, t.UnixMilli()) }
func (w *writer) string(s string)  { w.uvarint(uint64(len(s))); w.b = append(w.b, s...) }
func (w *writer) bool(v bool) {
	if v {
		w.byte(1)
	} else {
		w.byte(0)
	}
}

func (w *writer) signal(s CitedSignal) {
	w.string(s.ID)
	w.byte(byte(s.Type))
	w.string(s.ItemID)
	w.string(s.ItemTitle)
	w.time(s.OccurredAt)
	w.float(s.Value)
}

// reader decodes what writer wrote; the first failure sticks in err and every
// later read returns a zero value.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() { r.err, r.b = errCorrupt, nil }

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) bool() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail()
	return false
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length, bounded by the bytes left (every element takes at
// least one), so corrupt input cannot make decoding allocate without limit.
func (r *reader) count() int {
	v := r.uvarint()
	if v > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(v)
}

func (r *reader) float() float64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := math.Float64frombits(binary.BigEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *reader) time() time.Time {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return time.Time{}
	}
	r.b = r.b[n:]
	return time.UnixMilli(v).UTC()
}

func (r *reader) signal() CitedSignal {
	return CitedSignal{ID: r.string(), Type: consent.SignalType(r.byte()), ItemID: r.string(), ItemTitle: r.string(), OccurredAt: r.time(), Value: r.float()}
}

func (r *reader) string() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
