package server

import (
	"context"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type rightsService struct {
	candorv1.UnimplementedRightsServiceServer
	*app
}

func (s *rightsService) EraseCustomer(ctx context.Context, req *candorv1.EraseCustomerRequest) (*candorv1.EraseCustomerResponse, error) {
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return nil, err
	}
	receipt, err := s.erase(ctx, s.pseudonyms.Pseudonym(req.GetCustomerId()))
	if err != nil {
		return nil, s.status(ctx, "EraseCustomer", err)
	}
	return &candorv1.EraseCustomerResponse{Receipt: s.receiptToProto(receipt)}, nil
}

// erase deletes everything held about a customer: first the records under
// global keys (found through the customer's indexes), then every key of the
// customer's slot in one transaction, so that an interrupted erasure can be
// run again. The receipt names no one.
func (a *app) erase(ctx context.Context, p features.Pseudonym) (features.Receipt, error) {
	held, err := a.store.Held(ctx, p)
	if err != nil {
		return features.Receipt{}, err
	}
	if err := a.explanations.DeleteAll(ctx, p, held.RecommendationIDs); err != nil {
		return features.Receipt{}, err
	}
	if err := a.reviews.DeleteAll(ctx, p, held.ReviewIDs); err != nil {
		return features.Receipt{}, err
	}
	if err := a.store.EraseCustomerKeys(ctx, p); err != nil {
		return features.Receipt{}, err
	}
	now := a.now().UTC()
	r := features.Receipt{ID: features.NewID("erasure_"), ErasedAt: now, Counts: held.Counts()}
	// Every server rebuilds its co-occurrence model from the store within
	// a refresh interval; the ALS model is replaced by the next `candor
	// train`, and servers refuse it once older than the maximum model age.
	r.ReflectedAtMostUntil = now.Add(a.cfg.ModelRefresh)
	models := a.models.Models()
	if models.Cooc != nil {
		r.ModelTrainedAt = models.Cooc.BuiltAt
	}
	if m := models.ALS; m != nil {
		r.ModelTrainedAt = m.Info.TrainedAt
		r.ReflectedAtMostUntil = maxTime(r.ReflectedAtMostUntil, m.Info.TrainedAt.Add(a.cfg.ModelMaxAge))
	}
	if err := a.store.SaveReceipt(ctx, r); err != nil {
		return features.Receipt{}, err
	}
	a.scheduleFollowUp(p, now)
	return r, nil
}

func (a *app) receiptToProto(r features.Receipt) *candorv1.ErasureReceipt {
	out := &candorv1.ErasureReceipt{ReceiptId: r.ID, ErasedAt: timestamppb.New(r.ErasedAt), Counts: r.Counts}
	if !r.ModelTrainedAt.IsZero() {
		out.ModelTrainedAt = timestamppb.New(r.ModelTrainedAt)
	}
	out.ReflectedAtMostUntil = timestamppb.New(r.ReflectedAtMostUntil)
	out.ModelPending = a.modelPending(r)
	return out
}

// modelPending reports whether a model this server uses was trained before
// the erasure, so may still reflect the erased customer.
func (a *app) modelPending(r features.Receipt) bool {
	models := a.models.Models()
	if m := models.ALS; m != nil && !m.Info.TrainedAt.After(r.ErasedAt) {
		return true
	}
	return models.Cooc != nil && !models.Cooc.BuiltAt.After(r.ErasedAt)
}

// longestPending is how long the oldest erasure a model in use may still
// reflect has been waiting, in seconds, over every receipt (not one page).
// Receipts are newest first and pending is "erased after the models were
// trained", so the pending ones are the newest: the walk stops at the first
// receipt that is not.
func (a *app) longestPending(ctx context.Context) (int64, error) {
	const page = 500
	var oldest *features.Receipt
	for offset := int64(0); ; offset += page {
		receipts, _, err := a.store.Receipts(ctx, offset, page)
		if err != nil {
			return 0, err
		}
		for i := range receipts {
			if !a.modelPending(receipts[i]) {
				return pendingSeconds(oldest, a.now()), nil
			}
			oldest = &receipts[i]
		}
		if len(receipts) < page {
			return pendingSeconds(oldest, a.now()), nil
		}
	}
}

func pendingSeconds(r *features.Receipt, now time.Time) int64 {
	if r == nil {
		return 0
	}
	return int64(now.Sub(r.ErasedAt) / time.Second)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (s *rightsService) ListErasureReceipts(ctx context.Context, req *candorv1.ListErasureReceiptsRequest) (*candorv1.ListErasureReceiptsResponse, error) {
	offset, size, err := pageOf(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	receipts, total, err := s.store.Receipts(ctx, offset, size)
	if err != nil {
		return nil, s.status(ctx, "ListErasureReceipts", err)
	}
	out := &candorv1.ListErasureReceiptsResponse{}
	for _, r := range receipts {
		out.Receipts = append(out.Receipts, s.receiptToProto(r))
	}
	if out.LongestPendingSeconds, err = s.longestPending(ctx); err != nil {
		return nil, s.status(ctx, "ListErasureReceipts", err)
	}
	if next := offset + int64(len(receipts)); next < total {
		out.NextPageToken = encodePageToken(next)
	}
	return out, nil
}

func (s *rightsService) DeleteSignal(ctx context.Context, req *candorv1.DeleteSignalRequest) (*candorv1.DeleteSignalResponse, error) {
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return nil, err
	}
	role, _ := RoleFrom(ctx)
	deleted, err := s.deleteSignal(ctx, s.pseudonyms.Pseudonym(req.GetCustomerId()), req.GetSignalId(), role)
	if err != nil {
		return nil, s.status(ctx, "DeleteSignal", err)
	}
	return &candorv1.DeleteSignalResponse{Deleted: deleted}, nil
}

// deleteSignal deletes one of the customer's signals, then the stored
// answers that cite it (also when the signal was already gone: a retry
// after a failure there finishes the job). It reports whether the signal
// was there. The API and the privacy center both call it.
func (a *app) deleteSignal(ctx context.Context, p features.Pseudonym, id string, actor Role) (bool, error) {
	deleted, err := a.store.DeleteSignal(ctx, p, id, string(actor), a.now())
	if err != nil {
		return false, err
	}
	return deleted, a.forgetAnswersCiting(ctx, p, id)
}

// correctSignal corrects one of the customer's signals, then forgets the
// stored answers that cite it as it was.
func (a *app) correctSignal(ctx context.Context, p features.Pseudonym, id string, c features.Correction, actor Role) (features.Signal, error) {
	sig, err := a.store.CorrectSignal(ctx, p, id, c, string(actor), a.now())
	if err != nil {
		return features.Signal{}, err
	}
	return sig, a.forgetAnswersCiting(ctx, p, sig.ID)
}

// objectToProfiling records an objection to profiling (GDPR article 21):
// personalisation and marketing emails withdrawn, with method "objection".
func (a *app) objectToProfiling(ctx context.Context, p features.Pseudonym, notice string, actor Role) (features.ConsentResult, error) {
	return a.store.ApplyConsent(ctx, p, consent.Change{
		Choices:       []consent.Choice{{Purpose: consent.Personalization}, {Purpose: consent.MarketingEmail}},
		NoticeVersion: notice, Method: consent.MethodObjection, ActorRole: string(actor), At: a.now(),
	})
}

// forgetAnswersCiting deletes the customer's stored answers that cite a
// signal the customer has just deleted or corrected: their explanations
// name the signal's item and time, which would otherwise stay in the
// answers (and in the export) until the answers expire. A revocation with
// delete_data does the same for the answers of its purposes. Review cases
// keep their own copy of the answer they are about.
func (a *app) forgetAnswersCiting(ctx context.Context, p features.Pseudonym, signalID string) error {
	cites := func(c explain.CitedSignal) bool { return c.ID == signalID }
	var ids []string
	err := a.explanations.Each(ctx, p, a.now(), func(ans *explain.Answer) error {
		if slices.ContainsFunc(ans.Signals, cites) || slices.ContainsFunc(ans.Suppressed, cites) {
			ids = append(ids, ans.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return a.explanations.DeleteAll(ctx, p, ids)
}

func (s *rightsService) CorrectSignal(ctx context.Context, req *candorv1.CorrectSignalRequest) (*candorv1.CorrectSignalResponse, error) {
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return nil, err
	}
	var c features.Correction
	if item := req.GetItemId(); item != "" {
		c.ItemID = &item
	}
	if req.GetOccurredAt() != nil {
		if err := req.GetOccurredAt().CheckValid(); err != nil {
			return nil, invalid("occurred_at: %v", err)
		}
		at := req.GetOccurredAt().AsTime()
		c.OccurredAt = &at
	}
	role, _ := RoleFrom(ctx)
	sig, err := s.correctSignal(ctx, s.pseudonyms.Pseudonym(req.GetCustomerId()), req.GetSignalId(), c, role)
	if err != nil {
		return nil, s.status(ctx, "CorrectSignal", err)
	}
	return &candorv1.CorrectSignalResponse{
		SignalId: sig.ID, Type: sig.Type.String(), ItemId: sig.ItemID, OccurredAt: timestamppb.New(sig.OccurredAt),
		Purposes: sig.Purposes.Names(), ExpiresAt: timestamppb.New(sig.ExpiresAt),
	}, nil
}

func (s *rightsService) ObjectToProfiling(ctx context.Context, req *candorv1.ObjectToProfilingRequest) (*candorv1.ObjectToProfilingResponse, error) {
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return nil, err
	}
	role, _ := RoleFrom(ctx)
	res, err := s.objectToProfiling(ctx, s.pseudonyms.Pseudonym(req.GetCustomerId()), req.GetNoticeVersion(), role)
	if err != nil {
		return nil, s.status(ctx, "ObjectToProfiling", err)
	}
	out := &candorv1.ObjectToProfilingResponse{Consents: consentStates(&res.State)}
	for i := range res.Recorded {
		out.Recorded = append(out.Recorded, ledgerEntry(&res.Recorded[i]))
	}
	return out, nil
}

func (s *rightsService) ImportTcfConsent(ctx context.Context, req *candorv1.ImportTcfConsentRequest) (*candorv1.ImportTcfConsentResponse, error) {
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return nil, err
	}
	choices, granted, notice, err := consent.TCFChoices(req.GetTcString())
	if err != nil {
		return nil, s.status(ctx, "ImportTcfConsent", err)
	}
	role, _ := RoleFrom(ctx)
	res, err := s.store.ApplyConsent(ctx, s.pseudonyms.Pseudonym(req.GetCustomerId()), consent.Change{
		Choices: choices, NoticeVersion: notice, Method: consent.MethodImport, ActorRole: string(role), At: s.now(),
	})
	if err != nil {
		return nil, s.status(ctx, "ImportTcfConsent", err)
	}
	out := &candorv1.ImportTcfConsentResponse{Consents: consentStates(&res.State)}
	for i := range res.Recorded {
		out.Recorded = append(out.Recorded, ledgerEntry(&res.Recorded[i]))
	}
	for _, id := range granted {
		out.TcfPurposesGranted = append(out.TcfPurposesGranted, int32(id))
	}
	return out, nil
}
