package grpcapi

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/app"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type recommendationService struct {
	candorv1.UnimplementedRecommendationServiceServer
	door
}

func (s *recommendationService) GetRecommendations(ctx context.Context, req *candorv1.GetRecommendationsRequest) (*candorv1.GetRecommendationsResponse, error) {
	answer, err := s.core.GetRecommendations(ctx, actor(ctx), app.RecommendRequest{
		CustomerID: req.GetCustomerId(), Surface: req.GetSurface(), Limit: int(req.GetLimit()),
	})
	if err != nil {
		return nil, Status(ctx, s.log, "GetRecommendations", err)
	}
	return &candorv1.GetRecommendationsResponse{Recommendation: recommendation(answer, false)}, nil
}

func (s *recommendationService) GetRecommendation(ctx context.Context, req *candorv1.GetRecommendationRequest) (*candorv1.GetRecommendationResponse, error) {
	answer, err := s.core.GetRecommendation(ctx, actor(ctx), req.GetRecommendationId())
	if err != nil {
		return nil, Status(ctx, s.log, "GetRecommendation", err)
	}
	return &candorv1.GetRecommendationResponse{Recommendation: recommendation(answer, req.GetAllReasons())}, nil
}

type controlService struct {
	candorv1.UnimplementedControlServiceServer
	door
}

func (s *controlService) ListControls(ctx context.Context, req *candorv1.ListControlsRequest) (*candorv1.ListControlsResponse, error) {
	controls, err := s.core.ListControls(ctx, actor(ctx), req.GetCustomerId())
	if err != nil {
		return nil, Status(ctx, s.log, "ListControls", err)
	}
	out := &candorv1.ListControlsResponse{}
	for _, c := range controls {
		out.Controls = append(out.Controls, controlToProto(c))
	}
	return out, nil
}

func (s *controlService) SetControl(ctx context.Context, req *candorv1.SetControlRequest) (*candorv1.SetControlResponse, error) {
	c, err := s.core.SetControl(ctx, actor(ctx), req.GetCustomerId(), app.ControlChange{Kind: req.GetKind(), Target: req.GetTarget()})
	if err != nil {
		return nil, Status(ctx, s.log, "SetControl", err)
	}
	return &candorv1.SetControlResponse{Control: controlToProto(c)}, nil
}

func (s *controlService) RemoveControl(ctx context.Context, req *candorv1.RemoveControlRequest) (*candorv1.RemoveControlResponse, error) {
	removed, err := s.core.RemoveControl(ctx, actor(ctx), req.GetCustomerId(), app.ControlChange{Kind: req.GetKind(), Target: req.GetTarget()})
	if err != nil {
		return nil, Status(ctx, s.log, "RemoveControl", err)
	}
	return &candorv1.RemoveControlResponse{Removed: removed}, nil
}

func (s *controlService) ListControlHistory(ctx context.Context, req *candorv1.ListControlHistoryRequest) (*candorv1.ListControlHistoryResponse, error) {
	changes, next, err := s.core.ListControlHistory(ctx, actor(ctx), req.GetCustomerId(), app.Page{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, Status(ctx, s.log, "ListControlHistory", err)
	}
	out := &candorv1.ListControlHistoryResponse{NextPageToken: next}
	for i := range changes {
		out.Entries = append(out.Entries, controlChange(&changes[i]))
	}
	return out, nil
}

type accessService struct {
	candorv1.UnimplementedAccessServiceServer
	door
}

func (s *accessService) CreateCustomerToken(ctx context.Context, req *candorv1.CreateCustomerTokenRequest) (*candorv1.CreateCustomerTokenResponse, error) {
	token, expires, err := s.core.CreateCustomerToken(ctx, actor(ctx), req.GetCustomerId(), time.Duration(req.GetTtlSeconds())*time.Second)
	if err != nil {
		return nil, Status(ctx, s.log, "CreateCustomerToken", err)
	}
	return &candorv1.CreateCustomerTokenResponse{Token: token, ExpiresAt: timestamppb.New(expires)}, nil
}

func (s *accessService) GetRankingDescription(ctx context.Context, _ *candorv1.GetRankingDescriptionRequest) (*candorv1.GetRankingDescriptionResponse, error) {
	sections, version, err := s.core.RankingDescription(ctx, actor(ctx))
	if err != nil {
		return nil, Status(ctx, s.log, "GetRankingDescription", err)
	}
	out := &candorv1.GetRankingDescriptionResponse{PolicyVersion: version}
	for _, sec := range sections {
		out.Sections = append(out.Sections, rankingSection(sec))
	}
	return out, nil
}
