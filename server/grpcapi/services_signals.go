package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// badTimestamp says what a timestamp the API cannot hold should be.
const badTimestamp = "must be a time from 0001-01-01 to 9999-12-31"

type signalService struct {
	candorv1.UnimplementedSignalServiceServer
	door
}

func (s *signalService) TrackSignals(ctx context.Context, req *candorv1.TrackSignalsRequest) (*candorv1.TrackSignalsResponse, error) {
	inputs := make([]features.SignalInput, len(req.GetSignals()))
	for i, in := range req.GetSignals() {
		inputs[i] = features.SignalInput{Type: in.GetType(), ItemID: in.GetItemId(), Purposes: in.GetPurposes(), Value: in.GetValue()}
		if in.GetOccurredAt() != nil {
			if err := in.GetOccurredAt().CheckValid(); err != nil {
				return nil, Status(ctx, s.log, "TrackSignals", fault.Invalidf("signals[%d].occurred_at: %s", i, badTimestamp))
			}
			inputs[i].OccurredAt = in.GetOccurredAt().AsTime()
		}
	}
	results, err := s.core.TrackSignals(ctx, actor(ctx), req.GetCustomerId(), inputs)
	if err != nil {
		return nil, Status(ctx, s.log, "TrackSignals", err)
	}
	out := &candorv1.TrackSignalsResponse{Results: make([]*candorv1.SignalResult, len(results))}
	for i, r := range results {
		res := &candorv1.SignalResult{
			Index:           int32(r.Index),
			Outcome:         "dropped",
			SignalId:        r.SignalID,
			StoredPurposes:  r.StoredPurposes.Names(),
			RefusedPurposes: r.RefusedPurposes.Names(),
			Reason:          r.Reason,
		}
		if r.Stored {
			res.Outcome = "stored"
			res.ExpiresAt = timestamppb.New(r.ExpiresAt)
			out.StoredCount++
		} else {
			out.DroppedCount++
		}
		out.Results[i] = res
	}
	return out, nil
}
