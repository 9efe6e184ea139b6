package grpcapi

import (
	"context"

	"github.com/candorhq/candor/app"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type consentService struct {
	candorv1.UnimplementedConsentServiceServer
	door
}

func (s *consentService) GetConsents(ctx context.Context, req *candorv1.GetConsentsRequest) (*candorv1.GetConsentsResponse, error) {
	state, err := s.core.GetConsents(ctx, actor(ctx), req.GetCustomerId())
	if err != nil {
		return nil, Status(ctx, s.log, "GetConsents", err)
	}
	return &candorv1.GetConsentsResponse{Consents: consentStates(&state)}, nil
}

func (s *consentService) UpdateConsents(ctx context.Context, req *candorv1.UpdateConsentsRequest) (*candorv1.UpdateConsentsResponse, error) {
	u := app.ConsentUpdate{NoticeVersion: req.GetNoticeVersion(), Method: req.GetMethod(), ConfirmOverGPC: req.GetConfirmOverGpc()}
	for _, ch := range req.GetChoices() {
		u.Choices = append(u.Choices, app.ChoiceInput{Purpose: ch.GetPurpose(), Granted: ch.GetGranted(), Sensitive: ch.GetSensitive(), DeleteData: ch.GetDeleteData()})
	}
	res, err := s.core.UpdateConsents(ctx, actor(ctx), req.GetCustomerId(), u)
	if err != nil {
		return nil, Status(ctx, s.log, "UpdateConsents", err)
	}
	return &candorv1.UpdateConsentsResponse{
		Consents:        consentStates(&res.State),
		Recorded:        ledgerEntries(res.Recorded),
		SignalsDeleted:  int32(res.SignalsDeleted),
		SignalsNarrowed: int32(res.SignalsNarrowed),
	}, nil
}

func (s *consentService) ListConsentHistory(ctx context.Context, req *candorv1.ListConsentHistoryRequest) (*candorv1.ListConsentHistoryResponse, error) {
	entries, next, err := s.core.ListConsentHistory(ctx, actor(ctx), req.GetCustomerId(), app.Page{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, Status(ctx, s.log, "ListConsentHistory", err)
	}
	return &candorv1.ListConsentHistoryResponse{Entries: ledgerEntries(entries), NextPageToken: next}, nil
}
