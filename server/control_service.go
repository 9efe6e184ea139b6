package server

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

type controlService struct {
	candorv1.UnimplementedControlServiceServer
	*app
}

func (s *controlService) ListControls(ctx context.Context, req *candorv1.ListControlsRequest) (*candorv1.ListControlsResponse, error) {
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return nil, err
	}
	view, err := s.store.Load(ctx, s.pseudonyms.Pseudonym(req.GetCustomerId()))
	if err != nil {
		return nil, s.status(ctx, "ListControls", err)
	}
	out := &candorv1.ListControlsResponse{}
	for _, c := range view.Controls.List() {
		out.Controls = append(out.Controls, controlToProto(c, view))
	}
	return out, nil
}

func (s *controlService) SetControl(ctx context.Context, req *candorv1.SetControlRequest) (*candorv1.SetControlResponse, error) {
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return nil, err
	}
	kind, err := features.ParseControlKind("kind", req.GetKind())
	if err != nil {
		return nil, s.status(ctx, "SetControl", err)
	}
	role, _ := RoleFrom(ctx)
	p := s.pseudonyms.Pseudonym(req.GetCustomerId())
	c, _, err := s.store.SetControl(ctx, p, kind, req.GetTarget(), string(role), s.now())
	if err != nil {
		return nil, s.status(ctx, "SetControl", err)
	}
	view, err := s.store.Load(ctx, p)
	if err != nil {
		return nil, s.status(ctx, "SetControl", err)
	}
	return &candorv1.SetControlResponse{Control: controlToProto(c, view)}, nil
}

func (s *controlService) RemoveControl(ctx context.Context, req *candorv1.RemoveControlRequest) (*candorv1.RemoveControlResponse, error) {
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return nil, err
	}
	kind, err := features.ParseControlKind("kind", req.GetKind())
	if err != nil {
		return nil, s.status(ctx, "RemoveControl", err)
	}
	role, _ := RoleFrom(ctx)
	removed, err := s.store.RemoveControl(ctx, s.pseudonyms.Pseudonym(req.GetCustomerId()), kind, req.GetTarget(), string(role), s.now())
	if err != nil {
		return nil, s.status(ctx, "RemoveControl", err)
	}
	return &candorv1.RemoveControlResponse{Removed: removed}, nil
}

func (s *controlService) ListControlHistory(ctx context.Context, req *candorv1.ListControlHistoryRequest) (*candorv1.ListControlHistoryResponse, error) {
	if err := checkCustomerID(req.GetCustomerId()); err != nil {
		return nil, err
	}
	offset, size, err := pageOf(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	changes, total, err := s.store.ControlHistory(ctx, s.pseudonyms.Pseudonym(req.GetCustomerId()), offset, size)
	if err != nil {
		return nil, s.status(ctx, "ListControlHistory", err)
	}
	out := &candorv1.ListControlHistoryResponse{}
	for _, c := range changes {
		out.Entries = append(out.Entries, &candorv1.ControlHistoryEntry{
			RecordedAt: timestamppb.New(c.RecordedAt), Action: c.Action, Kind: c.Kind.String(), Target: c.Target, ActorRole: c.ActorRole,
		})
	}
	if next := offset + int64(len(changes)); next < total {
		out.NextPageToken = encodePageToken(next)
	}
	return out, nil
}

// controlToProto labels a control in words a customer can read.
func controlToProto(c features.Control, view *features.CustomerView) *candorv1.Control {
	return &candorv1.Control{Kind: c.Kind.String(), Target: c.Target, Label: controlLabel(c, view), SetAt: timestamppb.New(c.SetAt)}
}

func controlLabel(c features.Control, view *features.CustomerView) string {
	switch c.Kind {
	case features.ControlSignal:
		for i := range view.Signals {
			if sig := &view.Signals[i]; sig.ID == c.Target {
				title := sig.ItemID
				if it := view.Catalog.Item(sig.ItemID); it != nil {
					title = it.Title
				}
				return explain.SignalPhrase(sig.Type, title, sig.OccurredAt)
			}
		}
		return "an action of yours we no longer hold"
	case features.ControlItem:
		if it := view.Catalog.Item(c.Target); it != nil {
			return it.Title
		}
		return c.Target
	default:
		return "everything in " + c.Target
	}
}
