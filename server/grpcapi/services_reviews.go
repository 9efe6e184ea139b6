package grpcapi

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/internal/fault"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type reviewService struct {
	candorv1.UnimplementedReviewServiceServer
	door
}

// CreateReview opens a case about a stored recommendation. A second request
// of the same kind while the first is pending answers AlreadyExists, with the
// pending case as the status's detail.
func (s *reviewService) CreateReview(ctx context.Context, req *candorv1.CreateReviewRequest) (*candorv1.CreateReviewResponse, error) {
	c, err := s.core.CreateReview(ctx, actor(ctx), req.GetRecommendationId(), req.GetKind(), req.GetMessage())
	if errors.Is(err, explain.ErrReviewExists) {
		return nil, s.exists(ctx, err)
	}
	if err != nil {
		return nil, Status(ctx, s.log, "CreateReview", err)
	}
	pc, err := reviewCase(c)
	if err != nil {
		return nil, Status(ctx, s.log, "CreateReview", err)
	}
	return &candorv1.CreateReviewResponse{Case: pc}, nil
}

// exists is AlreadyExists carrying the pending case.
func (s *reviewService) exists(ctx context.Context, err error) error {
	st := status.New(codes.AlreadyExists, fault.MessageOf(err))
	if c, ok := fault.DetailOf(err).(*explain.Case); ok {
		if pc, rerr := reviewCase(c); rerr == nil {
			if with, derr := st.WithDetails(pc); derr == nil {
				st = with
			}
		}
	}
	return st.Err()
}

func (s *reviewService) ListCustomerReviews(ctx context.Context, req *candorv1.ListCustomerReviewsRequest) (*candorv1.ListCustomerReviewsResponse, error) {
	cases, err := s.core.ListCustomerReviews(ctx, actor(ctx), req.GetCustomerId())
	if err != nil {
		return nil, Status(ctx, s.log, "ListCustomerReviews", err)
	}
	out, err := reviewCases(cases)
	if err != nil {
		return nil, Status(ctx, s.log, "ListCustomerReviews", err)
	}
	return &candorv1.ListCustomerReviewsResponse{Cases: out}, nil
}

// ListReviews is the privacy officer's queue.
func (s *reviewService) ListReviews(ctx context.Context, req *candorv1.ListReviewsRequest) (*candorv1.ListReviewsResponse, error) {
	cases, next, err := s.core.ListReviews(ctx, actor(ctx), req.GetStatus(), app.Page{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, Status(ctx, s.log, "ListReviews", err)
	}
	out, err := reviewCases(cases)
	if err != nil {
		return nil, Status(ctx, s.log, "ListReviews", err)
	}
	return &candorv1.ListReviewsResponse{Cases: out, NextPageToken: next}, nil
}

func (s *reviewService) GetReview(ctx context.Context, req *candorv1.GetReviewRequest) (*candorv1.GetReviewResponse, error) {
	c, err := s.core.GetReview(ctx, actor(ctx), req.GetCaseId())
	if err != nil {
		return nil, Status(ctx, s.log, "GetReview", err)
	}
	pc, err := reviewCase(c)
	if err != nil {
		return nil, Status(ctx, s.log, "GetReview", err)
	}
	return &candorv1.GetReviewResponse{Case: pc}, nil
}

func (s *reviewService) UpdateReview(ctx context.Context, req *candorv1.UpdateReviewRequest) (*candorv1.UpdateReviewResponse, error) {
	c, err := s.core.UpdateReview(ctx, actor(ctx), req.GetCaseId(), req.GetStatus(), req.GetReply())
	if err != nil {
		return nil, Status(ctx, s.log, "UpdateReview", err)
	}
	pc, err := reviewCase(c)
	if err != nil {
		return nil, Status(ctx, s.log, "UpdateReview", err)
	}
	return &candorv1.UpdateReviewResponse{Case: pc}, nil
}
