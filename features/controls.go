package features

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/internal/fault"
	"github.com/candorhq/candor/internal/keyspace"
)

// ControlKind is what a customer's control is about.
type ControlKind uint8

// The kinds of control.
const (
	// ControlSignal: do not use this signal for recommendations.
	ControlSignal ControlKind = iota + 1
	// ControlItem: not interested in this item.
	ControlItem
	// ControlCategory: not interested in anything of this category.
	ControlCategory
)

var controlKindNames = map[ControlKind]string{ControlSignal: "signals", ControlItem: "items", ControlCategory: "categories"}

// String returns the kind's API name.
func (k ControlKind) String() string { return controlKindNames[k] }

// ParseControlKind turns an API name into a ControlKind.
func ParseControlKind(field, name string) (ControlKind, error) {
	for k, n := range controlKindNames {
		if n == name {
			return k, nil
		}
	}
	return 0, invalidf(field, "unknown kind %q (known: signals, items, categories)", name)
}

// Control is one control in force.
type Control struct {
	Kind   ControlKind `json:"kind"`
	Target string      `json:"target"`
	SetAt  time.Time   `json:"set_at"`
}

// Controls are the controls in force for one customer.
type Controls struct {
	list []Control
	set  map[ControlKind]map[string]bool
}

// NewControls returns controls holding list, for callers that rank without
// a store (tests, evaluation).
func NewControls(list []Control) Controls {
	c := Controls{list: append([]Control(nil), list...), set: map[ControlKind]map[string]bool{}}
	for _, ctl := range list {
		if c.set[ctl.Kind] == nil {
			c.set[ctl.Kind] = map[string]bool{}
		}
		c.set[ctl.Kind][ctl.Target] = true
	}
	return c
}

func (c *Controls) has(k ControlKind, target string) bool { return c.set[k][target] }

// SuppressedSignal reports whether the customer asked not to use the signal.
func (c *Controls) SuppressedSignal(id string) bool { return c.has(ControlSignal, id) }

// NotInterestedItem reports whether the customer is not interested in the
// item.
func (c *Controls) NotInterestedItem(id string) bool { return c.has(ControlItem, id) }

// NotInterestedCategory reports whether the customer is not interested in
// the category.
func (c *Controls) NotInterestedCategory(name string) bool { return c.has(ControlCategory, name) }

// Count returns how many controls of a kind are in force.
func (c *Controls) Count(k ControlKind) int { return len(c.set[k]) }

// List returns the controls, oldest first.
func (c *Controls) List() []Control { return c.list }

// ControlChange is one recorded change of a control.
type ControlChange struct {
	RecordedAt time.Time   `json:"recorded_at"`
	Action     string      `json:"action"` // "set" or "removed"
	Kind       ControlKind `json:"kind"`
	Target     string      `json:"target"`
	ActorRole  string      `json:"actor_role"`
}

// validateControl checks a control's target for its kind.
func validateControl(k ControlKind, target string) error {
	switch k {
	case ControlSignal:
		if !ValidID("sig_", target) {
			return invalidf("target", "not a signal id (they look like sig_ followed by 24 characters)")
		}
		return nil
	case ControlItem:
		return ValidateItemID("target", target)
	case ControlCategory:
		if err := validateText("target", target, MaxCategoryLen); err != nil {
			return err
		}
		if strings.Contains(target, "/") {
			return invalidf("target", "a category never contains '/'")
		}
		return nil
	}
	return invalidf("kind", "unknown kind")
}

// SetControl puts a control in force and records it; setting one already in
// force changes nothing and returns false. A signal control must name one of
// the customer's stored signals.
func (s *Store) SetControl(ctx context.Context, p Pseudonym, k ControlKind, target, actor string, now time.Time) (Control, bool, error) {
	if err := validateControl(k, target); err != nil {
		return Control{}, false, err
	}
	keys := s.keys.Customer(p)
	field := s.codec.Blind(k.String(), target)
	c := Control{Kind: k, Target: target, SetAt: now.UTC().Truncate(time.Millisecond)}
	var changed bool
	err := s.watch(ctx, "SetControl", func(tx *redis.Tx) error {
		changed = false
		var existsCmd, signalCmd *redis.BoolCmd
		_, err := tx.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			existsCmd = pipe.HExists(ctx, keys.Controls, field)
			if k == ControlSignal {
				signalCmd = pipe.HExists(ctx, keys.Signals, target)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if signalCmd != nil && !signalCmd.Val() {
			return fault.Wrapf(ErrNotFound, "target: no signal %s of this customer", target)
		}
		if existsCmd.Val() {
			return nil
		}
		changed = true
		return s.writeControl(ctx, tx, keys, field, c, "set", actor)
	}, keys.Controls)
	return c, changed, err
}

// RemoveControl takes a control out of force and records it; it returns
// false when the control was not in force.
func (s *Store) RemoveControl(ctx context.Context, p Pseudonym, k ControlKind, target, actor string, now time.Time) (bool, error) {
	if err := validateControl(k, target); err != nil {
		return false, err
	}
	keys := s.keys.Customer(p)
	field := s.codec.Blind(k.String(), target)
	var removed bool
	err := s.watch(ctx, "RemoveControl", func(tx *redis.Tx) error {
		removed = false
		exists, err := tx.HExists(ctx, keys.Controls, field).Result()
		if err != nil || !exists {
			return err
		}
		removed = true
		return s.writeControl(ctx, tx, keys, field, Control{Kind: k, Target: target, SetAt: now.UTC()}, "removed", actor)
	}, keys.Controls)
	return removed, err
}

// writeControl sets or deletes the control and appends the change to the
// log, in the watched transaction.
func (s *Store) writeControl(ctx context.Context, tx *redis.Tx, keys keyspace.CustomerKeys, field string, c Control, action, actor string) error {
	change, err := json.Marshal(ControlChange{RecordedAt: c.SetAt, Action: action, Kind: c.Kind, Target: c.Target, ActorRole: actor})
	if err != nil {
		return err
	}
	_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		if action == "set" {
			raw, err := json.Marshal(c)
			if err != nil {
				return err
			}
			pipe.HSet(ctx, keys.Controls, field, s.codec.Seal(raw, keys.Controls, field))
		} else {
			pipe.HDel(ctx, keys.Controls, field)
		}
		pipe.RPush(ctx, keys.ControlLog, s.codec.Seal(change, keys.ControlLog, ""))
		return nil
	})
	return err
}

// Controls returns the customer's controls in force.
func (s *Store) Controls(ctx context.Context, p Pseudonym) (Controls, error) {
	keys := s.keys.Customer(p)
	raw, err := s.rdb.HGetAll(ctx, keys.Controls).Result()
	if err != nil {
		return Controls{}, fmt.Errorf("features.Controls: %w", err)
	}
	return s.decodeControls(keys.Controls, raw)
}

func (s *Store) decodeControls(key string, raw map[string]string) (Controls, error) {
	list := make([]Control, 0, len(raw))
	for field, sealed := range raw {
		plain, err := s.codec.Open([]byte(sealed), key, field)
		if err != nil {
			return Controls{}, fmt.Errorf("features: control: %w", err)
		}
		var ctl Control
		if err := json.Unmarshal(plain, &ctl); err != nil || ctl.Kind.String() == "" {
			return Controls{}, fmt.Errorf("features: control: %w", ErrCorrupt)
		}
		list = append(list, ctl)
	}
	slices.SortFunc(list, func(a, b Control) int {
		if d := a.SetAt.Compare(b.SetAt); d != 0 {
			return d
		}
		return strings.Compare(a.Target, b.Target)
	})
	return NewControls(list), nil
}

// ControlHistory returns up to limit recorded changes from offset (oldest
// first) and the total.
func (s *Store) ControlHistory(ctx context.Context, p Pseudonym, offset, limit int64) ([]ControlChange, int64, error) {
	keys := s.keys.Customer(p)
	raw, total, err := s.listRange(ctx, keys.ControlLog, offset, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("features.ControlHistory: %w", err)
	}
	out := make([]ControlChange, 0, len(raw))
	for _, sealed := range raw {
		plain, err := s.codec.Open([]byte(sealed), keys.ControlLog, "")
		if err != nil {
			return nil, 0, fmt.Errorf("features.ControlHistory: %w", err)
		}
		var c ControlChange
		if err := json.Unmarshal(plain, &c); err != nil {
			return nil, 0, fmt.Errorf("features.ControlHistory: %w", ErrCorrupt)
		}
		out = append(out, c)
	}
	return out, total, nil
}

// listRange reads up to limit elements of a list from offset, and its length.
func (s *Store) listRange(ctx context.Context, key string, offset, limit int64) ([]string, int64, error) {
	if offset < 0 || limit < 0 {
		return nil, 0, invalidf("page", "offset and limit must not be negative")
	}
	if limit == 0 {
		n, err := s.rdb.LLen(ctx, key).Result()
		return []string{}, n, err
	}
	var rangeCmd *redis.StringSliceCmd
	var lenCmd *redis.IntCmd
	if _, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		rangeCmd = pipe.LRange(ctx, key, offset, offset+limit-1)
		lenCmd = pipe.LLen(ctx, key)
		return nil
	}); err != nil {
		return nil, 0, err
	}
	return rangeCmd.Val(), lenCmd.Val(), nil
}
