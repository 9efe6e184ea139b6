package features_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
)

func TestValidateItem(t *testing.T) {
	t.Parallel()
	valid := func() features.Item {
		return features.Item{ID: "sku-1", Title: "Running shoes", Categories: []string{"sport", "shoes"}}
	}
	tests := []struct {
		name   string
		modify func(it *features.Item)
		field  string // "" means valid
	}{
		{"valid", func(it *features.Item) {}, ""},
		{"no categories", func(it *features.Item) { it.Categories = nil }, ""},
		{"max categories", func(it *features.Item) { it.Categories = make([]string, features.MaxCategories); fill(it.Categories) }, ""},
		{"max title", func(it *features.Item) { it.Title = strings.Repeat("t", features.MaxTitleLen) }, ""},
		{"unicode title", func(it *features.Item) { it.Title = "Кроссовки «Бег» 跑鞋" }, ""},
		{"empty id", func(it *features.Item) { it.ID = "" }, "items[3].item_id"},
		{"id too long", func(it *features.Item) { it.ID = strings.Repeat("i", features.MaxItemIDLen+1) }, "items[3].item_id"},
		{"id with control char", func(it *features.Item) { it.ID = "sku\x01" }, "items[3].item_id"},
		{"id with leading space", func(it *features.Item) { it.ID = " sku" }, "items[3].item_id"},
		{"id invalid UTF-8", func(it *features.Item) { it.ID = "sku\xc3" }, "items[3].item_id"},
		{"empty title", func(it *features.Item) { it.Title = "" }, "items[3].title"},
		{"blank title", func(it *features.Item) { it.Title = " \t" }, "items[3].title"},
		{"title too long", func(it *features.Item) { it.Title = strings.Repeat("t", features.MaxTitleLen+1) }, "items[3].title"},
		{"title with newline", func(it *features.Item) { it.Title = "Running\nshoes" }, "items[3].title"},
		{"title invalid UTF-8", func(it *features.Item) { it.Title = "Running \xff shoes" }, "items[3].title"},
		{"title with replacement char", func(it *features.Item) { it.Title = "Running \uFFFD shoes" }, "items[3].title"},
		{"too many categories", func(it *features.Item) {
			it.Categories = make([]string, features.MaxCategories+1)
			fill(it.Categories)
		}, "items[3].categories"},
		{"empty category", func(it *features.Item) { it.Categories = []string{"sport", ""} }, "items[3].categories[1]"},
		{"category too long", func(it *features.Item) { it.Categories = []string{strings.Repeat("c", features.MaxCategoryLen+1)} }, "items[3].categories[0]"},
		{"category with control char", func(it *features.Item) { it.Categories = []string{"a", "b", "sp\x1bort"} }, "items[3].categories[2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			it := valid()
			tt.modify(&it)
			err := features.ValidateItem("items[3]", &it)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("ValidateItem = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, features.ErrInvalid) {
				t.Fatalf("ValidateItem = %v, want ErrInvalid", err)
			}
			if !strings.HasPrefix(fault.MessageOf(err), tt.field+": ") { // the caller reads the field first
				t.Errorf("error %q does not name the field %q", err, tt.field)
			}
		})
	}
}

func fill(cats []string) {
	for i := range cats {
		cats[i] = fmt.Sprintf("category-%d", i)
	}
}

func TestCatalogUpsertGetDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	c := f.catalog
	at := t0.Add(123456789 * time.Nanosecond)
	items := []features.Item{
		{ID: "sku-1", Title: "Shoes", Categories: []string{"sport"}, Promotional: true},
		{ID: "sku-2", Title: "Pills", Sensitive: true},
	}
	if err := c.Upsert(ctx, items, at); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	got, err := c.Get(ctx, "sku-2")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.ID != "sku-2" || got.Title != "Pills" || !got.Sensitive || got.Promotional || !got.UpdatedAt.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("Get(sku-2) = %+v", got)
	}
	if got, err := c.Get(ctx, "sku-1"); err != nil || !slices.Equal(got.Categories, []string{"sport"}) || !got.Promotional {
		t.Errorf("Get(sku-1) = %+v, %v", got, err)
	}
	if _, err := c.Get(ctx, "sku-404"); !errors.Is(err, features.ErrNotFound) {
		t.Errorf("Get of a missing item = %v, want ErrNotFound", err)
	}

	// Upsert replaces.
	if err := c.Upsert(ctx, []features.Item{{ID: "sku-1", Title: "Trail shoes"}}, at.Add(time.Hour)); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	if got, err := c.Get(ctx, "sku-1"); err != nil || got.Title != "Trail shoes" || got.Categories != nil || got.Promotional {
		t.Errorf("after replacing, Get(sku-1) = %+v, %v", got, err)
	}

	existed, err := c.Delete(ctx, "sku-1")
	if err != nil || !existed {
		t.Fatalf("Delete(sku-1) = %v, %v; want true", existed, err)
	}
	if _, err := c.Get(ctx, "sku-1"); !errors.Is(err, features.ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
	snap, err := c.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	existed, err = c.Delete(ctx, "sku-1")
	if err != nil || existed {
		t.Errorf("Delete of a deleted item = %v, %v; want false", existed, err)
	}
	if existed, err := c.Delete(ctx, "never-existed"); err != nil || existed {
		t.Errorf("Delete of a missing item = %v, %v; want false", existed, err)
	}
	if again, err := c.Current(ctx); err != nil || again.Version != snap.Version {
		t.Errorf("deleting missing items changed the version from %d to %d (%v)", snap.Version, again.Version, err)
	}
	// An empty upsert is a no-op.
	if err := c.Upsert(ctx, nil, at); err != nil {
		t.Errorf("empty Upsert: %v", err)
	}
	if again, err := c.Current(ctx); err != nil || again.Version != snap.Version {
		t.Errorf("an empty upsert changed the version from %d to %d (%v)", snap.Version, again.Version, err)
	}
}

func TestCatalogSeenByAnotherServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	other := f.otherServer(t)

	snap, err := other.catalog.Current(ctx)
	if err != nil || snap.Version != 0 || snap.Len() != 0 {
		t.Fatalf("empty catalogue: %+v, %v", snap, err)
	}
	if err := f.catalog.Upsert(ctx, []features.Item{{ID: "a", Title: "A"}, {ID: "b", Title: "B"}}, t0); err != nil {
		t.Fatal(err)
	}
	snap1, err := other.catalog.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap1.Version != 1 || snap1.Len() != 2 || snap1.Item("a") == nil || snap1.Item("a").Title != "A" {
		t.Fatalf("after upsert, other server sees version %d with %d items", snap1.Version, snap1.Len())
	}
	if err := f.catalog.Upsert(ctx, []features.Item{{ID: "b", Title: "B2", Sensitive: true}}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if existed, err := f.catalog.Delete(ctx, "a"); err != nil || !existed {
		t.Fatalf("Delete = %v, %v", existed, err)
	}
	// SyncTo the version it read (as Load does) brings in both changes.
	v, err := f.rdb.Get(ctx, other.catalog.VersionKey()).Int64()
	if err != nil || v != 3 {
		t.Fatalf("catalogue version = %d, %v; want 3", v, err)
	}
	snap3, err := other.catalog.SyncTo(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if snap3.Version != 3 || snap3.Len() != 1 || snap3.Item("a") != nil {
		t.Errorf("after delete, other server sees version %d with %d items, a=%+v", snap3.Version, snap3.Len(), snap3.Item("a"))
	}
	if b := snap3.Item("b"); b == nil || b.Title != "B2" || !b.Sensitive {
		t.Errorf("after replace, b = %+v", b)
	}
	// Older snapshots are immutable.
	if snap1.Len() != 2 || snap1.Item("b").Title != "B" {
		t.Errorf("an older snapshot changed: %d items, b=%+v", snap1.Len(), snap1.Item("b"))
	}
	// Syncing to an older version keeps the newer snapshot.
	if s, err := other.catalog.SyncTo(ctx, 1); err != nil || s != snap3 {
		t.Errorf("SyncTo(1) = version %d, %v; want the current snapshot", s.Version, err)
	}
	// A customer view read on the other server holds the current catalogue.
	if view := other.load(t, f.customer("c")); view.Catalog.Version != 3 || view.Catalog.Item("a") != nil {
		t.Errorf("Load's catalogue = version %d", view.Catalog.Version)
	}
}

func TestCatalogNewest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	up := func(at time.Time, ids ...string) {
		t.Helper()
		var items []features.Item
		for _, id := range ids {
			items = append(items, features.Item{ID: id, Title: "Item " + id})
		}
		if err := f.catalog.Upsert(ctx, items, at); err != nil {
			t.Fatal(err)
		}
	}
	up(t0, "old-b", "old-a")
	up(t0.Add(2*time.Hour), "new-z", "new-c")
	up(t0.Add(time.Hour), "mid")
	up(t0.Add(3*time.Hour), "old-a") // updated again: now the newest
	snap, err := f.otherServer(t).catalog.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range snap.Newest() {
		got = append(got, it.ID)
	}
	want := []string{"old-a", "new-c", "new-z", "mid", "old-b"}
	if !slices.Equal(got, want) {
		t.Errorf("Newest = %v, want %v", got, want)
	}
}
