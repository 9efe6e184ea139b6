package server

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/consent"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type policyService struct {
	candorv1.UnimplementedPolicyServiceServer
	*app
}

func (s *policyService) GetSignalSets(ctx context.Context, _ *candorv1.GetSignalSetsRequest) (*candorv1.GetSignalSetsResponse, error) {
	p, err := s.policies.Current(ctx)
	if err != nil {
		return nil, s.status(ctx, "GetSignalSets", err)
	}
	return &candorv1.GetSignalSetsResponse{Policy: policyToProto(p)}, nil
}

func (s *policyService) PutSignalSets(ctx context.Context, req *candorv1.PutSignalSetsRequest) (*candorv1.PutSignalSetsResponse, error) {
	if req.GetExpectedVersion() < 0 {
		return nil, invalid("expected_version: must not be negative")
	}
	inputs := make([]consent.SignalSetInput, len(req.GetSignalSets()))
	for i, set := range req.GetSignalSets() {
		inputs[i] = consent.SignalSetInput{Purpose: set.GetPurpose(), SignalTypes: set.GetSignalTypes()}
	}
	allowed, err := consent.ParseSignalSets(inputs)
	if err != nil {
		return nil, s.status(ctx, "PutSignalSets", err)
	}
	role, _ := RoleFrom(ctx)
	p, err := s.policies.Put(ctx, allowed, req.GetExpectedVersion(), string(role), s.now())
	if err != nil {
		return nil, s.status(ctx, "PutSignalSets", err)
	}
	return &candorv1.PutSignalSetsResponse{Policy: policyToProto(p)}, nil
}

func policyToProto(p *consent.Policy) *candorv1.SignalSetPolicy {
	out := &candorv1.SignalSetPolicy{Version: p.Version, AuthorRole: p.AuthorRole}
	if !p.CreatedAt.IsZero() {
		out.CreatedAt = timestamppb.New(p.CreatedAt)
	}
	for _, purpose := range consent.Purposes() {
		out.SignalSets = append(out.SignalSets, &candorv1.SignalSet{Purpose: purpose.String(), SignalTypes: p.Allowed[purpose].Names()})
	}
	return out
}
