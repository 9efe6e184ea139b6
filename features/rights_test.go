package features_test

import (
	"context"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// TestDeleteSignalTakesItsControlAlong: deleting a signal the customer had
// asked us not to use removes that control too (nothing is left for it to
// protect), keeps the customer's other controls, and logs the deletion.
func TestDeleteSignalTakesItsControlAlong(t *testing.T) {
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
	if last := changes[len(changes)-1]; last.Action != "deleted" || last.Target != gone {
		t.Errorf("last change %+v, want the deletion of %s", last, gone)
	}
	// Deleting it again finds nothing and changes nothing.
	if deleted, err := f.store.DeleteSignal(ctx, p, gone, "customer", now); err != nil || deleted {
		t.Errorf("second DeleteSignal: %v %v", deleted, err)
	}
}
