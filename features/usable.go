package features

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/internal/redisx"
)

// CustomerView is everything one request needs about one customer, read at
// one instant in one pipelined round trip: consent state, every stored signal,
// and the policy and catalogue versions current when the request arrived.
type CustomerView struct {
	Consent  consent.State
	Controls Controls
	Signals  []Signal // every stored signal, usable or not
	Policy   *consent.Policy
	Catalog  *CatalogSnapshot
}

// Load reads the customer's view. Nothing is cached across requests except
// immutable policy versions and the catalogue snapshot, which is brought up to
// the version read here; consent is always read fresh, so a revocation is
// obeyed by the very next request.
func (s *Store) Load(ctx context.Context, p Pseudonym) (*CustomerView, error) {
	keys := s.keys.Customer(p)
	var consentCmd, signalsCmd, controlsCmd *redis.MapStringStringCmd
	var policyCmd, catalogCmd *redis.StringCmd
	// The pipeline's own error is the first failed command's; GETs of absent
	// version keys fail with redis.Nil, so each command is checked instead.
	_, _ = s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		consentCmd = pipe.HGetAll(ctx, keys.Consent)
		signalsCmd = pipe.HGetAll(ctx, keys.Signals)
		controlsCmd = pipe.HGetAll(ctx, keys.Controls)
		policyCmd = pipe.Get(ctx, s.policies.VersionKey())
		catalogCmd = pipe.Get(ctx, s.catalog.VersionKey())
		return nil
	})
	for _, cmd := range []redis.Cmder{consentCmd, signalsCmd, controlsCmd} {
		if err := cmd.Err(); err != nil {
			return nil, fmt.Errorf("features.Load: %w", err)
		}
	}
	view := &CustomerView{}
	var err error
	if view.Consent, err = s.decodeState(keys.Consent, consentCmd.Val()); err != nil {
		return nil, err
	}
	if view.Signals, err = s.decodeSignals(keys.Signals, signalsCmd.Val()); err != nil {
		return nil, err
	}
	if view.Controls, err = s.decodeControls(keys.Controls, controlsCmd.Val()); err != nil {
		return nil, err
	}
	policyVersion, err := redisx.Counter(policyCmd, 1)
	if err != nil {
		return nil, fmt.Errorf("features.Load: %w", err)
	}
	if view.Policy, err = s.policies.ByVersion(ctx, policyVersion); err != nil {
		return nil, fmt.Errorf("features.Load: %w", err)
	}
	catalogVersion, err := redisx.Counter(catalogCmd, 0)
	if err != nil {
		return nil, fmt.Errorf("features.Load: %w", err)
	}
	if view.Catalog, err = s.catalog.SyncTo(ctx, catalogVersion); err != nil {
		return nil, err
	}
	return view, nil
}

// Reason says why a signal was not used for a purpose.
type Reason uint8

// Reasons a signal is left out. They are checked in the order of excluded:
// expired, suppressed, no consent, not collected for the purpose, not
// allowed by policy, sensitive; the first that applies is given. (Their
// values are stored in recorded answers: only ever append.)
const (
	ReasonExpired Reason = iota + 1
	ReasonNoConsent
	ReasonNotCollectedForPurpose
	ReasonNotAllowedByPolicy
	ReasonSensitiveNeedsExplicitConsent
	ReasonSuppressed // the customer asked not to use this signal
)

var reasonNames = map[Reason]string{
	ReasonExpired:                       "expired",
	ReasonNotCollectedForPurpose:        "not_collected_for_purpose",
	ReasonNoConsent:                     "no_consent",
	ReasonNotAllowedByPolicy:            "not_allowed_by_policy",
	ReasonSensitiveNeedsExplicitConsent: "sensitive_needs_explicit_consent",
	ReasonSuppressed:                    "suppressed",
}

// String returns the reason's API name, e.g. "no_consent".
func (r Reason) String() string { return reasonNames[r] }

// Exclusion is a signal left out, and why.
type Exclusion struct {
	Signal *Signal
	Reason Reason
}

// Usable is the result of filtering a view for one purpose.
type Usable struct {
	Purpose consent.Purpose
	// Signals are the usable signals, oldest first (ties by id), so that
	// the order never depends on signals that were left out.
	Signals []Signal
	// Excluded are the signals left out, with the first reason that applied.
	Excluded []Exclusion
}

// UsableFor applies invariant 2 of the architecture: a signal may feed a
// request of purpose P only if it is fresh under its retention, consent for P
// is given now, P is among its collection purposes, the policy allows its type
// for P, and (for an item flagged sensitive) explicit consent for sensitive
// data is given for P.
func (s *Store) UsableFor(v *CustomerView, purpose consent.Purpose, now time.Time) Usable {
	return usableFor(v, purpose, now, s.retention)
}

// WhyNotUsable asks UsableFor's rule about one signal: it returns the reason
// UsableFor would leave sig out of a request of purpose at now, or 0 when it
// would use it. Of v it reads only the consent, controls, policy and
// catalogue (not v.Signals), so a caller that lists some of a customer's
// signals can say, for each, whether it is used and why not.
func (s *Store) WhyNotUsable(v *CustomerView, sig *Signal, purpose consent.Purpose, now time.Time) Reason {
	return excluded(v, sig, purpose, now, s.retention)
}

func usableFor(v *CustomerView, purpose consent.Purpose, now time.Time, retention *Retention) Usable {
	u := Usable{Purpose: purpose, Signals: make([]Signal, 0, len(v.Signals))}
	for i := range v.Signals {
		sig := &v.Signals[i]
		if r := excluded(v, sig, purpose, now, retention); r != 0 {
			u.Excluded = append(u.Excluded, Exclusion{Signal: sig, Reason: r})
			continue
		}
		u.Signals = append(u.Signals, *sig)
	}
	slices.SortFunc(u.Signals, func(a, b Signal) int {
		if c := a.OccurredAt.Compare(b.OccurredAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return u
}

func excluded(v *CustomerView, sig *Signal, purpose consent.Purpose, now time.Time, retention *Retention) Reason {
	switch {
	case !retention.Expiry(sig).After(now):
		return ReasonExpired
	case v.Controls.SuppressedSignal(sig.ID):
		return ReasonSuppressed
	case !v.Consent.Granted(purpose):
		return ReasonNoConsent
	case !sig.Purposes.Has(purpose):
		return ReasonNotCollectedForPurpose
	case !v.Policy.Allows(purpose, sig.Type):
		return ReasonNotAllowedByPolicy
	}
	if v.Catalog.Sensitive(sig.ItemID) && !v.Consent.SensitiveGranted(purpose) {
		return ReasonSensitiveNeedsExplicitConsent
	}
	return 0
}
