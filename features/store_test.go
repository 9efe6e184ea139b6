package features_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

func TestTrackWithoutConsentStoresNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.customer("customer-1")
	res := f.track(t, p, t0,
		view("sku-1", t0.Add(-time.Hour), consent.Personalization),
		features.SignalInput{Type: "purchase", ItemID: "sku-2", Purposes: purposes(consent.Support, consent.ModelTraining)},
	)
	wantNamed := [][]string{{"personalization (never asked)"}, {"support (never asked)", "model_training (never asked)"}}
	for i, r := range res {
		if r.Stored || r.SignalID != "" || !r.StoredPurposes.Empty() {
			t.Errorf("result %d = %+v, want dropped", i, r)
		}
		if !strings.HasPrefix(r.Reason, "not stored: no consent for ") {
			t.Errorf("result %d reason = %q", i, r.Reason)
		}
		for _, name := range wantNamed[i] {
			if !strings.Contains(r.Reason, name) {
				t.Errorf("result %d reason %q does not name %q", i, r.Reason, name)
			}
		}
	}
	if res[1].RefusedPurposes != consent.NewPurposeSet(consent.Support, consent.ModelTraining) {
		t.Errorf("refused purposes = %v", res[1].RefusedPurposes.Names())
	}
	if keys := f.r.Keys(t); len(keys) != 0 {
		t.Errorf("signals without consent created keys: %v", keys)
	}

	// A refusal and a withdrawal are named as such.
	f.apply(t, p, t0.Add(-2*time.Hour), grant(consent.Support), revoke(consent.Personalization))
	f.apply(t, p, t0.Add(-time.Hour), revoke(consent.Support))
	res = f.track(t, p, t0, features.SignalInput{Type: "purchase", ItemID: "sku-2", Purposes: purposes(consent.Personalization, consent.Support)})
	if res[0].Stored || !strings.Contains(res[0].Reason, "personalization (refused)") || !strings.Contains(res[0].Reason, "support (withdrawn)") {
		t.Errorf("result = %+v, want dropped naming refused and withdrawn", res[0])
	}
	if n := len(f.signals(t, p)); n != 0 {
		t.Errorf("%d signals stored without consent", n)
	}
}

func TestTrackStoresOnlyConsentedPurposes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.customer("customer-1")
	f.apply(t, p, t0.Add(-day), grant(consent.Personalization))
	occurred := t0.Add(-3*time.Hour + 123456789*time.Nanosecond)
	res := f.track(t, p, t0,
		view("sku-1", occurred, consent.Personalization, consent.ModelTraining),
		features.SignalInput{Type: "rating", ItemID: "sku-2", Purposes: purposes(consent.Personalization), OccurredAt: occurred, Value: 4},
	)

	narrowed := res[0]
	if !narrowed.Stored || narrowed.StoredPurposes != consent.NewPurposeSet(consent.Personalization) ||
		narrowed.RefusedPurposes != consent.NewPurposeSet(consent.ModelTraining) {
		t.Fatalf("result = %+v, want stored for personalization only", narrowed)
	}
	if want := "stored for personalization only; no consent for model_training (never asked)"; narrowed.Reason != want {
		t.Errorf("reason = %q, want %q", narrowed.Reason, want)
	}
	if asked := res[1]; !asked.Stored || asked.Reason != "" || !asked.RefusedPurposes.Empty() {
		t.Errorf("a signal stored as asked: %+v, want no reason", asked)
	}

	stored := f.signals(t, p)
	if len(stored) != 2 {
		t.Fatalf("stored %d signals, want 2", len(stored))
	}
	wantAt := occurred.Truncate(time.Millisecond)
	for i, r := range res {
		if !strings.HasPrefix(r.SignalID, "sig_") || !features.ValidID("sig_", r.SignalID) {
			t.Errorf("result %d: signal id %q", i, r.SignalID)
		}
		s, ok := stored[r.SignalID]
		if !ok {
			t.Fatalf("result %d: signal %s is not stored", i, r.SignalID)
		}
		retention := s.Type.Retention()
		if !s.OccurredAt.Equal(wantAt) || !s.ExpiresAt.Equal(wantAt.Add(retention)) || !r.ExpiresAt.Equal(s.ExpiresAt) {
			t.Errorf("result %d: occurred %s, expires %s (result %s); want %s and %s", i, s.OccurredAt, s.ExpiresAt, r.ExpiresAt, wantAt, wantAt.Add(retention))
		}
		if s.Purposes != consent.NewPurposeSet(consent.Personalization) {
			t.Errorf("result %d: stored with %v, want personalization only", i, s.Purposes.Names())
		}
	}
	if s := stored[res[1].SignalID]; s.Type != consent.Rating || s.ItemID != "sku-2" || s.Value != 4 {
		t.Errorf("rating stored as %+v", s)
	}

	// The key's expiry covers every signal, rounded up to a whole day so it
	// does not give away when the customer acted.
	keys := f.keys.Customer(p)
	at, err := f.rdb.PExpireTime(context.Background(), keys.Signals).Result()
	if err != nil {
		t.Fatal(err)
	}
	expiry := time.UnixMilli(int64(at / time.Millisecond)).UTC()
	latest := res[0].ExpiresAt
	for _, r := range res {
		if r.ExpiresAt.After(latest) {
			latest = r.ExpiresAt
		}
	}
	// (The embedded server keeps TTLs as durations, so its answer can be a
	// millisecond or two off.)
	if want := features.CeilDay(latest); want.Truncate(day) != want || expiry.Sub(want).Abs() > time.Second {
		t.Errorf("signals key expires at %s; want %s, a midnight on or after the last signal's expiry %s", expiry, want, latest)
	}
	// Signals are sealed: no item id, purpose or type name in their keys,
	// and no raw customer id anywhere.
	for k, v := range f.r.Dump(t) {
		if strings.Contains(k+v, "customer-1") {
			t.Errorf("key %s holds the raw customer id", k)
		}
		if k == keys.Consent {
			continue // its fields are purpose names; its values are sealed
		}
		for _, plain := range []string{"sku-1", "sku-2", "personalization", "rating", "view"} {
			if strings.Contains(v, plain) || strings.Contains(k, plain) {
				t.Errorf("key %s holds %q in the clear", k, plain)
			}
		}
	}
}

func TestTrackDropsExpiredSignals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.customer("customer-1")
	f.apply(t, p, t0.Add(-800*day), grant(consent.Personalization))
	res := f.track(t, p, t0,
		features.SignalInput{Type: "search", ItemID: "sku-old", Purposes: purposes(consent.Personalization), OccurredAt: t0.Add(-31 * day)},
		features.SignalInput{Type: "search", ItemID: "sku-edge", Purposes: purposes(consent.Personalization), OccurredAt: t0.Add(-30 * day)},
		features.SignalInput{Type: "purchase", ItemID: "sku-kept", Purposes: purposes(consent.Personalization), OccurredAt: t0.Add(-31 * day)},
	)
	for i, want := range []bool{false, false, true} {
		if res[i].Stored != want {
			t.Errorf("result %d stored = %v, want %v: %+v", i, res[i].Stored, want, res[i])
		}
	}
	for _, r := range res[:2] {
		if r.SignalID != "" || !strings.HasPrefix(r.Reason, "expired: search signals are kept for 30 days") {
			t.Errorf("expired result = %+v", r)
		}
	}
	stored := f.signals(t, p)
	if len(stored) != 1 || stored[res[2].SignalID].ItemID != "sku-kept" {
		t.Errorf("stored = %+v, want only sku-kept", stored)
	}
}

// TestSweepDeletesExpiredSignals checks that signals whose retention ended
// are deleted by the sweep, on every customer, and nothing else is.
func TestSweepDeletesExpiredSignals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	p, q := f.customer("customer-1"), f.customer("customer-2")
	for _, c := range []features.Pseudonym{p, q} {
		f.apply(t, c, t0.Add(-day), grant(consent.Personalization))
	}
	old := f.track(t, p, t0, features.SignalInput{Type: "search", ItemID: "sku-1", Purposes: purposes(consent.Personalization)})
	kept := f.track(t, p, t0, view("sku-2", t0, consent.Personalization))
	other := f.track(t, q, t0, features.SignalInput{Type: "search", ItemID: "sku-3", Purposes: purposes(consent.Personalization)})

	if n, err := f.store.SweepExpired(ctx, t0.Add(29*day)); err != nil || n != 0 {
		t.Fatalf("sweep before any retention ended deleted %d (%v)", n, err)
	}
	n, err := f.store.SweepExpired(ctx, t0.Add(30*day))
	if err != nil || n != 2 {
		t.Fatalf("sweep deleted %d (%v), want the two searches", n, err)
	}
	for _, r := range []features.TrackResult{old[0], other[0]} {
		for _, c := range []features.Pseudonym{p, q} {
			if ok, _ := f.rdb.HExists(ctx, f.keys.Customer(c).Signals, r.SignalID).Result(); ok {
				t.Errorf("expired signal %s is still stored", r.SignalID)
			}
		}
	}
	if s := f.signals(t, p); len(s) != 1 || s[kept[0].SignalID].ItemID != "sku-2" {
		t.Errorf("after the sweep customer 1 holds %+v; want the view only", s)
	}
}
