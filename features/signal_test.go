package features_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
)

func TestValidateItemID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   string
		ok   bool
	}{
		{"simple", "sku-123", true},
		{"inner spaces and punctuation", "Book: War & Peace (2nd ed.)", true},
		{"unicode", "книга-٣-本", true},
		{"exactly max length", strings.Repeat("a", features.MaxItemIDLen), true},
		{"max length in multi-byte runes", strings.Repeat("é", features.MaxItemIDLen/2), true},
		{"empty", "", false},
		{"one byte too long", strings.Repeat("a", features.MaxItemIDLen+1), false},
		{"too long in bytes though short in runes", strings.Repeat("é", features.MaxItemIDLen/2+1), false},
		{"leading space", " sku", false},
		{"trailing space", "sku ", false},
		{"only spaces", "   ", false},
		{"leading tab", "\tsku", false},
		{"newline inside", "sku\n1", false},
		{"NUL inside", "sku\x001", false},
		{"DEL inside", "sku\x7f", false},
		{"C1 control", "sku\u0085x", false},
		{"zero-width space", "sku\u200bx", false},
		{"bidi override", "sku\u202ex", false},
		{"no-break space inside", "sku\u00a0x", false},
		{"invalid UTF-8", "sku\xff", false},
		{"truncated UTF-8", "sku\xe2\x82", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := features.ValidateItemID("items[2].item_id", tt.id)
			if tt.ok {
				if err != nil {
					t.Fatalf("ValidateItemID(%q) = %v, want nil", tt.id, err)
				}
				return
			}
			if !errors.Is(err, features.ErrInvalid) {
				t.Fatalf("ValidateItemID(%q) = %v, want ErrInvalid", tt.id, err)
			}
			if !strings.Contains(err.Error(), "items[2].item_id") {
				t.Errorf("error %q does not name the field", err)
			}
		})
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		id := features.NewID("sig_")
		if !features.ValidID("sig_", id) {
			t.Fatalf("ValidID(%q) = false", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
	id := features.NewID("sig_")
	for _, bad := range []string{"", "sig_", "rec_" + id[4:], id + "a", id[:len(id)-1], "sig_" + strings.Repeat("A", 24), "sig_" + strings.Repeat("1", 24)} {
		if features.ValidID("sig_", bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestRetentionSet(t *testing.T) {
	t.Parallel()
	r := features.DefaultRetention()
	for _, st := range consent.SignalTypes() {
		if r.For(st) != st.Retention() {
			t.Errorf("default retention of %s = %s, want %s", st, r.For(st), st.Retention())
		}
	}
	tests := []struct {
		d  time.Duration
		ok bool
	}{
		{0, false},
		{-time.Hour, false},
		{features.MinRetention - time.Nanosecond, false},
		{features.MinRetention, true},
		{7 * day, true},
		{features.MaxRetention, true},
		{features.MaxRetention + time.Nanosecond, false},
	}
	for _, tt := range tests {
		before := r.For(consent.Search)
		err := r.Set(consent.Search, tt.d)
		switch {
		case tt.ok && err != nil:
			t.Errorf("Set(search, %s) = %v, want nil", tt.d, err)
		case tt.ok && r.For(consent.Search) != tt.d:
			t.Errorf("after Set(search, %s), For = %s", tt.d, r.For(consent.Search))
		case !tt.ok && !errors.Is(err, features.ErrInvalid):
			t.Errorf("Set(search, %s) = %v, want ErrInvalid", tt.d, err)
		case !tt.ok && !strings.Contains(err.Error(), "retention.search"):
			t.Errorf("Set(search, %s) error %q does not name the type", tt.d, err)
		case !tt.ok && r.For(consent.Search) != before:
			t.Errorf("a refused Set changed the retention to %s", r.For(consent.Search))
		}
	}
	if r.For(consent.View) != consent.View.Retention() {
		t.Errorf("setting search changed view's retention to %s", r.For(consent.View))
	}
}

func TestTrackRejectsInvalidBatches(t *testing.T) {
	t.Parallel()
	ok := func() features.SignalInput { return view("sku-1", t0.Add(-time.Hour), consent.Personalization) }
	with := func(fn func(in *features.SignalInput)) features.SignalInput {
		in := ok()
		fn(&in)
		return in
	}
	many := make([]features.SignalInput, features.MaxSignalsPerCall+1)
	for i := range many {
		many[i] = ok()
	}
	tests := []struct {
		name   string
		inputs []features.SignalInput
		field  string
	}{
		{"empty batch", nil, "signals"},
		{"too many signals", many, "signals"},
		{"unknown type", []features.SignalInput{with(func(in *features.SignalInput) { in.Type = "click" })}, "signals[0].type"},
		{"empty type", []features.SignalInput{with(func(in *features.SignalInput) { in.Type = "" })}, "signals[0].type"},
		{"empty item id", []features.SignalInput{ok(), with(func(in *features.SignalInput) { in.ItemID = "" })}, "signals[1].item_id"},
		{"item id with a control character", []features.SignalInput{with(func(in *features.SignalInput) { in.ItemID = "sku\n" })}, "signals[0].item_id"},
		{"item id too long", []features.SignalInput{with(func(in *features.SignalInput) { in.ItemID = strings.Repeat("x", features.MaxItemIDLen+1) })}, "signals[0].item_id"},
		{"no purposes", []features.SignalInput{with(func(in *features.SignalInput) { in.Purposes = nil })}, "signals[0].purposes"},
		{"unknown purpose", []features.SignalInput{with(func(in *features.SignalInput) { in.Purposes = []string{"personalization", "ads"} })}, "signals[0].purposes[1]"},
		{"in the future beyond the clock skew", []features.SignalInput{with(func(in *features.SignalInput) {
			in.OccurredAt = t0.Add(features.MaxClockSkew + time.Millisecond)
		})}, "signals[0].occurred_at"},
		{"far in the future", []features.SignalInput{with(func(in *features.SignalInput) { in.OccurredAt = t0.Add(365 * day) })}, "signals[0].occurred_at"},
		{"rating without value", []features.SignalInput{{Type: "rating", ItemID: "sku-1", Purposes: []string{"personalization"}}}, "signals[0].value"},
		{"rating below 1", []features.SignalInput{{Type: "rating", ItemID: "sku-1", Purposes: []string{"personalization"}, Value: 0.5}}, "signals[0].value"},
		{"rating above 5", []features.SignalInput{{Type: "rating", ItemID: "sku-1", Purposes: []string{"personalization"}, Value: 5.01}}, "signals[0].value"},
		{"negative rating", []features.SignalInput{{Type: "rating", ItemID: "sku-1", Purposes: []string{"personalization"}, Value: -3}}, "signals[0].value"},
		{"NaN rating", []features.SignalInput{{Type: "rating", ItemID: "sku-1", Purposes: []string{"personalization"}, Value: math.NaN()}}, "signals[0].value"},
		{"infinite rating", []features.SignalInput{{Type: "rating", ItemID: "sku-1", Purposes: []string{"personalization"}, Value: math.Inf(1)}}, "signals[0].value"},
		{"value on a view", []features.SignalInput{with(func(in *features.SignalInput) { in.Value = 3 })}, "signals[0].value"},
		{"NaN on a view", []features.SignalInput{with(func(in *features.SignalInput) { in.Value = math.NaN() })}, "signals[0].value"},
		{"only the last signal is bad", []features.SignalInput{ok(), ok(), ok(), with(func(in *features.SignalInput) { in.Type = "purchased" })}, "signals[3].type"},
	}
	// One Redis for the table: every case must leave it untouched, so the
	// cases cannot disturb each other.
	f := newFixture(t)
	ctx := context.Background()
	p := f.customer("customer-1")
	f.apply(t, p, t0.Add(-day), grant(consent.Personalization))
	before := f.r.Dump(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.store.Track(ctx, p, tt.inputs, t0)
			if !errors.Is(err, features.ErrInvalid) {
				t.Fatalf("Track = %+v, %v; want ErrInvalid", res, err)
			}
			if res != nil {
				t.Errorf("Track returned results with an error: %+v", res)
			}
			if !strings.HasPrefix(fault.MessageOf(err), tt.field+": ") { // the caller reads the field first
				t.Errorf("error %q does not name the field %q", err, tt.field)
			}
			after := f.r.Dump(t)
			if len(after) != len(before) {
				t.Errorf("an invalid batch changed Redis: keys before %d, after %d", len(before), len(after))
			}
			for k, v := range before {
				if after[k] != v {
					t.Errorf("an invalid batch changed %s", k)
				}
			}
		})
	}
	// With no consent at all nothing exists for the customer, and an invalid
	// batch must not create anything either.
	fresh := newFixture(t)
	if _, err := fresh.store.Track(ctx, fresh.customer("c"), []features.SignalInput{ok(), with(func(in *features.SignalInput) { in.Value = 1 })}, t0); !errors.Is(err, features.ErrInvalid) {
		t.Fatalf("Track = %v, want ErrInvalid", err)
	}
	if keys := fresh.r.Keys(t); len(keys) != 0 {
		t.Errorf("an invalid batch created keys: %v", keys)
	}
}

func TestTrackAcceptsBoundaries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.customer("customer-1")
	f.apply(t, p, t0.Add(-day), grant(consent.Personalization))
	batch := make([]features.SignalInput, features.MaxSignalsPerCall)
	for i := range batch {
		batch[i] = view("sku-1", t0.Add(-time.Duration(i)*time.Second), consent.Personalization)
	}
	batch[0].OccurredAt = t0.Add(features.MaxClockSkew) // a clock slightly ahead
	batch[1] = features.SignalInput{Type: "rating", ItemID: "sku-2", Purposes: []string{"personalization"}, Value: 1}
	batch[2] = features.SignalInput{Type: "rating", ItemID: "sku-3", Purposes: []string{"personalization"}, Value: 5}
	batch[3] = features.SignalInput{Type: "purchase", ItemID: strings.Repeat("x", features.MaxItemIDLen), Purposes: []string{"personalization", "personalization"}}
	res := f.track(t, p, t0, batch...)
	for i, r := range res {
		if !r.Stored || r.Index != i {
			t.Fatalf("result %d = %+v, want stored", i, r)
		}
	}
	stored := f.signals(t, p)
	if len(stored) != features.MaxSignalsPerCall {
		t.Fatalf("stored %d signals, want %d", len(stored), features.MaxSignalsPerCall)
	}
	if s := stored[res[2].SignalID]; s.Type != consent.Rating || s.Value != 5 || s.ItemID != "sku-3" {
		t.Errorf("rating stored as %+v", s)
	}
	// A zero OccurredAt means "now".
	res = f.track(t, p, t0, features.SignalInput{Type: "search", ItemID: "sku-9", Purposes: []string{"personalization"}})
	if s := f.signals(t, p)[res[0].SignalID]; !s.OccurredAt.Equal(t0) {
		t.Errorf("a signal without a time occurred at %s, want %s", s.OccurredAt, t0)
	}
}
