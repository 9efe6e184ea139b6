package app

import (
	"context"
	"fmt"

	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
)

// PutItem creates or replaces one catalogue item. pathID is the id the
// request names the item by; the item's own id, if set, must agree.
func (a *App) PutItem(ctx context.Context, who Actor, pathID string, in *features.Item) (features.Item, error) {
	if err := authorize(OpPutItem, who); err != nil {
		return features.Item{}, err
	}
	if in == nil {
		return features.Item{}, fault.Invalidf("item: required")
	}
	it := *in
	if it.ID != "" && it.ID != pathID {
		return features.Item{}, fault.Invalidf("item.item_id: %q differs from the item_id in the path %q", it.ID, pathID)
	}
	it.ID = pathID
	if err := features.ValidateItem("item", &it); err != nil {
		return features.Item{}, err
	}
	items := []features.Item{it}
	if err := a.catalog.Upsert(ctx, items, a.now()); err != nil {
		return features.Item{}, err
	}
	return items[0], nil
}

// GetItem reads one catalogue item.
func (a *App) GetItem(ctx context.Context, who Actor, id string) (features.Item, error) {
	if err := authorize(OpGetItem, who); err != nil {
		return features.Item{}, err
	}
	if err := features.ValidateItemID("item_id", id); err != nil {
		return features.Item{}, err
	}
	return a.catalog.Get(ctx, id)
}

// DeleteItem removes one catalogue item; it reports whether it was there.
func (a *App) DeleteItem(ctx context.Context, who Actor, id string) (bool, error) {
	if err := authorize(OpDeleteItem, who); err != nil {
		return false, err
	}
	if err := features.ValidateItemID("item_id", id); err != nil {
		return false, err
	}
	return a.catalog.Delete(ctx, id)
}

// BatchUpsertItems creates or replaces up to features.MaxItemsPerUpsert
// items at once: all of them or, on invalid input, none.
func (a *App) BatchUpsertItems(ctx context.Context, who Actor, items []features.Item) error {
	if err := authorize(OpBatchUpsertItems, who); err != nil {
		return err
	}
	n := len(items)
	if n == 0 {
		return fault.Invalidf("items: at least one item is required")
	}
	if n > features.MaxItemsPerUpsert {
		return fault.Invalidf("items: at most %d items per call, got %d: split the batch", features.MaxItemsPerUpsert, n)
	}
	seen := make(map[string]int, n)
	for i := range items {
		field := fmt.Sprintf("items[%d]", i)
		if err := features.ValidateItem(field, &items[i]); err != nil {
			return err
		}
		if j, dup := seen[items[i].ID]; dup {
			return fault.Invalidf("%s.item_id: %q repeats items[%d]", field, items[i].ID, j)
		}
		seen[items[i].ID] = i
	}
	return a.catalog.Upsert(ctx, items, a.now())
}
