package fault

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestCodesAndMessages(t *testing.T) {
	t.Parallel()
	kind := Kind(NotFound, "not found")
	for _, tc := range []struct {
		name    string
		err     error
		code    Code
		message string
	}{
		{"made here", Invalidf("limit: must be between 1 and %d", 100), Invalid, "limit: must be between 1 and 100"},
		{"wrapped with the operation", fmt.Errorf("features.Track: %w", Invalidf("signals[0].type: unknown")), Invalid, "signals[0].type: unknown"},
		{"an instance of a kind", Wrapf(kind, "item %q: not found", "sku-1"), NotFound, `item "sku-1": not found`},
		{"the kind itself", kind, NotFound, "not found"},
		{"canceled", fmt.Errorf("redis: %w", context.Canceled), Canceled, "the request was canceled"},
		{"deadline", fmt.Errorf("redis: %w", context.DeadlineExceeded), DeadlineExceeded, "the request took too long"},
		// Text that looks like a field's is still ours: nothing reads error text.
		{"no code", errors.New("item.title: dial tcp 10.0.0.7:6379"), Internal, "internal error"},
	} {
		if got := CodeOf(tc.err); got != tc.code {
			t.Errorf("%s: code %v, want %v", tc.name, got, tc.code)
		}
		if got := MessageOf(tc.err); got != tc.message {
			t.Errorf("%s: message %q, want %q", tc.name, got, tc.message)
		}
	}
	if err := fmt.Errorf("op: %w", Wrapf(kind, "x")); !errors.Is(err, kind) {
		t.Error("an instance is not errors.Is its kind")
	}
	if errors.Is(Invalidf("x"), kind) {
		t.Error("an error of another code is its kind")
	}
	e := Wrapf(kind, "case_1 is pending")
	e.Detail = "the case"
	if DetailOf(fmt.Errorf("op: %w", e)) != "the case" || DetailOf(errors.New("x")) != nil {
		t.Error("DetailOf")
	}
}
