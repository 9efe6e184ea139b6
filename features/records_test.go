package features

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
)

var recordTime = time.Date(2026, time.May, 17, 10, 11, 12, 345_000_000, time.UTC)

func sampleSignals() []Signal {
	return []Signal{
		{ID: "sig_a", Type: consent.View, ItemID: "sku-1", Purposes: consent.NewPurposeSet(consent.Personalization), OccurredAt: recordTime, ExpiresAt: recordTime.Add(90 * 24 * time.Hour)},
		{ID: "sig_b", Type: consent.Rating, ItemID: "книга/٣", Purposes: consent.NewPurposeSet(consent.Purposes()...), OccurredAt: recordTime, ExpiresAt: recordTime.Add(time.Hour), Value: 4.5},
		{ID: "sig_c", Type: consent.SupportTicket, ItemID: strings.Repeat("x", MaxItemIDLen), Purposes: consent.NewPurposeSet(consent.Support), OccurredAt: time.UnixMilli(-86_400_123).UTC(), ExpiresAt: time.UnixMilli(0).UTC()},
		{ID: "", Type: consent.SignalType(consent.NumSignalTypes - 1), ItemID: "i", Purposes: 0, OccurredAt: time.UnixMilli(math.MaxInt64).UTC(), ExpiresAt: time.UnixMilli(math.MinInt64).UTC(), Value: math.Copysign(0, -1)},
	}
}

func sampleDecisions() []consent.Decision {
	return []consent.Decision{
		{Status: consent.StatusGiven, SensitiveGranted: true, UpdatedAt: recordTime, NoticeVersion: "v1", Method: consent.MethodUI},
		{Status: consent.StatusGiven, UpdatedAt: recordTime, NoticeVersion: "v2", Method: consent.MethodUI, OverGPC: true},
		{Status: consent.StatusWithdrawn, UpdatedAt: recordTime, NoticeVersion: strings.Repeat("n", consent.MaxNoticeVersionLen), Method: consent.MethodGPC},
		{Status: consent.StatusRefused, UpdatedAt: time.UnixMilli(-1).UTC(), NoticeVersion: "", Method: consent.MethodImport},
		{Status: consent.StatusUnknown, UpdatedAt: time.UnixMilli(0).UTC()},
	}
}

func TestSignalRoundTrip(t *testing.T) {
	t.Parallel()
	for _, want := range sampleSignals() {
		b := encodeSignal(&want)
		got, err := decodeSignal(want.ID, b)
		if err != nil {
			t.Fatalf("decodeSignal(encodeSignal(%+v)): %v", want, err)
		}
		if got.ID != want.ID || got.Type != want.Type || got.ItemID != want.ItemID || got.Purposes != want.Purposes ||
			!got.OccurredAt.Equal(want.OccurredAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
			math.Float64bits(got.Value) != math.Float64bits(want.Value) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
		}
		if got.OccurredAt.Location() != time.UTC || got.ExpiresAt.Location() != time.UTC {
			t.Errorf("decoded times are not UTC: %v, %v", got.OccurredAt.Location(), got.ExpiresAt.Location())
		}
		if again := encodeSignal(&got); !bytes.Equal(again, b) {
			t.Errorf("re-encoding differs:\n%x\n%x", again, b)
		}
	}
}

func TestDecisionRoundTrip(t *testing.T) {
	t.Parallel()
	for _, want := range sampleDecisions() {
		b := encodeDecision(&want)
		got, err := decodeDecision(b)
		if err != nil {
			t.Fatalf("decodeDecision(encodeDecision(%+v)): %v", want, err)
		}
		if got.Status != want.Status || got.SensitiveGranted != want.SensitiveGranted || got.Method != want.Method ||
			got.NoticeVersion != want.NoticeVersion || !got.UpdatedAt.Equal(want.UpdatedAt) || got.UpdatedAt.Location() != time.UTC {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
		}
		if again := encodeDecision(&got); !bytes.Equal(again, b) {
			t.Errorf("re-encoding differs:\n%x\n%x", again, b)
		}
	}
}

// mutate returns a copy of b changed by fn.
func mutate(b []byte, fn func(b []byte) []byte) []byte {
	return fn(append([]byte(nil), b...))
}

func TestDecodeSignalRejects(t *testing.T) {
	t.Parallel()
	valid := encodeSignal(&sampleSignals()[0]) // item "sku-1": length byte at 27
	if _, err := decodeSignal("sig_a", valid); err != nil {
		t.Fatalf("the valid encoding does not decode: %v", err)
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"version 0", mutate(valid, func(b []byte) []byte { b[0] = 0; return b })},
		{"version 2", mutate(valid, func(b []byte) []byte { b[0] = 2; return b })},
		{"unknown type", mutate(valid, func(b []byte) []byte { b[1] = byte(consent.NumSignalTypes); return b })},
		{"type 255", mutate(valid, func(b []byte) []byte { b[1] = 0xff; return b })},
		{"unknown purpose bit", mutate(valid, func(b []byte) []byte { b[2] |= 1 << consent.NumPurposes; return b })},
		{"trailing byte", mutate(valid, func(b []byte) []byte { return append(b, 'x') })},
		{"item length too long for the data", mutate(valid, func(b []byte) []byte { b[27]++; return b })},
		{"item length too short for the data", mutate(valid, func(b []byte) []byte { b[27]--; return b })},
		{"empty item id", mutate(valid, func(b []byte) []byte { return append(b[:27], 0) })},
		{"item id over the limit", func() []byte {
			s := sampleSignals()[0]
			s.ItemID = strings.Repeat("x", MaxItemIDLen+1)
			return encodeSignal(&s)
		}()},
		{"unterminated length varint", mutate(valid, func(b []byte) []byte { return append(b[:27], 0x80) })},
		{"overflowing length varint", mutate(valid, func(b []byte) []byte {
			return append(b[:27], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
		})},
	}
	// Every truncation of a valid encoding.
	for n := range len(valid) {
		tests = append(tests, struct {
			name string
			b    []byte
		}{fmt.Sprintf("truncated to %d bytes", n), valid[:n]})
	}
	for _, tt := range tests {
		s, err := decodeSignal("sig_a", tt.b)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: decodeSignal = %+v, %v; want ErrCorrupt", tt.name, s, err)
		}
	}
}

func TestDecodeDecisionRejects(t *testing.T) {
	t.Parallel()
	valid := encodeDecision(&sampleDecisions()[0]) // notice "v1": length byte at 12
	if _, err := decodeDecision(valid); err != nil {
		t.Fatalf("the valid encoding does not decode: %v", err)
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"version 0", mutate(valid, func(b []byte) []byte { b[0] = 0; return b })},
		{"version 2", mutate(valid, func(b []byte) []byte { b[0] = 2; return b })},
		{"unknown status", mutate(valid, func(b []byte) []byte { b[1] = 4; return b })},
		{"unknown flag 4", mutate(valid, func(b []byte) []byte { b[2] = 4; return b })},
		{"trailing byte", mutate(valid, func(b []byte) []byte { return append(b, 'x') })},
		{"notice length too long for the data", mutate(valid, func(b []byte) []byte { b[12]++; return b })},
		{"notice over the limit", func() []byte {
			d := sampleDecisions()[0]
			d.NoticeVersion = strings.Repeat("n", consent.MaxNoticeVersionLen+1)
			return encodeDecision(&d)
		}()},
		{"unterminated length varint", mutate(valid, func(b []byte) []byte { return append(b[:12], 0x80) })},
	}
	for n := range len(valid) {
		tests = append(tests, struct {
			name string
			b    []byte
		}{fmt.Sprintf("truncated to %d bytes", n), valid[:n]})
	}
	for _, tt := range tests {
		d, err := decodeDecision(tt.b)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: decodeDecision = %+v, %v; want ErrCorrupt", tt.name, d, err)
		}
	}
}

// Stored records are authenticated by the codec, but the decoders still
// accept exactly one encoding per record: anything else is ErrCorrupt.
func TestDecodeRejectsNonMinimalLength(t *testing.T) {
	t.Parallel()
	sig := encodeSignal(&sampleSignals()[0])
	// "sku-1" has length 5: 0x05. 0x85 0x00 is 5 as well, in two bytes.
	sigLong := append(append(append([]byte(nil), sig[:27]...), 0x85, 0x00), sig[28:]...)
	if s, err := decodeSignal("sig_a", sigLong); !errors.Is(err, ErrCorrupt) {
		t.Errorf("decodeSignal accepted a non-minimal item length: %+v, %v", s, err)
	}
	dec := encodeDecision(&sampleDecisions()[0])
	decLong := append(append(append([]byte(nil), dec[:12]...), 0x82, 0x00), dec[13:]...)
	if d, err := decodeDecision(decLong); !errors.Is(err, ErrCorrupt) {
		t.Errorf("decodeDecision accepted a non-minimal notice length: %+v, %v", d, err)
	}
}

func FuzzDecodeSignal(f *testing.F) {
	for _, s := range sampleSignals() {
		f.Add(encodeSignal(&s))
	}
	f.Add([]byte{recordVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSignal("sig_fuzz", b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeSignal error %v is not ErrCorrupt", err)
			}
			return
		}
		if !s.Type.Valid() || !s.Purposes.Valid() || s.ItemID == "" || len(s.ItemID) > MaxItemIDLen || s.ID != "sig_fuzz" {
			t.Fatalf("decodeSignal accepted an impossible signal: %+v", s)
		}
		if again := encodeSignal(&s); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding a decoded signal differs:\n in %x\nout %x", b, again)
		}
	})
}

func FuzzDecodeDecision(f *testing.F) {
	for _, d := range sampleDecisions() {
		f.Add(encodeDecision(&d))
	}
	f.Add([]byte{recordVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeDecision(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeDecision error %v is not ErrCorrupt", err)
			}
			return
		}
		if !d.Status.Valid() || len(d.NoticeVersion) > consent.MaxNoticeVersionLen {
			t.Fatalf("decodeDecision accepted an impossible decision: %+v", d)
		}
		if again := encodeDecision(&d); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding a decoded decision differs:\n in %x\nout %x", b, again)
		}
	})
}

func TestLedgerEntryRoundTrip(t *testing.T) {
	t.Parallel()
	want := consent.LedgerEntry{RecordedAt: recordTime, Purpose: "support", Granted: true, Sensitive: true, NoticeVersion: "v2", Method: "api", ActorRole: "support_agent"}
	got, err := decodeLedgerEntry(encodeLedgerEntry(&want))
	if err != nil || got != want {
		t.Errorf("round trip = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range [][]byte{nil, []byte("{"), []byte(`{"granted":"yes"}`)} {
		if _, err := decodeLedgerEntry(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decodeLedgerEntry(%q) error = %v, want ErrCorrupt", bad, err)
		}
	}
}
