package server

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/features"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type catalogService struct {
	candorv1.UnimplementedCatalogServiceServer
	*app
}

func (s *catalogService) PutItem(ctx context.Context, req *candorv1.PutItemRequest) (*candorv1.PutItemResponse, error) {
	if req.GetItem() == nil {
		return nil, invalid("item: required")
	}
	if body := req.GetItem().GetItemId(); body != "" && body != req.GetItemId() {
		return nil, invalid("item.item_id: %q differs from the item_id in the path %q", body, req.GetItemId())
	}
	it := itemFromProto(req.GetItem())
	it.ID = req.GetItemId()
	if err := features.ValidateItem("item", &it); err != nil {
		return nil, s.status(ctx, "PutItem", err)
	}
	items := []features.Item{it}
	if err := s.catalog.Upsert(ctx, items, s.now()); err != nil {
		return nil, s.status(ctx, "PutItem", err)
	}
	return &candorv1.PutItemResponse{Item: itemToProto(&items[0])}, nil
}

func (s *catalogService) GetItem(ctx context.Context, req *candorv1.GetItemRequest) (*candorv1.GetItemResponse, error) {
	if err := features.ValidateItemID("item_id", req.GetItemId()); err != nil {
		return nil, s.status(ctx, "GetItem", err)
	}
	it, err := s.catalog.Get(ctx, req.GetItemId())
	if err != nil {
		return nil, s.status(ctx, "GetItem", err)
	}
	return &candorv1.GetItemResponse{Item: itemToProto(&it)}, nil
}

func (s *catalogService) DeleteItem(ctx context.Context, req *candorv1.DeleteItemRequest) (*candorv1.DeleteItemResponse, error) {
	if err := features.ValidateItemID("item_id", req.GetItemId()); err != nil {
		return nil, s.status(ctx, "DeleteItem", err)
	}
	deleted, err := s.catalog.Delete(ctx, req.GetItemId())
	if err != nil {
		return nil, s.status(ctx, "DeleteItem", err)
	}
	return &candorv1.DeleteItemResponse{Deleted: deleted}, nil
}

func (s *catalogService) BatchUpsertItems(ctx context.Context, req *candorv1.BatchUpsertItemsRequest) (*candorv1.BatchUpsertItemsResponse, error) {
	n := len(req.GetItems())
	if n == 0 {
		return nil, invalid("items: at least one item is required")
	}
	if n > features.MaxItemsPerUpsert {
		return nil, invalid("items: at most %d items per call, got %d: split the batch", features.MaxItemsPerUpsert, n)
	}
	items := make([]features.Item, n)
	seen := make(map[string]int, n)
	for i, in := range req.GetItems() {
		items[i] = itemFromProto(in)
		field := fmt.Sprintf("items[%d]", i)
		if err := features.ValidateItem(field, &items[i]); err != nil {
			return nil, s.status(ctx, "BatchUpsertItems", err)
		}
		if j, dup := seen[items[i].ID]; dup {
			return nil, invalid("%s.item_id: %q repeats items[%d]", field, items[i].ID, j)
		}
		seen[items[i].ID] = i
	}
	if err := s.catalog.Upsert(ctx, items, s.now()); err != nil {
		return nil, s.status(ctx, "BatchUpsertItems", err)
	}
	return &candorv1.BatchUpsertItemsResponse{UpsertedCount: int32(n)}, nil
}

func itemFromProto(in *candorv1.Item) features.Item {
	return features.Item{
		ID:          in.GetItemId(),
		Title:       in.GetTitle(),
		Categories:  in.GetCategories(),
		Sensitive:   in.GetSensitive(),
		Promotional: in.GetPromotional(),
	}
}

func itemToProto(it *features.Item) *candorv1.Item {
	return &candorv1.Item{
		ItemId:      it.ID,
		Title:       it.Title,
		Categories:  it.Categories,
		Sensitive:   it.Sensitive,
		Promotional: it.Promotional,
		UpdatedAt:   timestamppb.New(it.UpdatedAt),
	}
}
