package app

import (
	"context"
	"slices"
	"time"

	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
)

// Recommendation limits.
const (
	DefaultLimit = 10
	MaxLimit     = 100
)

// RecommendRequest asks for one answer.
type RecommendRequest struct {
	CustomerID string
	// Surface is where the answer is shown (storefront, support, email);
	// empty is storefront. It decides the purpose.
	Surface string
	// Limit is how many items (0: DefaultLimit).
	Limit int
}

// GetRecommendations ranks items for a customer on a surface from the
// signals usable for the surface's purpose, explains every item, and stores
// the explanation under the answer's id.
func (a *App) GetRecommendations(ctx context.Context, who Actor, req RecommendRequest) (*explain.Answer, error) {
	p, err := a.customer(ctx, OpGetRecommendations, who, req.CustomerID)
	if err != nil {
		return nil, err
	}
	surface := req.Surface
	if surface == "" {
		surface = "storefront"
	}
	purpose, ok := surfaces[surface]
	if !ok {
		return nil, fault.Invalidf("surface: unknown surface %q (known: storefront, support, email)", surface)
	}
	if !slices.Contains(surfaceAccess[who.Role], surface) {
		return nil, fault.New(fault.PermissionDenied, "role %s may not request the %s surface", who.Role, surface)
	}
	limit := req.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return nil, fault.Invalidf("limit: must be between 1 and %d, got %d", MaxLimit, limit)
	}

	now := a.now()
	view, err := a.store.Load(ctx, p)
	if err != nil {
		return nil, err
	}
	usable := a.store.UsableFor(view, purpose, now)
	result := a.models.Models().Recommend(usable.Signals, view.Catalog, engine.Request{
		Purpose:            purpose,
		Limit:              limit,
		Now:                now,
		ExcludePromotional: surface == "support",
		AllowSensitive:     view.Consent.SensitiveGranted(purpose),
		Controls:           &view.Controls,
	}, &a.cfg.Train.Weights)
	answer := explain.Build(explain.Input{
		ID:              explain.NewID(),
		Surface:         surface,
		Purpose:         purpose,
		View:            view,
		Usable:          &usable,
		Result:          &result,
		SignalRetention: a.store.Retention(),
		CreatedAt:       now,
		ExpiresAt:       now.Add(a.cfg.ExplanationRetention),
	})
	if err := a.explanations.Save(ctx, p, answer); err != nil {
		return nil, err
	}
	return answer, nil
}

// errAnswerNotFound answers a stored answer that does not exist, has
// expired, or is not the caller's to read.
var errAnswerNotFound = fault.Wrapf(features.ErrNotFound, "recommendation not found")

// GetRecommendation reads a stored answer back.
func (a *App) GetRecommendation(ctx context.Context, who Actor, id string) (*explain.Answer, error) {
	_, answer, err := a.readableAnswer(ctx, OpGetRecommendation, who, id, a.now())
	return answer, err
}

// readableAnswer reads a stored answer the actor may read: a customer token
// only its own customer's, and a role limited to some surfaces only answers
// of those surfaces (the privacy officer, not limited, reads all). It
// returns whose answer it is, after applying the request's GPC signal for
// that customer.
func (a *App) readableAnswer(ctx context.Context, op Op, who Actor, id string, now time.Time) (features.Pseudonym, *explain.Answer, error) {
	if err := authorize(op, who); err != nil {
		return "", nil, err
	}
	if !explain.ValidID(id) {
		return "", nil, fault.Invalidf("recommendation_id: not a recommendation id (they look like rec_ followed by 24 characters)")
	}
	owner, answer, err := a.explanations.Get(ctx, id, now)
	if err != nil {
		return "", nil, err
	}
	if !owns(who, owner) {
		return "", nil, errOtherCustomer
	}
	if !surfaceReadable(who, answer.Surface) {
		return "", nil, errAnswerNotFound
	}
	if err := a.honourGPC(ctx, who, owner); err != nil {
		return "", nil, err
	}
	return owner, answer, nil
}
