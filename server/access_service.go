package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/explain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type accessService struct {
	candorv1.UnimplementedAccessServiceServer
	*app
	tokens *tokens
}

func (s *accessService) CreateCustomerToken(ctx context.Context, req *candorv1.CreateCustomerTokenRequest) (*candorv1.CreateCustomerTokenResponse, error) {
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return nil, err
	}
	ttl := DefaultTokenTTL
	if req.GetTtlSeconds() != 0 {
		ttl = time.Duration(req.GetTtlSeconds()) * time.Second
		if ttl < MinTokenTTL || ttl > MaxTokenTTL {
			return nil, invalid("ttl_seconds: must be between %d and %d", int(MinTokenTTL.Seconds()), int(MaxTokenTTL.Seconds()))
		}
	}
	token, expires := s.tokens.mint(s.pseudonyms.Pseudonym(req.GetCustomerId()), ttl)
	return &candorv1.CreateCustomerTokenResponse{Token: token, ExpiresAt: timestamppb.New(expires)}, nil
}

func (s *accessService) GetRankingDescription(ctx context.Context, _ *candorv1.GetRankingDescriptionRequest) (*candorv1.GetRankingDescriptionResponse, error) {
	policy, err := s.policies.Current(ctx)
	if err != nil {
		return nil, s.status(ctx, "GetRankingDescription", err)
	}
	out := &candorv1.GetRankingDescriptionResponse{PolicyVersion: policy.Version}
	for _, sec := range explain.RankingDescription(s.rankingFacts(policy)) {
		out.Sections = append(out.Sections, &candorv1.RankingSection{Title: sec.Title, Paragraphs: sec.Paragraphs})
	}
	return out, nil
}
