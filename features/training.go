package features

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/internal/redisx"
)

// ScanUsable visits every customer on every node and calls fn with the
// signals usable for purpose now (for model training: collected for it,
// consented now, allowed by the current policy, fresh, not suppressed by
// the customer). Customers with no usable signal are skipped; fn never
// learns who a customer is. The visiting
// order is deterministic for a given store: customers are sorted by
// pseudonym, so a training run on the same data gives the same model.
func (s *Store) ScanUsable(ctx context.Context, purpose consent.Purpose, now time.Time, fn func(signals []Signal) error) error {
	policy, err := s.policies.Current(ctx)
	if err != nil {
		return fmt.Errorf("features.ScanUsable: %w", err)
	}
	catalog, err := s.catalog.Current(ctx)
	if err != nil {
		return fmt.Errorf("features.ScanUsable: %w", err)
	}
	customers, err := s.customersWithSignals(ctx)
	if err != nil {
		return fmt.Errorf("features.ScanUsable: %w", err)
	}

	const batch = 200
	for start := 0; start < len(customers); start += batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		group := customers[start:min(start+batch, len(customers))]
		consentCmds := make([]*redis.MapStringStringCmd, len(group))
		signalCmds := make([]*redis.MapStringStringCmd, len(group))
		controlCmds := make([]*redis.MapStringStringCmd, len(group))
		_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i, p := range group {
				keys := s.keys.Customer(p)
				consentCmds[i] = pipe.HGetAll(ctx, keys.Consent)
				signalCmds[i] = pipe.HGetAll(ctx, keys.Signals)
				controlCmds[i] = pipe.HGetAll(ctx, keys.Controls)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("features.ScanUsable: %w", err)
		}
		for i, p := range group {
			keys := s.keys.Customer(p)
			view := &CustomerView{Policy: policy, Catalog: catalog}
			if view.Consent, err = s.decodeState(keys.Consent, consentCmds[i].Val()); err != nil {
				return err
			}
			if !view.Consent.Granted(purpose) {
				continue
			}
			if view.Signals, err = s.decodeSignals(keys.Signals, signalCmds[i].Val()); err != nil {
				return err
			}
			// A signal the customer asked us not to use trains nothing.
			if view.Controls, err = s.decodeControls(keys.Controls, controlCmds[i].Val()); err != nil {
				return err
			}
			u := usableFor(view, purpose, now, s.retention)
			if len(u.Signals) == 0 {
				continue
			}
			if err := fn(u.Signals); err != nil {
				return err
			}
		}
	}
	return nil
}

// SweepExpired deletes, on every node, the signals whose retention has ended
// (under the retention in force now). Reads never use an expired signal; the
// sweep removes it from storage soon after, so that nothing is kept longer
// than its retention plus one sweep interval. It returns how many it deleted.
func (s *Store) SweepExpired(ctx context.Context, now time.Time) (int, error) {
	customers, err := s.customersWithSignals(ctx)
	if err != nil {
		return 0, fmt.Errorf("features.SweepExpired: %w", err)
	}
	deleted := 0
	const batch = 200
	for start := 0; start < len(customers); start += batch {
		if err := ctx.Err(); err != nil {
			return deleted, err
		}
		group := customers[start:min(start+batch, len(customers))]
		cmds := make([]*redis.MapStringStringCmd, len(group))
		_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i, p := range group {
				cmds[i] = pipe.HGetAll(ctx, s.keys.Customer(p).Signals)
			}
			return nil
		})
		if err != nil {
			return deleted, fmt.Errorf("features.SweepExpired: %w", err)
		}
		_, err = s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i, p := range group {
				key := s.keys.Customer(p).Signals
				signals, err := s.decodeSignals(key, cmds[i].Val())
				if err != nil {
					return err
				}
				var expired []string
				for j := range signals {
					if !s.retention.Expiry(&signals[j]).After(now) {
						expired = append(expired, signals[j].ID)
					}
				}
				if len(expired) > 0 {
					// HDEL of given ids is safe without a transaction: a
					// concurrent write never reuses a signal id.
					pipe.HDel(ctx, key, expired...)
					deleted += len(expired)
				}
			}
			return nil
		})
		if err != nil {
			return deleted, fmt.Errorf("features.SweepExpired: %w", err)
		}
	}
	return deleted, nil
}

// customersWithSignals lists, from every node, the customers who hold
// signals, sorted by pseudonym and each once (SCAN may return a key twice
// when the keyspace is rehashed during the scan).
func (s *Store) customersWithSignals(ctx context.Context) ([]Pseudonym, error) {
	var customers []Pseudonym
	err := redisx.ScanKeys(ctx, s.rdb, s.keys.CustomerSignalsPattern(), func(keys []string) error {
		for _, k := range keys {
			if p, ok := s.keys.CustomerOf(k); ok {
				customers = append(customers, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(customers)
	return slices.Compact(customers), nil
}
