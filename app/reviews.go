package app

import (
	"context"

	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/internal/fault"
)

// CreateReview opens a case about a stored recommendation: by the customer
// it was made for (customer token), or by the storefront or support chat
// relaying the customer's request about an answer of their own surfaces.
// While a case of the same kind about the same answer is pending, a second
// is refused with explain.ErrReviewExists, carrying the pending case: explain
// checks and opens in one transaction, so of concurrent requests exactly
// one opens a case.
func (a *App) CreateReview(ctx context.Context, who Actor, recommendationID, kind, message string) (*explain.Case, error) {
	// One time for the read and the case: a case is stamped no later than
	// the read of the answer it copies (see the erasure follow-up).
	now := a.now()
	// A malformed request reads nothing and records nothing (not even the
	// request's GPC opt-out); access first, as every use case.
	if err := authorize(OpCreateReview, who); err != nil {
		return nil, err
	}
	if err := explain.CheckReviewRequest(kind, message); err != nil {
		return nil, err
	}
	owner, answer, err := a.readableAnswer(ctx, OpCreateReview, who, recommendationID, now)
	if err != nil {
		return nil, err
	}
	return a.reviews.Open(ctx, owner, answer, kind, message, now)
}

// ListCustomerReviews returns a customer's review cases, newest first. A
// role limited to some surfaces sees the cases about answers of those
// surfaces only, as it reads the answers themselves.
func (a *App) ListCustomerReviews(ctx context.Context, who Actor, customerID string) ([]*explain.Case, error) {
	p, err := a.customer(ctx, OpListCustomerReviews, who, customerID)
	if err != nil {
		return nil, err
	}
	cases, err := a.reviews.Customer(ctx, p)
	if err != nil {
		return nil, err
	}
	out := cases[:0]
	for _, c := range cases {
		answer, err := c.Recommendation()
		if err != nil {
			return nil, err
		}
		if surfaceReadable(who, answer.Surface) {
			out = append(out, c)
		}
	}
	return out, nil
}

// ListReviews is the privacy officer's queue of cases with a status
// (empty: open), oldest first.
func (a *App) ListReviews(ctx context.Context, who Actor, status string, page Page) ([]*explain.Case, string, error) {
	if err := authorize(OpListReviews, who); err != nil {
		return nil, "", err
	}
	if status == "" {
		status = explain.ReviewOpen
	}
	offset, size, err := page.bounds()
	if err != nil {
		return nil, "", err
	}
	cases, total, err := a.reviews.Queue(ctx, status, offset, size)
	if err != nil {
		return nil, "", err
	}
	return cases, nextPageToken(offset, size, total), nil
}

// errBadCaseID answers an id that is not a case id.
var errBadCaseID = fault.Invalidf("case_id: not a case id (they look like case_ followed by 24 characters)")

// GetReview reads one case.
func (a *App) GetReview(ctx context.Context, who Actor, caseID string) (*explain.Case, error) {
	if err := authorize(OpGetReview, who); err != nil {
		return nil, err
	}
	if !explain.ValidCaseID(caseID) {
		return nil, errBadCaseID
	}
	return a.reviews.Get(ctx, caseID)
}

// UpdateReview moves a case to a status, with the reviewer's reply
// (required to resolve or reject).
func (a *App) UpdateReview(ctx context.Context, who Actor, caseID, status, reply string) (*explain.Case, error) {
	if err := authorize(OpUpdateReview, who); err != nil {
		return nil, err
	}
	if !explain.ValidCaseID(caseID) {
		return nil, errBadCaseID
	}
	return a.reviews.Update(ctx, caseID, status, reply, a.now())
}
