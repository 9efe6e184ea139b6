package grpcapi

import (
	"context"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type rightsService struct {
	candorv1.UnimplementedRightsServiceServer
	door
}

// ExportCustomerData streams the customer's export document.
func (s *rightsService) ExportCustomerData(req *candorv1.ExportCustomerDataRequest, stream grpc.ServerStreamingServer[httpbody.HttpBody]) error {
	ctx := stream.Context()
	headerSent := false
	_, err := s.core.Export(ctx, actor(ctx), req.GetCustomerId(), func(b []byte) error {
		if !headerSent {
			headerSent = true
			if err := stream.SetHeader(metadata.Pairs("content-disposition", `attachment; filename="`+app.ExportFilename+`"`)); err != nil {
				return err
			}
		}
		return stream.Send(&httpbody.HttpBody{ContentType: "application/json", Data: b})
	})
	return Status(ctx, s.log, "ExportCustomerData", err)
}

func (s *rightsService) EraseCustomer(ctx context.Context, req *candorv1.EraseCustomerRequest) (*candorv1.EraseCustomerResponse, error) {
	r, err := s.core.EraseCustomer(ctx, actor(ctx), req.GetCustomerId())
	if err != nil {
		return nil, Status(ctx, s.log, "EraseCustomer", err)
	}
	return &candorv1.EraseCustomerResponse{Receipt: receipt(r)}, nil
}

func (s *rightsService) ListErasureReceipts(ctx context.Context, req *candorv1.ListErasureReceiptsRequest) (*candorv1.ListErasureReceiptsResponse, error) {
	page, err := s.core.ListErasureReceipts(ctx, actor(ctx), app.Page{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, Status(ctx, s.log, "ListErasureReceipts", err)
	}
	out := &candorv1.ListErasureReceiptsResponse{NextPageToken: page.NextPageToken, LongestPendingSeconds: page.LongestPendingSeconds}
	for _, r := range page.Receipts {
		out.Receipts = append(out.Receipts, receipt(r))
	}
	return out, nil
}

func (s *rightsService) DeleteSignal(ctx context.Context, req *candorv1.DeleteSignalRequest) (*candorv1.DeleteSignalResponse, error) {
	deleted, err := s.core.DeleteSignal(ctx, actor(ctx), req.GetCustomerId(), req.GetSignalId())
	if err != nil {
		return nil, Status(ctx, s.log, "DeleteSignal", err)
	}
	return &candorv1.DeleteSignalResponse{Deleted: deleted}, nil
}

func (s *rightsService) CorrectSignal(ctx context.Context, req *candorv1.CorrectSignalRequest) (*candorv1.CorrectSignalResponse, error) {
	var c features.Correction
	if item := req.GetItemId(); item != "" {
		c.ItemID = &item
	}
	if req.GetOccurredAt() != nil {
		if err := req.GetOccurredAt().CheckValid(); err != nil {
			return nil, Status(ctx, s.log, "CorrectSignal", fault.Invalidf("occurred_at: %s", badTimestamp))
		}
		at := req.GetOccurredAt().AsTime()
		c.OccurredAt = &at
	}
	sig, err := s.core.CorrectSignal(ctx, actor(ctx), req.GetCustomerId(), req.GetSignalId(), c)
	if err != nil {
		return nil, Status(ctx, s.log, "CorrectSignal", err)
	}
	return &candorv1.CorrectSignalResponse{
		SignalId: sig.ID, Type: sig.Type.String(), ItemId: sig.ItemID, OccurredAt: timestamppb.New(sig.OccurredAt),
		Purposes: sig.Purposes.Names(), ExpiresAt: timestamppb.New(sig.ExpiresAt),
	}, nil
}

func (s *rightsService) ObjectToProfiling(ctx context.Context, req *candorv1.ObjectToProfilingRequest) (*candorv1.ObjectToProfilingResponse, error) {
	res, err := s.core.ObjectToProfiling(ctx, actor(ctx), req.GetCustomerId(), req.GetNoticeVersion())
	if err != nil {
		return nil, Status(ctx, s.log, "ObjectToProfiling", err)
	}
	return &candorv1.ObjectToProfilingResponse{Consents: consentStates(&res.State), Recorded: ledgerEntries(res.Recorded)}, nil
}

func (s *rightsService) ImportTcfConsent(ctx context.Context, req *candorv1.ImportTcfConsentRequest) (*candorv1.ImportTcfConsentResponse, error) {
	res, err := s.core.ImportTcfConsent(ctx, actor(ctx), req.GetCustomerId(), req.GetTcString())
	if err != nil {
		return nil, Status(ctx, s.log, "ImportTcfConsent", err)
	}
	out := &candorv1.ImportTcfConsentResponse{Consents: consentStates(&res.State), Recorded: ledgerEntries(res.Recorded)}
	for _, id := range res.TCFPurposesGranted {
		out.TcfPurposesGranted = append(out.TcfPurposesGranted, int32(id))
	}
	return out, nil
}
