package features_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// TestDeleteSignalTakesItsControlAlong: deleting a signal the customer had
// asked us not to use removes that control too (nothing is left for it to
// protect), keeps the customer's other controls, and logs the deletion.
func TestDeleteSignalTakesItsControlAlong(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	now := time.Date(2100, 1, 2, 12, 0, 0, 0, time.UTC)
	p := f.customer("dora")
	f.apply(t, p, now, grant(consent.Personalization))
	res := f.track(t, p, now, view("sku-1", now.Add(-time.Hour), consent.Personalization), view("sku-2", now.Add(-time.Hour), consent.Personalization))
	gone, kept := res[0].SignalID, res[1].SignalID
	for _, id := range []string{gone, kept} {
		if _, _, err := f.store.SetControl(ctx, p, features.ControlSignal, id, "customer", now); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.store.SetControl(ctx, p, features.ControlItem, "sku-3", "customer", now); err != nil {
		t.Fatal(err)
	}

	deleted, err := f.store.DeleteSignal(ctx, p, gone, "customer", now)
	if err != nil || !deleted {
		t.Fatalf("DeleteSignal: %v %v", deleted, err)
	}
	controls, err := f.store.Controls(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if controls.SuppressedSignal(gone) || !controls.SuppressedSignal(kept) || len(controls.List()) != 2 {
		t.Errorf("controls after deleting %s: %+v", gone, controls.List())
	}
	if _, ok := f.signals(t, p)[gone]; ok {
		t.Error("the signal is still stored")
	}
	changes, _, err := f.store.ControlHistory(ctx, p, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) == 0 {
		t.Fatal("no change logged")
	}
	if last := changes[len(changes)-1]; last.Action != "deleted" || last.Target != gone {
		t.Errorf("last change %+v, want the deletion of %s", last, gone)
	}
	// Deleting it again finds nothing and changes nothing.
	if deleted, err := f.store.DeleteSignal(ctx, p, gone, "customer", now); err != nil || deleted {
		t.Errorf("second DeleteSignal: %v %v", deleted, err)
	}
}

// TestSkipOptedOutRecordsOneOptOut: the same opt-out applied by many
// concurrent requests (a browser sending Sec-GPC: 1 on every call) is
// recorded once per purpose; a purpose given later is withdrawn again by
// the next one.
func TestSkipOptedOutRecordsOneOptOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	now := time.Date(2100, 1, 2, 12, 0, 0, 0, time.UTC)
	p := f.customer("gina")
	f.apply(t, p, now, grant(consent.ModelTraining), grant(consent.Personalization))
	optOut := consent.Change{
		Choices:       []consent.Choice{revoke(consent.ModelTraining), revoke(consent.MarketingEmail)},
		NoticeVersion: "global-privacy-control", Method: consent.MethodGPC, ActorRole: "customer", At: now,
		SkipOptedOut: true,
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if _, err := f.store.ApplyConsent(ctx, p, optOut); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	count := func() map[string]int {
		n := map[string]int{}
		err := f.store.EachLedgerEntry(ctx, p, func(e consent.LedgerEntry) error {
			if e.Method == "gpc" {
				n[e.Purpose]++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n["model_training"] != 1 || n["marketing_email"] != 1 || len(n) != 2 {
		t.Fatalf("40 concurrent opt-outs recorded %v, want one per purpose", n)
	}
	f.apply(t, p, now, grant(consent.MarketingEmail))
	res, err := f.store.ApplyConsent(ctx, p, optOut)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Recorded) != 1 || res.Recorded[0].Purpose != "marketing_email" || res.State.Granted(consent.MarketingEmail) {
		t.Errorf("opt-out after a new grant recorded %+v", res.Recorded)
	}
	if !res.State.Granted(consent.Personalization) {
		t.Error("the opt-out touched personalisation")
	}

	// A grant confirmed over GPC is the customer's choice: an opt-out
	// planned by a request that read the state before it (as a GPC
	// request running at the same time does) records nothing.
	if _, err := f.store.ApplyConsent(ctx, p, consent.Change{
		Choices: []consent.Choice{grant(consent.MarketingEmail)}, NoticeVersion: "notice-v3", Method: consent.MethodUI,
		ActorRole: "customer", At: now, OverGPC: true,
	}); err != nil {
		t.Fatal(err)
	}
	res, err = f.store.ApplyConsent(ctx, p, optOut)
	if err != nil {
		t.Fatal(err)
	}
	if d := res.State.Decisions[consent.MarketingEmail]; len(res.Recorded) != 0 || !d.Granted() || !d.OverGPC {
		t.Errorf("an opt-out after a grant confirmed over GPC recorded %+v; marketing_email is %+v", res.Recorded, d)
	}
}
