package consent_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/candorhq/candor/consent"
)

func TestParsePurpose(t *testing.T) {
	t.Parallel()
	wantNames := []string{"personalization", "support", "marketing_email", "model_training"}
	if len(consent.Purposes()) != len(wantNames) || consent.NumPurposes != len(wantNames) {
		t.Fatalf("Purposes() = %v, want %d purposes", consent.Purposes(), len(wantNames))
	}
	for i, p := range consent.Purposes() {
		// The order is part of the storage format.
		if p != consent.Purpose(i) || p.String() != wantNames[i] || p.Info().Name != wantNames[i] || !p.Valid() {
			t.Errorf("purpose %d = %d %q, want %q", i, p, p.String(), wantNames[i])
		}
		got, err := consent.ParsePurpose("purpose", p.String())
		if err != nil || got != p {
			t.Errorf("ParsePurpose(%q) = %v, %v", p.String(), got, err)
		}
		if p.Info().Description == "" || p.Info().DPVPurpose == "" || len(p.Info().FidesDataUses) == 0 {
			t.Errorf("%s lacks a description or vocabulary mapping: %+v", p, p.Info())
		}
	}
	if got := consent.Personalization.Info().TCFPurposes; !slices.Equal(got, []int{5, 6}) {
		t.Errorf("personalization TCF purposes = %v, want [5 6]", got)
	}
	if consent.Purpose(consent.NumPurposes).Valid() || consent.Purpose(consent.NumPurposes).String() != "unknown" {
		t.Error("an out-of-range purpose is valid or named")
	}

	for _, bad := range []string{"", "Personalization", "ads", " support", "model-training"} {
		_, err := consent.ParsePurpose("signals[2].purposes[0]", bad)
		if !errors.Is(err, consent.ErrInvalid) {
			t.Errorf("ParsePurpose(%q) error = %v, want ErrInvalid", bad, err)
			continue
		}
		for _, want := range append([]string{"signals[2].purposes[0]"}, wantNames...) {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ParsePurpose(%q) error %q does not mention %q", bad, err, want)
			}
		}
	}
}

func TestParseSignalType(t *testing.T) {
	t.Parallel()
	wantNames := []string{"view", "add_to_cart", "purchase", "search", "rating", "support_ticket"}
	if consent.NumSignalTypes != len(wantNames) {
		t.Fatalf("NumSignalTypes = %d, want %d", consent.NumSignalTypes, len(wantNames))
	}
	for i, st := range consent.SignalTypes() {
		if st != consent.SignalType(i) || st.String() != wantNames[i] || !st.Valid() {
			t.Errorf("signal type %d = %d %q, want %q", i, st, st.String(), wantNames[i])
		}
		got, err := consent.ParseSignalType("type", st.String())
		if err != nil || got != st {
			t.Errorf("ParseSignalType(%q) = %v, %v", st.String(), got, err)
		}
		if st.Retention() <= 0 || st.Retention() != st.Info().Retention || st.Info().DataCategory == "" {
			t.Errorf("%s: retention %s, info %+v", st, st.Retention(), st.Info())
		}
	}
	if consent.SignalType(consent.NumSignalTypes).Valid() || consent.SignalType(200).String() != "unknown" {
		t.Error("an out-of-range signal type is valid or named")
	}
	for _, bad := range []string{"", "View", "click", "rating "} {
		_, err := consent.ParseSignalType("signals[4].type", bad)
		if !errors.Is(err, consent.ErrInvalid) {
			t.Errorf("ParseSignalType(%q) error = %v, want ErrInvalid", bad, err)
			continue
		}
		for _, want := range append([]string{"signals[4].type"}, wantNames...) {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ParseSignalType(%q) error %q does not mention %q", bad, err, want)
			}
		}
	}
}

func TestPurposeSet(t *testing.T) {
	t.Parallel()
	var empty consent.PurposeSet
	if !empty.Empty() || !empty.Valid() || len(empty.Purposes()) != 0 || len(empty.Names()) != 0 {
		t.Errorf("zero set: empty=%v valid=%v purposes=%v", empty.Empty(), empty.Valid(), empty.Purposes())
	}
	s := consent.NewPurposeSet(consent.ModelTraining, consent.Personalization, consent.ModelTraining)
	if s.Empty() || !s.Valid() {
		t.Errorf("set %v: empty=%v valid=%v", s.Names(), s.Empty(), s.Valid())
	}
	for _, p := range consent.Purposes() {
		want := p == consent.Personalization || p == consent.ModelTraining
		if s.Has(p) != want {
			t.Errorf("Has(%s) = %v, want %v", p, s.Has(p), want)
		}
	}
	// Members are listed in storage order, whatever the order they were added in.
	if got := s.Purposes(); !slices.Equal(got, []consent.Purpose{consent.Personalization, consent.ModelTraining}) {
		t.Errorf("Purposes() = %v", got)
	}
	if got := s.Names(); !slices.Equal(got, []string{"personalization", "model_training"}) {
		t.Errorf("Names() = %v", got)
	}
	with := s.With(consent.Support)
	if !with.Has(consent.Support) || s.Has(consent.Support) {
		t.Errorf("With changed the receiver or did not add: %v / %v", s.Names(), with.Names())
	}
	without := with.Without(consent.Personalization).Without(consent.MarketingEmail)
	if got := without.Names(); !slices.Equal(got, []string{"support", "model_training"}) {
		t.Errorf("Without: %v", got)
	}
	if got := without.Without(consent.Support).Without(consent.ModelTraining); !got.Empty() {
		t.Errorf("removing every member leaves %v", got.Names())
	}
	if consent.PurposeSet(1 << consent.NumPurposes).Valid() {
		t.Error("a set with an unknown purpose bit is valid")
	}
	all := consent.NewPurposeSet(consent.Purposes()...)
	if !all.Valid() || len(all.Purposes()) != consent.NumPurposes {
		t.Errorf("set of every purpose: %v valid=%v", all.Names(), all.Valid())
	}
}

func TestSignalTypeSet(t *testing.T) {
	t.Parallel()
	var empty consent.SignalTypeSet
	// Names of an empty set is an empty list, not nil, so it encodes as [].
	if got := empty.Names(); got == nil || len(got) != 0 {
		t.Errorf("empty Names() = %#v, want []string{}", got)
	}
	s := consent.NewSignalTypeSet(consent.SupportTicket, consent.View, consent.Rating)
	for _, st := range consent.SignalTypes() {
		want := st == consent.SupportTicket || st == consent.View || st == consent.Rating
		if s.Has(st) != want {
			t.Errorf("Has(%s) = %v, want %v", st, s.Has(st), want)
		}
	}
	if got := s.Types(); !slices.Equal(got, []consent.SignalType{consent.View, consent.Rating, consent.SupportTicket}) {
		t.Errorf("Types() = %v", got)
	}
	if got := s.Names(); !slices.Equal(got, []string{"view", "rating", "support_ticket"}) {
		t.Errorf("Names() = %v", got)
	}
	if got := consent.NewSignalTypeSet(consent.SignalTypes()...).Types(); len(got) != consent.NumSignalTypes {
		t.Errorf("set of every type has %d members", len(got))
	}
}
