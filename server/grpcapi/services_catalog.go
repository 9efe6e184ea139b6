package grpcapi

import (
	"context"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type catalogService struct {
	candorv1.UnimplementedCatalogServiceServer
	door
}

func (s *catalogService) PutItem(ctx context.Context, req *candorv1.PutItemRequest) (*candorv1.PutItemResponse, error) {
	var in *features.Item
	if req.GetItem() != nil {
		it := itemFromProto(req.GetItem())
		in = &it
	}
	it, err := s.core.PutItem(ctx, actor(ctx), req.GetItemId(), in)
	if err != nil {
		return nil, Status(ctx, s.log, "PutItem", err)
	}
	return &candorv1.PutItemResponse{Item: itemToProto(&it)}, nil
}

func (s *catalogService) GetItem(ctx context.Context, req *candorv1.GetItemRequest) (*candorv1.GetItemResponse, error) {
	it, err := s.core.GetItem(ctx, actor(ctx), req.GetItemId())
	if err != nil {
		return nil, Status(ctx, s.log, "GetItem", err)
	}
	return &candorv1.GetItemResponse{Item: itemToProto(&it)}, nil
}

func (s *catalogService) DeleteItem(ctx context.Context, req *candorv1.DeleteItemRequest) (*candorv1.DeleteItemResponse, error) {
	deleted, err := s.core.DeleteItem(ctx, actor(ctx), req.GetItemId())
	if err != nil {
		return nil, Status(ctx, s.log, "DeleteItem", err)
	}
	return &candorv1.DeleteItemResponse{Deleted: deleted}, nil
}

func (s *catalogService) BatchUpsertItems(ctx context.Context, req *candorv1.BatchUpsertItemsRequest) (*candorv1.BatchUpsertItemsResponse, error) {
	items := make([]features.Item, len(req.GetItems()))
	for i, in := range req.GetItems() {
		items[i] = itemFromProto(in)
	}
	if err := s.core.BatchUpsertItems(ctx, actor(ctx), items); err != nil {
		return nil, Status(ctx, s.log, "BatchUpsertItems", err)
	}
	return &candorv1.BatchUpsertItemsResponse{UpsertedCount: int32(len(items))}, nil
}

type policyService struct {
	candorv1.UnimplementedPolicyServiceServer
	door
}

func (s *policyService) GetSignalSets(ctx context.Context, _ *candorv1.GetSignalSetsRequest) (*candorv1.GetSignalSetsResponse, error) {
	p, err := s.core.GetSignalSets(ctx, actor(ctx))
	if err != nil {
		return nil, Status(ctx, s.log, "GetSignalSets", err)
	}
	return &candorv1.GetSignalSetsResponse{Policy: policyToProto(p)}, nil
}

func (s *policyService) PutSignalSets(ctx context.Context, req *candorv1.PutSignalSetsRequest) (*candorv1.PutSignalSetsResponse, error) {
	inputs := make([]consent.SignalSetInput, len(req.GetSignalSets()))
	for i, set := range req.GetSignalSets() {
		inputs[i] = consent.SignalSetInput{Purpose: set.GetPurpose(), SignalTypes: set.GetSignalTypes()}
	}
	p, err := s.core.PutSignalSets(ctx, actor(ctx), inputs, req.GetExpectedVersion())
	if err != nil {
		return nil, Status(ctx, s.log, "PutSignalSets", err)
	}
	return &candorv1.PutSignalSetsResponse{Policy: policyToProto(p)}, nil
}
