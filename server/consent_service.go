package server

import (
	"context"
	"encoding/base64"
	"strconv"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/consent"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type consentService struct {
	candorv1.UnimplementedConsentServiceServer
	*app
}

func (s *consentService) GetConsents(ctx context.Context, req *candorv1.GetConsentsRequest) (*candorv1.GetConsentsResponse, error) {
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return nil, err
	}
	state, err := s.store.Consent(ctx, s.pseudonyms.Pseudonym(req.GetCustomerId()))
	if err != nil {
		return nil, s.status(ctx, "GetConsents", err)
	}
	return &candorv1.GetConsentsResponse{Consents: consentStates(&state)}, nil
}

func (s *consentService) UpdateConsents(ctx context.Context, req *candorv1.UpdateConsentsRequest) (*candorv1.UpdateConsentsResponse, error) {
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return nil, err
	}
	role, _ := RoleFrom(ctx)
	change := consent.Change{NoticeVersion: req.GetNoticeVersion(), ActorRole: string(role), At: s.now()}
	if req.GetMethod() == "" {
		return nil, invalid("method: required: one of ui, api, gpc, import")
	}
	method, err := consent.ParseMethod("method", req.GetMethod())
	if err != nil {
		return nil, s.status(ctx, "UpdateConsents", err)
	}
	change.Method = method
	for i, ch := range req.GetChoices() {
		p, err := consent.ParsePurpose("choices["+strconv.Itoa(i)+"].purpose", ch.GetPurpose())
		if err != nil {
			return nil, s.status(ctx, "UpdateConsents", err)
		}
		change.Choices = append(change.Choices, consent.Choice{Purpose: p, Granted: ch.GetGranted(), Sensitive: ch.GetSensitive(), DeleteData: ch.GetDeleteData()})
	}
	pseudonym := s.pseudonyms.Pseudonym(req.GetCustomerId())
	res, err := s.store.ApplyConsent(ctx, pseudonym, change)
	if err != nil {
		return nil, s.status(ctx, "UpdateConsents", err)
	}
	var erase consent.PurposeSet
	for _, ch := range change.Choices {
		if ch.DeleteData {
			erase = erase.With(ch.Purpose)
		}
	}
	if !erase.Empty() {
		// Stored answers cite the deleted signals; they go too (idempotent,
		// so a failed call can be retried).
		if _, err := s.explanations.DeleteFor(ctx, pseudonym, erase); err != nil {
			return nil, s.status(ctx, "UpdateConsents", err)
		}
	}
	out := &candorv1.UpdateConsentsResponse{
		Consents:        consentStates(&res.State),
		SignalsDeleted:  int32(res.SignalsDeleted),
		SignalsNarrowed: int32(res.SignalsNarrowed),
	}
	for i := range res.Recorded {
		out.Recorded = append(out.Recorded, ledgerEntry(&res.Recorded[i]))
	}
	return out, nil
}

const (
	defaultHistoryPage = 100
	maxHistoryPage     = 1000
)

func (s *consentService) ListConsentHistory(ctx context.Context, req *candorv1.ListConsentHistoryRequest) (*candorv1.ListConsentHistoryResponse, error) {
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return nil, err
	}
	offset, size, err := pageOf(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	entries, total, err := s.store.Ledger(ctx, s.pseudonyms.Pseudonym(req.GetCustomerId()), offset, size)
	if err != nil {
		return nil, s.status(ctx, "ListConsentHistory", err)
	}
	out := &candorv1.ListConsentHistoryResponse{}
	for i := range entries {
		out.Entries = append(out.Entries, ledgerEntry(&entries[i]))
	}
	if next := offset + int64(len(entries)); next < total {
		out.NextPageToken = encodePageToken(next)
	}
	return out, nil
}

// pageOf checks a page size and token: the offset to read from and how many.
func pageOf(pageSize int32, token string) (offset, size int64, err error) {
	size = int64(pageSize)
	switch {
	case size == 0:
		size = defaultHistoryPage
	case size < 0 || size > maxHistoryPage:
		return 0, 0, invalid("page_size: must be between 1 and %d", maxHistoryPage)
	}
	offset, err = decodePageToken(token)
	return offset, size, err
}

func encodePageToken(offset int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.FormatInt(offset, 10)))
}

func decodePageToken(tok string) (int64, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil && len(raw) > 2 && string(raw[:2]) == "o:" {
		if off, err := strconv.ParseInt(string(raw[2:]), 10, 64); err == nil && off >= 0 {
			return off, nil
		}
	}
	return 0, invalid("page_token: not a token from a previous response")
}

func consentStates(state *consent.State) []*candorv1.ConsentState {
	out := make([]*candorv1.ConsentState, 0, consent.NumPurposes)
	for _, p := range consent.Purposes() {
		d := state.Decisions[p]
		cs := &candorv1.ConsentState{
			Purpose:          p.String(),
			Description:      p.Info().Description,
			Granted:          d.Granted(),
			Status:           d.Status.String(),
			SensitiveGranted: state.SensitiveGranted(p),
			NoticeVersion:    d.NoticeVersion,
			Method:           d.Method.String(),
		}
		if !d.UpdatedAt.IsZero() {
			cs.UpdatedAt = timestamppb.New(d.UpdatedAt)
		}
		out = append(out, cs)
	}
	return out
}

func ledgerEntry(e *consent.LedgerEntry) *candorv1.ConsentLedgerEntry {
	return &candorv1.ConsentLedgerEntry{
		RecordedAt:    timestamppb.New(e.RecordedAt),
		Purpose:       e.Purpose,
		Granted:       e.Granted,
		Sensitive:     e.Sensitive,
		NoticeVersion: e.NoticeVersion,
		Method:        e.Method,
		ActorRole:     e.ActorRole,
		DeleteData:    e.DeleteData,
	}
}
