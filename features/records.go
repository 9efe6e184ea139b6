package features

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"time"

	"github.com/candorhq/candor/consent"
)

// Stored records are small binary encodings (before sealing by the Codec).
// The first byte is the format version; decoding rejects anything it does not
// understand with ErrCorrupt rather than guessing.

const recordVersion = 1

// encodeSignal encodes everything but the id (the id is the hash field).
func encodeSignal(s *Signal) []byte {
	b := make([]byte, 0, 3+8*3+binary.MaxVarintLen16+len(s.ItemID))
	b = append(b, recordVersion, byte(s.Type), byte(s.Purposes))
	b = binary.BigEndian.AppendUint64(b, uint64(s.OccurredAt.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, uint64(s.ExpiresAt.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(s.Value))
	b = binary.AppendUvarint(b, uint64(len(s.ItemID)))
	return append(b, s.ItemID...)
}

func decodeSignal(id string, b []byte) (Signal, error) {
	const fixed = 3 + 8*3
	if len(b) < fixed+1 || b[0] != recordVersion {
		return Signal{}, ErrCorrupt
	}
	s := Signal{
		ID:         id,
		Type:       consent.SignalType(b[1]),
		Purposes:   consent.PurposeSet(b[2]),
		OccurredAt: time.UnixMilli(int64(binary.BigEndian.Uint64(b[3:11]))).UTC(),
		ExpiresAt:  time.UnixMilli(int64(binary.BigEndian.Uint64(b[11:19]))).UTC(),
		Value:      math.Float64frombits(binary.BigEndian.Uint64(b[19:27])),
	}
	n, k := binary.Uvarint(b[fixed:])
	if k <= 0 || k != uvarintLen(n) || n == 0 || n > MaxItemIDLen || uint64(len(b)-fixed-k) != n {
		return Signal{}, ErrCorrupt
	}
	s.ItemID = string(b[fixed+k:])
	if !s.Type.Valid() || !s.Purposes.Valid() {
		return Signal{}, ErrCorrupt
	}
	return s, nil
}

// The flags of an encoded decision.
const (
	flagSensitive = 1 << iota
	flagOverGPC
)

func encodeDecision(d *consent.Decision) []byte {
	b := make([]byte, 0, 4+8+binary.MaxVarintLen16+len(d.NoticeVersion))
	var flags byte
	if d.SensitiveGranted {
		flags |= flagSensitive
	}
	if d.OverGPC {
		flags |= flagOverGPC
	}
	b = append(b, recordVersion, byte(d.Status), flags, byte(d.Method))
	b = binary.BigEndian.AppendUint64(b, uint64(d.UpdatedAt.UnixMilli()))
	b = binary.AppendUvarint(b, uint64(len(d.NoticeVersion)))
	return append(b, d.NoticeVersion...)
}

func decodeDecision(b []byte) (consent.Decision, error) {
	const fixed = 4 + 8
	if len(b) < fixed+1 || b[0] != recordVersion || b[2]&^(flagSensitive|flagOverGPC) != 0 {
		return consent.Decision{}, ErrCorrupt
	}
	d := consent.Decision{
		Status:           consent.Status(b[1]),
		SensitiveGranted: b[2]&flagSensitive != 0,
		OverGPC:          b[2]&flagOverGPC != 0,
		Method:           consent.Method(b[3]),
		UpdatedAt:        time.UnixMilli(int64(binary.BigEndian.Uint64(b[4:12]))).UTC(),
	}
	n, k := binary.Uvarint(b[fixed:])
	if k <= 0 || k != uvarintLen(n) || n > consent.MaxNoticeVersionLen || uint64(len(b)-fixed-k) != n || !d.Status.Valid() || (d.Method != consent.MethodUnspecified && !d.Method.Valid()) {
		return consent.Decision{}, ErrCorrupt
	}
	d.NoticeVersion = string(b[fixed+k:])
	return d, nil
}

// uvarintLen is the length of the one encoding the decoders accept for n:
// binary.Uvarint also reads padded forms (0x85 0x00 for 5), which would give
// one record several encodings.
func uvarintLen(n uint64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], n)
}

func encodeLedgerEntry(e *consent.LedgerEntry) []byte {
	b, err := json.Marshal(e)
	if err != nil {
		panic("features: ledger entry does not encode: " + err.Error())
	}
	return b
}

func decodeLedgerEntry(b []byte) (consent.LedgerEntry, error) {
	var e consent.LedgerEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return e, ErrCorrupt
	}
	return e, nil
}
