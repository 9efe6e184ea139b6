package features_test

import (
	"context"
	"testing"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// TestDeletedSensitiveItemStaysSensitive: deleting a sensitive item from the
// catalogue must not free the signals about it from the explicit consent they
// need (the catalogue keeps a tombstone with the flag).
func TestDeletedSensitiveItemStaysSensitive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	if err := f.catalog.Upsert(ctx, []features.Item{{ID: "brace", Title: "Knee brace", Sensitive: true}}, t0); err != nil {
		t.Fatal(err)
	}
	p := f.customer("c1")
	f.apply(t, p, t0.Add(-2*day), grant(consent.Personalization))
	f.track(t, p, t0, view("brace", t0.Add(-day), consent.Personalization))

	deleted, err := f.catalog.Delete(ctx, "brace")
	if err != nil || !deleted {
		t.Fatalf("Delete: %v, %v", deleted, err)
	}
	if again, err := f.catalog.Delete(ctx, "brace"); err != nil || again {
		t.Fatalf("second Delete: %v, %v; want false", again, err)
	}
	if _, err := f.catalog.Get(ctx, "brace"); err == nil {
		t.Fatal("a deleted item can still be read")
	}
	v := f.load(t, p)
	if v.Catalog.Item("brace") != nil || v.Catalog.Len() != 0 || len(v.Catalog.Newest()) != 0 {
		t.Fatal("a deleted item is still in the catalogue snapshot")
	}
	u := f.store.UsableFor(v, consent.Personalization, t0)
	if len(u.Signals) != 0 || len(u.Excluded) != 1 || u.Excluded[0].Reason != features.ReasonSensitiveNeedsExplicitConsent {
		t.Fatalf("after deletion the signal is usable=%d excluded=%v; want it excluded as sensitive", len(u.Signals), u.Excluded)
	}
	// Upserting the id again revives the item with its new flags.
	if err := f.catalog.Upsert(ctx, []features.Item{{ID: "brace", Title: "Knee brace"}}, t0); err != nil {
		t.Fatal(err)
	}
	if v := f.load(t, p); v.Catalog.Item("brace") == nil || v.Catalog.Sensitive("brace") {
		t.Fatal("the revived item is missing or still sensitive")
	}
}
