package features

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/internal/keyspace"
	"github.com/candorhq/candor/internal/redisx"
)

// Store reads and writes customer data: consent state and ledger, signals,
// and the per-request view of them. Every value is sealed by the Codec.
type Store struct {
	rdb       redis.UniversalClient
	keys      keyspace.Keyspace
	codec     *Codec
	retention *Retention
	policies  *consent.PolicyStore
	catalog   *Catalog
}

// StoreOptions are a Store's dependencies.
type StoreOptions struct {
	Keyspace  keyspace.Keyspace
	Codec     *Codec
	Retention *Retention // nil: DefaultRetention()
	Policies  *consent.PolicyStore
	Catalog   *Catalog
}

// NewStore returns a store. All options but Retention are required.
func NewStore(rdb redis.UniversalClient, o StoreOptions) *Store {
	if o.Retention == nil {
		o.Retention = DefaultRetention()
	}
	if rdb == nil || o.Codec == nil || o.Policies == nil || o.Catalog == nil || o.Keyspace.IsZero() {
		panic("features.NewStore: missing dependency")
	}
	return &Store{rdb: rdb, keys: o.Keyspace, codec: o.Codec, retention: o.Retention, policies: o.Policies, catalog: o.Catalog}
}

// Retention returns the retention periods in force.
func (s *Store) Retention() *Retention { return s.retention }

// watch runs an optimistic transaction over one customer's keys.
func (s *Store) watch(ctx context.Context, op string, fn func(tx *redis.Tx) error, keys ...string) error {
	return redisx.Watch(ctx, s.rdb, "features."+op, fn, keys...)
}

// TrackResult says what happened to one input signal.
type TrackResult struct {
	Index    int
	Stored   bool
	SignalID string
	// StoredPurposes are the consented purposes the signal was stored with;
	// RefusedPurposes the requested ones without consent.
	StoredPurposes  consent.PurposeSet
	RefusedPurposes consent.PurposeSet
	// Reason explains a drop or a narrowing; empty when stored as asked.
	Reason    string
	ExpiresAt time.Time
}

// Track validates a batch of signals and stores each with the purposes the
// customer consents to now. Invalid input fails the whole batch before
// anything is written. The consent read and the writes form one optimistic
// transaction, so a signal is never stored under a consent that was revoked
// in between.
func (s *Store) Track(ctx context.Context, p Pseudonym, inputs []SignalInput, now time.Time) ([]TrackResult, error) {
	parsed, err := parseSignals(inputs, s.retention, now)
	if err != nil {
		return nil, err
	}
	keys := s.keys.Customer(p)
	var results []TrackResult
	txf := func(tx *redis.Tx) error {
		raw, err := tx.HGetAll(ctx, keys.Consent).Result()
		if err != nil {
			return err
		}
		state, err := s.decodeState(keys.Consent, raw)
		if err != nil {
			return err
		}
		granted := state.GrantedSet()
		results = make([]TrackResult, len(parsed))
		var fields []any
		var latest time.Time
		for i := range parsed {
			sig := parsed[i].signal
			res := TrackResult{Index: i}
			if !sig.ExpiresAt.After(now) {
				res.Reason = fmt.Sprintf("expired: %s signals are kept for %s and this one is older", sig.Type, humanDuration(s.retention.For(sig.Type)))
				results[i] = res
				continue
			}
			res.StoredPurposes = parsed[i].requested & granted
			res.RefusedPurposes = parsed[i].requested &^ granted
			if res.StoredPurposes.Empty() {
				res.Reason = "not stored: no consent for " + describeConsent(&state, res.RefusedPurposes)
				results[i] = res
				continue
			}
			if !res.RefusedPurposes.Empty() {
				res.Reason = "stored for " + strings.Join(res.StoredPurposes.Names(), ", ") + " only; no consent for " + describeConsent(&state, res.RefusedPurposes)
			}
			sig.ID = NewID("sig_")
			sig.Purposes = res.StoredPurposes
			res.Stored, res.SignalID, res.ExpiresAt = true, sig.ID, sig.ExpiresAt
			fields = append(fields, sig.ID, s.codec.Seal(encodeSignal(&sig), keys.Signals, sig.ID))
			if sig.ExpiresAt.After(latest) {
				latest = sig.ExpiresAt
			}
			results[i] = res
		}
		if len(fields) == 0 {
			return nil
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.HSet(ctx, keys.Signals, fields...)
			// When every signal has expired, Redis deletes the key. NX gives
			// a new key its TTL; GT only ever extends it, so the key outlives
			// every signal in it. The TTL is rounded up to a whole day so
			// that it does not give away when the last action happened.
			at := CeilDay(latest).UnixMilli()
			pipe.Do(ctx, "PEXPIREAT", keys.Signals, at, "NX")
			pipe.Do(ctx, "PEXPIREAT", keys.Signals, at, "GT")
			return nil
		})
		return err
	}
	if err := s.watch(ctx, "Track", txf, keys.Consent); err != nil {
		return nil, err
	}
	return results, nil
}

// describeConsent names each purpose with its consent status, e.g.
// "model_training (withdrawn)".
func describeConsent(state *consent.State, set consent.PurposeSet) string {
	var parts []string
	for _, p := range set.Purposes() {
		st := state.Decisions[p].Status.String()
		if state.Decisions[p].Status == consent.StatusUnknown {
			st = "never asked"
		}
		parts = append(parts, p.String()+" ("+st+")")
	}
	return strings.Join(parts, ", ")
}

func humanDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	}
	return d.String()
}

// CeilDay rounds t up to the next midnight UTC (t itself if it is one).
// Expiry times that Redis can see (TTLs, index scores) are rounded with it,
// so that they do not give away when a customer did something.
func CeilDay(t time.Time) time.Time {
	d := t.UTC().Truncate(24 * time.Hour)
	if d.Before(t) {
		d = d.Add(24 * time.Hour)
	}
	return d
}

// Consent returns the customer's consent state.
func (s *Store) Consent(ctx context.Context, p Pseudonym) (consent.State, error) {
	keys := s.keys.Customer(p)
	raw, err := s.rdb.HGetAll(ctx, keys.Consent).Result()
	if err != nil {
		return consent.State{}, fmt.Errorf("features.Consent: %w", err)
	}
	return s.decodeState(keys.Consent, raw)
}

func (s *Store) decodeState(key string, raw map[string]string) (consent.State, error) {
	var state consent.State
	for field, sealed := range raw {
		purpose, err := consent.ParsePurpose("consent", field)
		if err != nil {
			return state, fmt.Errorf("features: consent field: %w", ErrCorrupt)
		}
		plain, err := s.codec.Open([]byte(sealed), key, field)
		if err != nil {
			return state, fmt.Errorf("features: consent: %w", err)
		}
		d, err := decodeDecision(plain)
		if err != nil {
			return state, fmt.Errorf("features: consent: %w", err)
		}
		state.Decisions[purpose] = d
	}
	return state, nil
}

// ConsentResult is the outcome of a consent change.
type ConsentResult struct {
	State    consent.State
	Recorded []consent.LedgerEntry
	// SignalsDeleted counts signals deleted because a revocation asked for
	// its data to be deleted and they had no other purpose left;
	// SignalsNarrowed counts signals that lost the purpose but were kept.
	SignalsDeleted  int
	SignalsNarrowed int
}

// ApplyConsent records a change: the new state, one ledger entry per choice,
// and (for revocations with DeleteData) the removal of the purpose from the
// customer's signals, all in one transaction.
func (s *Store) ApplyConsent(ctx context.Context, p Pseudonym, change consent.Change) (ConsentResult, error) {
	if err := change.Validate(); err != nil {
		return ConsentResult{}, err
	}
	var erase consent.PurposeSet
	for _, ch := range change.Choices {
		if ch.DeleteData {
			erase = erase.With(ch.Purpose)
		}
	}
	keys := s.keys.Customer(p)
	var result ConsentResult
	txf := func(tx *redis.Tx) error {
		result = ConsentResult{}
		var consentCmd *redis.MapStringStringCmd
		var signalsCmd *redis.MapStringStringCmd
		_, err := tx.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			consentCmd = pipe.HGetAll(ctx, keys.Consent)
			if !erase.Empty() {
				signalsCmd = pipe.HGetAll(ctx, keys.Signals)
			}
			return nil
		})
		if err != nil {
			return err
		}
		state, err := s.decodeState(keys.Consent, consentCmd.Val())
		if err != nil {
			return err
		}
		change := change
		if change.SkipOptedOut {
			change.Choices = slices.DeleteFunc(slices.Clone(change.Choices), func(ch consent.Choice) bool {
				return state.Decisions[ch.Purpose].SettledUnderGPC()
			})
			if len(change.Choices) == 0 {
				result.State = state
				return nil // nothing to record
			}
		}
		result.State, result.Recorded = consent.Apply(state, change)

		var rewrite []any
		var remove []string
		if signalsCmd != nil {
			signals, err := s.decodeSignals(keys.Signals, signalsCmd.Val())
			if err != nil {
				return err
			}
			for i := range signals {
				sig := &signals[i]
				left := sig.Purposes &^ erase
				switch {
				case left == sig.Purposes:
				case left.Empty():
					remove = append(remove, sig.ID)
				default:
					sig.Purposes = left
					rewrite = append(rewrite, sig.ID, s.codec.Seal(encodeSignal(sig), keys.Signals, sig.ID))
				}
			}
			result.SignalsDeleted, result.SignalsNarrowed = len(remove), len(rewrite)/2
		}

		decisions := make([]any, 0, 2*len(change.Choices))
		for _, ch := range change.Choices {
			field := ch.Purpose.String()
			decisions = append(decisions, field, s.codec.Seal(encodeDecision(&result.State.Decisions[ch.Purpose]), keys.Consent, field))
		}
		entries := make([]any, len(result.Recorded))
		for i := range result.Recorded {
			entries[i] = s.codec.Seal(encodeLedgerEntry(&result.Recorded[i]), keys.Ledger, "")
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.HSet(ctx, keys.Consent, decisions...)
			pipe.RPush(ctx, keys.Ledger, entries...)
			if len(remove) > 0 {
				pipe.HDel(ctx, keys.Signals, remove...)
			}
			if len(rewrite) > 0 {
				pipe.HSet(ctx, keys.Signals, rewrite...)
			}
			return nil
		})
		return err
	}
	// Signals are read (and so watched) only when data is to be deleted, so
	// that a stream of signal writes cannot keep a customer from changing
	// their consent.
	watched := []string{keys.Consent}
	if !erase.Empty() {
		watched = append(watched, keys.Signals)
	}
	if err := s.watch(ctx, "ApplyConsent", txf, watched...); err != nil {
		return ConsentResult{}, err
	}
	return result, nil
}

// Ledger returns up to limit ledger entries starting at offset (oldest
// first), and the total number of entries.
func (s *Store) Ledger(ctx context.Context, p Pseudonym, offset, limit int64) ([]consent.LedgerEntry, int64, error) {
	keys := s.keys.Customer(p)
	raw, total, err := s.listRange(ctx, keys.Ledger, offset, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("features.Ledger: %w", err)
	}
	entries := make([]consent.LedgerEntry, 0, len(raw))
	for _, sealed := range raw {
		plain, err := s.codec.Open([]byte(sealed), keys.Ledger, "")
		if err != nil {
			return nil, 0, fmt.Errorf("features.Ledger: %w", err)
		}
		e, err := decodeLedgerEntry(plain)
		if err != nil {
			return nil, 0, fmt.Errorf("features.Ledger: %w", err)
		}
		entries = append(entries, e)
	}
	return entries, total, nil
}

// decodeSignals opens and decodes every stored signal of a customer.
func (s *Store) decodeSignals(key string, raw map[string]string) ([]Signal, error) {
	out := make([]Signal, 0, len(raw))
	for id, sealed := range raw {
		plain, err := s.codec.Open([]byte(sealed), key, id)
		if err != nil {
			return nil, fmt.Errorf("features: signal: %w", err)
		}
		sig, err := decodeSignal(id, plain)
		if err != nil {
			return nil, fmt.Errorf("features: signal: %w", err)
		}
		out = append(out, sig)
	}
	return out, nil
}
