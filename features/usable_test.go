package features_test

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

func TestReasonNames(t *testing.T) {
	t.Parallel()
	want := map[features.Reason]string{
		features.ReasonExpired:                       "expired",
		features.ReasonNoConsent:                     "no_consent",
		features.ReasonNotCollectedForPurpose:        "not_collected_for_purpose",
		features.ReasonNotAllowedByPolicy:            "not_allowed_by_policy",
		features.ReasonSensitiveNeedsExplicitConsent: "sensitive_needs_explicit_consent",
	}
	for r, name := range want {
		if r.String() != name {
			t.Errorf("Reason(%d).String() = %q, want %q", r, r.String(), name)
		}
	}
}

// TestUsableFor stores one signal per case under a chosen consent history,
// policy and catalogue, then filters it for a purpose at a read time. Cases
// where several reasons apply check that the first in the documented order
// (expired, no consent, not collected, policy, sensitive) is given.
func TestUsableFor(t *testing.T) {
	t.Parallel()
	written := t0.Add(-10 * day) // when the signal happened and was tracked
	tests := []struct {
		name string
		// grants are given before tracking; revokes after it.
		grants    []consent.Choice
		revokes   []consent.Choice
		signal    features.SignalInput
		sensitive bool                                                // the item is flagged sensitive
		policy    func(a *[consent.NumPurposes]consent.SignalTypeSet) // nil: defaults
		purpose   consent.Purpose
		readAt    time.Time
		want      features.Reason // 0: usable
	}{
		{
			name:    "usable",
			grants:  []consent.Choice{grant(consent.Personalization)},
			signal:  view("sku", written, consent.Personalization),
			purpose: consent.Personalization, readAt: t0,
		},
		{
			name:    "usable one millisecond before expiry",
			grants:  []consent.Choice{grant(consent.Personalization)},
			signal:  view("sku", written, consent.Personalization),
			purpose: consent.Personalization, readAt: written.Add(90*day - time.Millisecond),
		},
		{
			name:    "expired at the instant retention ends",
			grants:  []consent.Choice{grant(consent.Personalization)},
			signal:  view("sku", written, consent.Personalization),
			purpose: consent.Personalization, readAt: written.Add(90 * day),
			want: features.ReasonExpired,
		},
		{
			name:    "expired takes precedence over no consent",
			grants:  []consent.Choice{grant(consent.Personalization)},
			revokes: []consent.Choice{revoke(consent.Personalization)},
			signal:  features.SignalInput{Type: "search", ItemID: "sku", OccurredAt: written, Purposes: purposes(consent.Personalization)},
			purpose: consent.Personalization, readAt: written.Add(31 * day),
			want: features.ReasonExpired,
		},
		{
			name:    "no consent after a withdrawal",
			grants:  []consent.Choice{grant(consent.Personalization)},
			revokes: []consent.Choice{revoke(consent.Personalization)},
			signal:  view("sku", written, consent.Personalization),
			purpose: consent.Personalization, readAt: t0,
			want: features.ReasonNoConsent,
		},
		{
			name:    "no consent takes precedence over not collected",
			grants:  []consent.Choice{grant(consent.Personalization)},
			signal:  view("sku", written, consent.Personalization),
			purpose: consent.MarketingEmail, readAt: t0,
			want: features.ReasonNoConsent,
		},
		{
			name:    "not collected for the purpose",
			grants:  []consent.Choice{grant(consent.Personalization), grant(consent.Support)},
			signal:  features.SignalInput{Type: "purchase", ItemID: "sku", OccurredAt: written, Purposes: purposes(consent.Personalization)},
			purpose: consent.Support, readAt: t0,
			want: features.ReasonNotCollectedForPurpose,
		},
		{
			name:    "not collected takes precedence over policy",
			grants:  []consent.Choice{grant(consent.Personalization), grant(consent.ModelTraining)},
			signal:  features.SignalInput{Type: "search", ItemID: "sku", OccurredAt: written, Purposes: purposes(consent.Personalization)},
			purpose: consent.ModelTraining, readAt: t0,
			want: features.ReasonNotCollectedForPurpose,
		},
		{
			name:    "not allowed by the default policy",
			grants:  []consent.Choice{grant(consent.ModelTraining)},
			signal:  features.SignalInput{Type: "search", ItemID: "sku", OccurredAt: written, Purposes: purposes(consent.ModelTraining)},
			purpose: consent.ModelTraining, readAt: t0,
			want: features.ReasonNotAllowedByPolicy,
		},
		{
			name:   "not allowed by a new policy version",
			grants: []consent.Choice{grant(consent.Personalization)},
			signal: view("sku", written, consent.Personalization),
			policy: func(a *[consent.NumPurposes]consent.SignalTypeSet) {
				a[consent.Personalization] = consent.NewSignalTypeSet(consent.Purchase)
			},
			purpose: consent.Personalization, readAt: t0,
			want: features.ReasonNotAllowedByPolicy,
		},
		{
			name:      "policy takes precedence over sensitive",
			grants:    []consent.Choice{grant(consent.Personalization)},
			signal:    view("sku", written, consent.Personalization),
			sensitive: true,
			policy: func(a *[consent.NumPurposes]consent.SignalTypeSet) {
				a[consent.Personalization] = 0
			},
			purpose: consent.Personalization, readAt: t0,
			want: features.ReasonNotAllowedByPolicy,
		},
		{
			name:      "sensitive item without explicit consent",
			grants:    []consent.Choice{grant(consent.Personalization)},
			signal:    view("sku", written, consent.Personalization),
			sensitive: true,
			purpose:   consent.Personalization, readAt: t0,
			want: features.ReasonSensitiveNeedsExplicitConsent,
		},
		{
			name:      "sensitive consent for another purpose does not count",
			grants:    []consent.Choice{grant(consent.Personalization), {Purpose: consent.MarketingEmail, Granted: true, Sensitive: true}},
			signal:    view("sku", written, consent.Personalization, consent.MarketingEmail),
			sensitive: true,
			purpose:   consent.Personalization, readAt: t0,
			want: features.ReasonSensitiveNeedsExplicitConsent,
		},
		{
			name:      "sensitive item with explicit consent",
			grants:    []consent.Choice{{Purpose: consent.Personalization, Granted: true, Sensitive: true}},
			signal:    view("sku", written, consent.Personalization),
			sensitive: true,
			purpose:   consent.Personalization, readAt: t0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t)
			p := f.customer("customer-1")
			if err := f.catalog.Upsert(ctx, []features.Item{{ID: "sku", Title: "An item", Sensitive: tt.sensitive}}, written); err != nil {
				t.Fatalf("Upsert: %v", err)
			}
			f.apply(t, p, written.Add(-time.Hour), tt.grants...)
			res := f.track(t, p, written, tt.signal)
			if !res[0].Stored {
				t.Fatalf("not stored: %+v", res[0])
			}
			if len(tt.revokes) > 0 {
				f.apply(t, p, written.Add(time.Hour), tt.revokes...)
			}
			if tt.policy != nil {
				allowed := consent.DefaultPolicy().Allowed
				tt.policy(&allowed)
				if _, err := f.policies.Put(ctx, allowed, 1, "marketer", written); err != nil {
					t.Fatalf("Put policy: %v", err)
				}
			}
			// A server that has not seen the policy or catalogue changes
			// reads them with the customer's data.
			other := f.otherServer(t)
			v := other.load(t, p)
			if tt.policy != nil && v.Policy.Version != 2 {
				t.Errorf("view policy version = %d, want 2", v.Policy.Version)
			}
			if it := v.Catalog.Item("sku"); it == nil || it.Sensitive != tt.sensitive {
				t.Errorf("view catalogue item = %+v", it)
			}
			u := other.store.UsableFor(v, tt.purpose, tt.readAt)
			// Asked about the one signal, the rule gives the same answer.
			if len(v.Signals) != 1 {
				t.Fatalf("loaded %d signals, want 1", len(v.Signals))
			}
			if got := other.store.WhyNotUsable(v, &v.Signals[0], tt.purpose, tt.readAt); got != tt.want {
				t.Errorf("WhyNotUsable = %q, want %q", got, tt.want)
			}
			if u.Purpose != tt.purpose {
				t.Errorf("Usable.Purpose = %s", u.Purpose)
			}
			if tt.want == 0 {
				if len(u.Signals) != 1 || len(u.Excluded) != 0 || u.Signals[0].ID != res[0].SignalID {
					t.Fatalf("usable %+v, excluded %+v; want the signal usable", u.Signals, u.Excluded)
				}
				return
			}
			if len(u.Signals) != 0 || len(u.Excluded) != 1 {
				t.Fatalf("usable %+v, excluded %+v; want the signal excluded", u.Signals, u.Excluded)
			}
			if e := u.Excluded[0]; e.Reason != tt.want || e.Signal == nil || e.Signal.ID != res[0].SignalID {
				t.Errorf("excluded for %s (signal %+v), want %s", e.Reason, e.Signal, tt.want)
			}
		})
	}
}

func TestUsableForOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.customer("customer-1")
	f.apply(t, p, t0.Add(-day), grant(consent.Personalization))
	var inputs []features.SignalInput
	for i, offset := range []time.Duration{5, 1, 3, 1, 1, 4, 2, 3} {
		at := t0.Add(-offset * time.Hour)
		in := view("sku", at, consent.Personalization)
		if i == 5 {
			in.Purposes = purposes(consent.Support) // left out, so not in the order
		}
		inputs = append(inputs, in)
	}
	f.apply(t, p, t0.Add(-day), grant(consent.Support))
	f.track(t, p, t0, inputs...)
	v := f.load(t, p)
	if len(v.Signals) != len(inputs) {
		t.Fatalf("loaded %d signals, want %d", len(v.Signals), len(inputs))
	}
	u := f.store.UsableFor(v, consent.Personalization, t0)
	if len(u.Signals) != len(inputs)-1 || len(u.Excluded) != 1 {
		t.Fatalf("%d usable, %d excluded", len(u.Signals), len(u.Excluded))
	}
	want := slices.Clone(u.Signals)
	sort.Slice(want, func(i, j int) bool {
		if !want[i].OccurredAt.Equal(want[j].OccurredAt) {
			return want[i].OccurredAt.Before(want[j].OccurredAt)
		}
		return want[i].ID < want[j].ID
	})
	for i := range want {
		if u.Signals[i].ID != want[i].ID {
			t.Fatalf("usable signals are not ordered by (occurred_at, id):\n got %v\nwant %v", ids(u.Signals), ids(want))
		}
	}
	// Loading again (Redis returns hash fields in any order) gives the same order.
	again := f.store.UsableFor(f.load(t, p), consent.Personalization, t0)
	if !slices.Equal(ids(again.Signals), ids(u.Signals)) {
		t.Errorf("order differs between loads:\n%v\n%v", ids(again.Signals), ids(u.Signals))
	}
}

func ids(ss []features.Signal) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

// TestShorterRetentionAppliesOnRead shortens a type's retention after its
// signals were written: they expire on read under the new setting.
func TestShorterRetentionAppliesOnRead(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.customer("customer-1")
	f.apply(t, p, t0.Add(-day), grant(consent.Personalization))
	res := f.track(t, p, t0,
		view("old", t0.Add(-10*day), consent.Personalization),
		view("recent", t0.Add(-2*day), consent.Personalization),
		features.SignalInput{Type: "purchase", ItemID: "bought", OccurredAt: t0.Add(-10 * day), Purposes: purposes(consent.Personalization)},
	)
	if u := f.store.UsableFor(f.load(t, p), consent.Personalization, t0); len(u.Signals) != 3 {
		t.Fatalf("before the change: %d usable, want 3", len(u.Signals))
	}
	if err := f.store.Retention().Set(consent.View, 7*day); err != nil {
		t.Fatalf("Set: %v", err)
	}
	u := f.store.UsableFor(f.load(t, p), consent.Personalization, t0)
	if got := ids(u.Signals); !slices.Equal(got, []string{res[2].SignalID, res[1].SignalID}) {
		t.Errorf("usable = %v, want [bought recent]", got)
	}
	if len(u.Excluded) != 1 || u.Excluded[0].Signal.ID != res[0].SignalID || u.Excluded[0].Reason != features.ReasonExpired {
		t.Errorf("excluded = %+v, want old as expired", u.Excluded)
	}
	// A longer retention does not revive what was stored with a shorter one.
	if err := f.store.Retention().Set(consent.View, 365*day); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if u := f.store.UsableFor(f.load(t, p), consent.Personalization, t0.Add(100*day)); len(u.Signals) != 1 || u.Signals[0].ItemID != "bought" {
		t.Errorf("after lengthening retention, usable at +100 days = %+v, want only the purchase", u.Signals)
	}
}
