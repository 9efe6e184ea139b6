package features

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/internal/fault"
)

// Erasure, export and rectification of one customer's data. A customer's
// keys all share one hash tag, so erasing them is one transaction in one
// slot; what lives under global keys (stored recommendations, review cases)
// is found through the customer's own indexes and deleted by its owner
// package first (explain), so an interrupted erasure can always be run again.

// Held counts what is held about a customer, per kind.
type Held struct {
	Signals         int64
	ConsentDecision int64
	LedgerEntries   int64
	Controls        int64
	ControlChanges  int64
	// RecommendationIDs and ReviewIDs index the customer's records under
	// global keys (ReviewIDs are the case ids, unsealed from the index).
	RecommendationIDs []string
	ReviewIDs         []string
}

// HeldKinds names the kinds Held counts, in the order receipts and pages
// list them.
var HeldKinds = []string{"signals", "consent_decisions", "ledger_entries", "controls", "control_changes", "recommendations", "review_cases"}

// Counts returns the counts by kind (see HeldKinds).
func (h Held) Counts() map[string]int64 {
	return map[string]int64{
		"signals":           h.Signals,
		"consent_decisions": h.ConsentDecision,
		"ledger_entries":    h.LedgerEntries,
		"controls":          h.Controls,
		"control_changes":   h.ControlChanges,
		"recommendations":   int64(len(h.RecommendationIDs)),
		"review_cases":      int64(len(h.ReviewIDs)),
	}
}

// Held reads the counts and the indexes of global records, in one round
// trip.
func (s *Store) Held(ctx context.Context, p Pseudonym) (Held, error) {
	keys := s.keys.Customer(p)
	var signals, consent, controls *redis.IntCmd
	var ledger, changes *redis.IntCmd
	var recs *redis.StringSliceCmd
	var reviews *redis.MapStringStringCmd
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		signals = pipe.HLen(ctx, keys.Signals)
		consent = pipe.HLen(ctx, keys.Consent)
		controls = pipe.HLen(ctx, keys.Controls)
		ledger = pipe.LLen(ctx, keys.Ledger)
		changes = pipe.LLen(ctx, keys.ControlLog)
		recs = pipe.ZRange(ctx, keys.Recommendations, 0, -1)
		reviews = pipe.HGetAll(ctx, keys.Reviews)
		return nil
	})
	if err != nil {
		return Held{}, fmt.Errorf("features.Held: %w", err)
	}
	reviewIDs := make([]string, 0, len(reviews.Val()))
	for field, sealed := range reviews.Val() {
		id, err := s.codec.Open([]byte(sealed), keys.Reviews, field)
		if err != nil {
			return Held{}, fmt.Errorf("features.Held: review index: %w", err)
		}
		reviewIDs = append(reviewIDs, string(id))
	}
	return Held{
		Signals: signals.Val(), ConsentDecision: consent.Val(), LedgerEntries: ledger.Val(),
		Controls: controls.Val(), ControlChanges: changes.Val(),
		RecommendationIDs: recs.Val(), ReviewIDs: reviewIDs,
	}, nil
}

// EraseCustomerKeys deletes every key of the customer, in one transaction.
// Records under global keys must have been deleted before (see Held).
func (s *Store) EraseCustomerKeys(ctx context.Context, p Pseudonym) error {
	keys := s.keys.Customer(p)
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, keys.All()...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("features.EraseCustomerKeys: %w", err)
	}
	return nil
}

// Receipt records an erasure. It holds no personal data: a random id, the
// time, counts, and the state of the item model.
type Receipt struct {
	ID       string           `json:"receipt_id"`
	ErasedAt time.Time        `json:"erased_at"`
	Counts   map[string]int64 `json:"counts"`
	// ModelTrainedAt is when the item model in use was trained (the ALS
	// model's time when there is one); ReflectedAtMostUntil is when every
	// server has replaced the models trained before the erasure, at the
	// latest.
	ModelTrainedAt       time.Time `json:"model_trained_at,omitzero"`
	ReflectedAtMostUntil time.Time `json:"reflected_at_most_until,omitzero"`
}

// SaveReceipt keeps a receipt for the privacy officer, newest first.
func (s *Store) SaveReceipt(ctx context.Context, r Receipt) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("features.SaveReceipt: %w", err)
	}
	if err := s.rdb.LPush(ctx, s.keys.ErasureReceipts(), raw).Err(); err != nil {
		return fmt.Errorf("features.SaveReceipt: %w", err)
	}
	return nil
}

// Receipts returns up to limit receipts from offset, newest first, and the
// total.
func (s *Store) Receipts(ctx context.Context, offset, limit int64) ([]Receipt, int64, error) {
	raw, total, err := s.listRange(ctx, s.keys.ErasureReceipts(), offset, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("features.Receipts: %w", err)
	}
	out := make([]Receipt, 0, len(raw))
	for _, r := range raw {
		var rec Receipt
		if err := json.Unmarshal([]byte(r), &rec); err != nil {
			return nil, 0, fmt.Errorf("features.Receipts: %w", ErrCorrupt)
		}
		out = append(out, rec)
	}
	return out, total, nil
}

// EachSignal calls fn with every stored signal of the customer, a batch at a
// time (HSCAN), so that a customer with a very large history is read without
// holding it all in memory. Signals may come in any order.
func (s *Store) EachSignal(ctx context.Context, p Pseudonym, fn func(Signal) error) error {
	key := s.keys.Customer(p).Signals
	var cursor uint64
	seen := newIDSet("sig_") // HSCAN may return a field twice during a rehash
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		kv, next, err := s.rdb.HScan(ctx, key, cursor, "", 1000).Result()
		if err != nil {
			return fmt.Errorf("features.EachSignal: %w", err)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if !seen.add(kv[i]) {
				continue
			}
			plain, err := s.codec.Open([]byte(kv[i+1]), key, kv[i])
			if err != nil {
				return fmt.Errorf("features.EachSignal: %w", err)
			}
			sig, err := decodeSignal(kv[i], plain)
			if err != nil {
				return fmt.Errorf("features.EachSignal: %w", err)
			}
			if err := fn(sig); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// idSet remembers the ids already seen in a scan. Ids NewID(prefix) made
// are kept as their 15 random bytes, about 20 bytes an id with the map's
// overhead, so that a scan of a very large hash does not keep every id
// string alive; anything else is kept as it is.
type idSet struct {
	prefix  string
	compact map[[15]byte]struct{}
	other   map[string]struct{}
}

func newIDSet(prefix string) *idSet {
	return &idSet{prefix: prefix, compact: map[[15]byte]struct{}{}, other: map[string]struct{}{}}
}

// add records id and reports whether it was new.
func (s *idSet) add(id string) bool {
	var b [15]byte
	if rest, ok := strings.CutPrefix(id, s.prefix); ok && len(rest) == 24 {
		if n, err := idEncoding.Decode(b[:], []byte(rest)); err == nil && n == len(b) {
			if _, dup := s.compact[b]; dup {
				return false
			}
			s.compact[b] = struct{}{}
			return true
		}
	}
	if _, dup := s.other[id]; dup {
		return false
	}
	s.other[id] = struct{}{}
	return true
}

// EachLedgerEntry calls fn with every ledger entry, oldest first, a page at
// a time.
func (s *Store) EachLedgerEntry(ctx context.Context, p Pseudonym, fn func(consent.LedgerEntry) error) error {
	for offset := int64(0); ; offset += 1000 {
		entries, total, err := s.Ledger(ctx, p, offset, 1000)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		if offset+int64(len(entries)) >= total || len(entries) == 0 {
			return nil
		}
	}
}

// EachControlChange calls fn with every recorded control change, oldest
// first, a page at a time.
func (s *Store) EachControlChange(ctx context.Context, p Pseudonym, fn func(ControlChange) error) error {
	for offset := int64(0); ; offset += 1000 {
		changes, total, err := s.ControlHistory(ctx, p, offset, 1000)
		if err != nil {
			return err
		}
		for _, c := range changes {
			if err := fn(c); err != nil {
				return err
			}
		}
		if offset+int64(len(changes)) >= total || len(changes) == 0 {
			return nil
		}
	}
}

// DeleteSignal deletes one signal, and the customer's "don't use this
// signal" control on it if any, and records it in the change log; it
// reports whether the signal existed.
func (s *Store) DeleteSignal(ctx context.Context, p Pseudonym, id, actor string, now time.Time) (bool, error) {
	if !ValidID("sig_", id) {
		return false, invalidf("signal_id", "not a signal id (they look like sig_ followed by 24 characters)")
	}
	keys := s.keys.Customer(p)
	var deleted bool
	err := s.watch(ctx, "DeleteSignal", func(tx *redis.Tx) error {
		exists, err := tx.HExists(ctx, keys.Signals, id).Result()
		if err != nil || !exists {
			deleted = false
			return err
		}
		deleted = true
		change, err := json.Marshal(ControlChange{RecordedAt: now.UTC(), Action: "deleted", Kind: ControlSignal, Target: id, ActorRole: actor})
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.HDel(ctx, keys.Signals, id)
			// A "don't use this signal" control has nothing left to
			// protect: it goes with the signal.
			pipe.HDel(ctx, keys.Controls, s.codec.Blind(ControlSignal.String(), id))
			pipe.RPush(ctx, keys.ControlLog, s.codec.Seal(change, keys.ControlLog, ""))
			return nil
		})
		return err
	}, keys.Signals, keys.Controls)
	return deleted, err
}

// Correction changes a signal's item or time; nil fields are kept.
type Correction struct {
	ItemID     *string
	OccurredAt *time.Time
}

// CorrectSignal applies a correction, re-checking the signal as if it were
// tracked now (item id, not in the future, inside its retention), and
// records it in the change log.
func (s *Store) CorrectSignal(ctx context.Context, p Pseudonym, id string, c Correction, actor string, now time.Time) (Signal, error) {
	if !ValidID("sig_", id) {
		return Signal{}, invalidf("signal_id", "not a signal id (they look like sig_ followed by 24 characters)")
	}
	if c.ItemID == nil && c.OccurredAt == nil {
		return Signal{}, invalidf("item_id", "give the corrected item_id, occurred_at or both")
	}
	if c.ItemID != nil {
		if err := ValidateItemID("item_id", *c.ItemID); err != nil {
			return Signal{}, err
		}
	}
	if c.OccurredAt != nil && c.OccurredAt.After(now.Add(MaxClockSkew)) {
		return Signal{}, invalidf("occurred_at", "%s is in the future", c.OccurredAt.UTC().Format(time.RFC3339))
	}
	keys := s.keys.Customer(p)
	var out Signal
	err := s.watch(ctx, "CorrectSignal", func(tx *redis.Tx) error {
		sealed, err := tx.HGet(ctx, keys.Signals, id).Result()
		if err == redis.Nil {
			return fault.Wrapf(ErrNotFound, "signal_id: no signal %s of this customer", id)
		}
		if err != nil {
			return err
		}
		plain, err := s.codec.Open([]byte(sealed), keys.Signals, id)
		if err != nil {
			return err
		}
		sig, err := decodeSignal(id, plain)
		if err != nil {
			return err
		}
		if c.ItemID != nil {
			sig.ItemID = *c.ItemID
		}
		if c.OccurredAt != nil {
			sig.OccurredAt = c.OccurredAt.UTC().Truncate(time.Millisecond)
			sig.ExpiresAt = sig.OccurredAt.Add(s.retention.For(sig.Type))
			if !sig.ExpiresAt.After(now) {
				return invalidf("occurred_at", "a %s of that date is past its %s retention: delete the signal instead", sig.Type, humanDuration(s.retention.For(sig.Type)))
			}
		}
		change, err := json.Marshal(ControlChange{RecordedAt: now.UTC(), Action: "corrected", Kind: ControlSignal, Target: id, ActorRole: actor})
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.HSet(ctx, keys.Signals, id, s.codec.Seal(encodeSignal(&sig), keys.Signals, id))
			pipe.RPush(ctx, keys.ControlLog, s.codec.Seal(change, keys.ControlLog, ""))
			at := CeilDay(sig.ExpiresAt).UnixMilli()
			pipe.Do(ctx, "PEXPIREAT", keys.Signals, at, "GT")
			return nil
		})
		out = sig
		return err
	}, keys.Signals)
	return out, err
}
