package app

import (
	"context"

	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// LabelledControl is a control with its target in words a customer can
// read.
type LabelledControl struct {
	features.Control
	Label string
}

// ListControls returns the customer's controls, labelled.
func (a *App) ListControls(ctx context.Context, who Actor, customerID string) ([]LabelledControl, error) {
	p, err := a.customer(ctx, OpListControls, who, customerID)
	if err != nil {
		return nil, err
	}
	view, err := a.store.Load(ctx, p)
	if err != nil {
		return nil, err
	}
	list := view.Controls.List()
	out := make([]LabelledControl, len(list))
	for i, c := range list {
		out[i] = LabelledControl{Control: c, Label: ControlLabel(c, view)}
	}
	return out, nil
}

// ControlChange names one control to set or remove.
type ControlChange struct {
	Kind   string // signals, items, categories
	Target string
}

// SetControl sets a control ("don't use this signal", "not interested in
// this item or category") and returns it labelled.
func (a *App) SetControl(ctx context.Context, who Actor, customerID string, c ControlChange) (LabelledControl, error) {
	p, err := a.customer(ctx, OpSetControl, who, customerID)
	if err != nil {
		return LabelledControl{}, err
	}
	kind, err := features.ParseControlKind("kind", c.Kind)
	if err != nil {
		return LabelledControl{}, err
	}
	set, _, err := a.store.SetControl(ctx, p, kind, c.Target, string(who.Role), a.now())
	if err != nil {
		return LabelledControl{}, err
	}
	view, err := a.store.Load(ctx, p)
	if err != nil {
		return LabelledControl{}, err
	}
	return LabelledControl{Control: set, Label: ControlLabel(set, view)}, nil
}

// RemoveControl removes a control; it reports whether there was one.
func (a *App) RemoveControl(ctx context.Context, who Actor, customerID string, c ControlChange) (bool, error) {
	p, err := a.customer(ctx, OpRemoveControl, who, customerID)
	if err != nil {
		return false, err
	}
	kind, err := features.ParseControlKind("kind", c.Kind)
	if err != nil {
		return false, err
	}
	return a.store.RemoveControl(ctx, p, kind, c.Target, string(who.Role), a.now())
}

// ListControlHistory returns a page of the customer's control changes,
// oldest first, and the next page's token.
func (a *App) ListControlHistory(ctx context.Context, who Actor, customerID string, page Page) ([]features.ControlChange, string, error) {
	p, err := a.customer(ctx, OpListControlHistory, who, customerID)
	if err != nil {
		return nil, "", err
	}
	offset, size, err := page.bounds()
	if err != nil {
		return nil, "", err
	}
	changes, total, err := a.store.ControlHistory(ctx, p, offset, size)
	if err != nil {
		return nil, "", err
	}
	return changes, nextPageToken(offset, int64(len(changes)), total), nil
}

// ControlLabel names a control's target in words a customer can read.
func ControlLabel(c features.Control, view *features.CustomerView) string {
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
