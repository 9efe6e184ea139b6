package server

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/explain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type reviewService struct {
	candorv1.UnimplementedReviewServiceServer
	*app
}

// CreateReview opens a case about a stored recommendation: by the customer
// it was made for (customer token), or by the storefront or support chat
// relaying the customer's request about an answer of their own surfaces.
func (s *reviewService) CreateReview(ctx context.Context, req *candorv1.CreateReviewRequest) (*candorv1.CreateReviewResponse, error) {
	// One time for the read and the case: a case is stamped no later than
	// the read of the answer it copies (see the erasure follow-up).
	now := s.now()
	owner, answer, err := s.readableAnswer(ctx, "CreateReview", req.GetRecommendationId(), now)
	if err != nil {
		return nil, err
	}
	c, err := s.reviews.Open(ctx, owner, answer, req.GetKind(), req.GetMessage(), now)
	if err != nil {
		return nil, s.status(ctx, "CreateReview", err)
	}
	pc, err := caseToProto(c)
	if err != nil {
		return nil, s.status(ctx, "CreateReview", err)
	}
	return &candorv1.CreateReviewResponse{Case: pc}, nil
}

func (s *reviewService) ListCustomerReviews(ctx context.Context, req *candorv1.ListCustomerReviewsRequest) (*candorv1.ListCustomerReviewsResponse, error) {
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return nil, err
	}
	cases, err := s.reviews.Customer(ctx, s.pseudonyms.Pseudonym(req.GetCustomerId()))
	if err != nil {
		return nil, s.status(ctx, "ListCustomerReviews", err)
	}
	out := &candorv1.ListCustomerReviewsResponse{}
	for _, c := range cases {
		// A role limited to some surfaces sees the cases about answers of
		// those surfaces only, as it reads the answers themselves.
		answer, err := c.Recommendation()
		if err != nil {
			return nil, s.status(ctx, "ListCustomerReviews", err)
		}
		if !surfaceReadable(ctx, answer.Surface) {
			continue
		}
		pc, err := caseToProto(c)
		if err != nil {
			return nil, s.status(ctx, "ListCustomerReviews", err)
		}
		out.Cases = append(out.Cases, pc)
	}
	return out, nil
}

// ListReviews is the privacy officer's queue.
func (s *reviewService) ListReviews(ctx context.Context, req *candorv1.ListReviewsRequest) (*candorv1.ListReviewsResponse, error) {
	st := req.GetStatus()
	if st == "" {
		st = explain.ReviewOpen
	}
	offset, size, err := pageOf(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	cases, total, err := s.reviews.Queue(ctx, st, offset, size)
	if err != nil {
		return nil, s.status(ctx, "ListReviews", err)
	}
	out := &candorv1.ListReviewsResponse{}
	for _, c := range cases {
		pc, err := caseToProto(c)
		if err != nil {
			return nil, s.status(ctx, "ListReviews", err)
		}
		out.Cases = append(out.Cases, pc)
	}
	if next := offset + size; next < total {
		out.NextPageToken = encodePageToken(next)
	}
	return out, nil
}

func (s *reviewService) GetReview(ctx context.Context, req *candorv1.GetReviewRequest) (*candorv1.GetReviewResponse, error) {
	if !explain.ValidCaseID(req.GetCaseId()) {
		return nil, invalid("case_id: not a case id (they look like case_ followed by 24 characters)")
	}
	c, err := s.reviews.Get(ctx, req.GetCaseId())
	if err != nil {
		return nil, s.status(ctx, "GetReview", err)
	}
	pc, err := caseToProto(c)
	if err != nil {
		return nil, s.status(ctx, "GetReview", err)
	}
	return &candorv1.GetReviewResponse{Case: pc}, nil
}

func (s *reviewService) UpdateReview(ctx context.Context, req *candorv1.UpdateReviewRequest) (*candorv1.UpdateReviewResponse, error) {
	if !explain.ValidCaseID(req.GetCaseId()) {
		return nil, invalid("case_id: not a case id (they look like case_ followed by 24 characters)")
	}
	c, err := s.reviews.Update(ctx, req.GetCaseId(), req.GetStatus(), req.GetReply(), s.now())
	if err != nil {
		return nil, s.status(ctx, "UpdateReview", err)
	}
	pc, err := caseToProto(c)
	if err != nil {
		return nil, s.status(ctx, "UpdateReview", err)
	}
	return &candorv1.UpdateReviewResponse{Case: pc}, nil
}

// caseToProto renders a case with its recommendation and every reason (a
// reviewer needs them all). It never carries whose case it is.
func caseToProto(c *explain.Case) (*candorv1.ReviewCase, error) {
	a, err := c.Recommendation()
	if err != nil {
		return nil, err
	}
	return &candorv1.ReviewCase{
		CaseId: c.ID, RecommendationId: c.RecommendationID, Kind: c.Kind, Message: c.Message,
		Status: c.Status, Reply: c.Reply, CreatedAt: timestamppb.New(c.CreatedAt), UpdatedAt: timestamppb.New(c.UpdatedAt),
		Recommendation: recommendationToProto(a.RenderAllReasons()),
	}, nil
}
