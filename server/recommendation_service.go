package server

import (
	"context"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type recommendationService struct {
	candorv1.UnimplementedRecommendationServiceServer
	*app
}

// surfaces maps each surface to the purpose it serves.
var surfaces = map[string]consent.Purpose{
	"storefront": consent.Personalization,
	"support":    consent.Support,
	"email":      consent.MarketingEmail,
}

const (
	defaultLimit = 10
	maxLimit     = 100
)

func (s *recommendationService) GetRecommendations(ctx context.Context, req *candorv1.GetRecommendationsRequest) (*candorv1.GetRecommendationsResponse, error) {
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return nil, err
	}
	surface := req.GetSurface()
	if surface == "" {
		surface = "storefront"
	}
	purpose, ok := surfaces[surface]
	if !ok {
		return nil, invalid("surface: unknown surface %q (known: storefront, support, email)", surface)
	}
	role, _ := RoleFrom(ctx)
	if !slices.Contains(surfaceAccess[role], surface) {
		return nil, status.Errorf(codes.PermissionDenied, "role %s may not request the %s surface", role, surface)
	}
	limit := int(req.GetLimit())
	switch {
	case limit == 0:
		limit = defaultLimit
	case limit < 0 || limit > maxLimit:
		return nil, invalid("limit: must be between 1 and %d, got %d", maxLimit, limit)
	}

	now := s.now()
	pseudonym := s.pseudonyms.Pseudonym(req.GetCustomerId())
	view, err := s.store.Load(ctx, pseudonym)
	if err != nil {
		return nil, s.status(ctx, "GetRecommendations", err)
	}
	usable := s.store.UsableFor(view, purpose, now)
	result := s.models.Models().Recommend(usable.Signals, view.Catalog, engine.Request{
		Purpose:            purpose,
		Limit:              limit,
		Now:                now,
		ExcludePromotional: surface == "support",
		AllowSensitive:     view.Consent.SensitiveGranted(purpose),
		Controls:           &view.Controls,
	}, &s.cfg.Train.Weights)
	rec := explain.Build(explain.Input{
		ID:              explain.NewID(),
		Surface:         surface,
		Purpose:         purpose,
		View:            view,
		Usable:          &usable,
		Result:          &result,
		SignalRetention: s.store.Retention(),
		CreatedAt:       now,
		ExpiresAt:       now.Add(s.cfg.ExplanationRetention),
	})
	if err := s.explanations.Save(ctx, pseudonym, rec); err != nil {
		return nil, s.status(ctx, "GetRecommendations", err)
	}
	return &candorv1.GetRecommendationsResponse{Recommendation: recommendationToProto(rec.Render())}, nil
}

func (s *recommendationService) GetRecommendation(ctx context.Context, req *candorv1.GetRecommendationRequest) (*candorv1.GetRecommendationResponse, error) {
	_, answer, err := s.readableAnswer(ctx, "GetRecommendation", req.GetRecommendationId(), s.now())
	if err != nil {
		return nil, err
	}
	if req.GetAllReasons() {
		return &candorv1.GetRecommendationResponse{Recommendation: recommendationToProto(answer.RenderAllReasons())}, nil
	}
	return &candorv1.GetRecommendationResponse{Recommendation: recommendationToProto(answer.Render())}, nil
}

// readableAnswer reads a stored answer the caller may read: a customer
// token only its own customer's, and a role limited to some surfaces only
// answers of those surfaces (the privacy officer, not limited, reads all).
// It returns whose answer it is; errors are the API's.
func (a *app) readableAnswer(ctx context.Context, method, id string, now time.Time) (features.Pseudonym, *explain.Answer, error) {
	if !explain.ValidID(id) {
		return "", nil, invalid("recommendation_id: not a recommendation id (they look like rec_ followed by 24 characters)")
	}
	owner, answer, err := a.explanations.Get(ctx, id, now)
	if err != nil {
		return "", nil, a.status(ctx, method, err)
	}
	if customer, ok := tokenCustomer(ctx); ok && customer != owner {
		return "", nil, errOtherCustomer
	}
	if !surfaceReadable(ctx, answer.Surface) {
		return "", nil, status.Error(codes.NotFound, "recommendation not found")
	}
	return owner, answer, nil
}

// surfaceReadable reports whether the caller's role may read answers of a
// surface.
func surfaceReadable(ctx context.Context, surface string) bool {
	role, _ := RoleFrom(ctx)
	allowed, limited := surfaceAccess[role]
	return !limited || slices.Contains(allowed, surface)
}
