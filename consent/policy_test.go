package consent_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/candorhq/candor/consent"
)

// fullSets lists every purpose with the given types for each.
func fullSets(types map[string][]string) []consent.SignalSetInput {
	var out []consent.SignalSetInput
	for _, p := range consent.Purposes() {
		out = append(out, consent.SignalSetInput{Purpose: p.String(), SignalTypes: types[p.String()]})
	}
	return out
}

func TestParseSignalSets(t *testing.T) {
	t.Parallel()
	t.Run("success", func(t *testing.T) {
		t.Parallel()
		allowed, err := consent.ParseSignalSets(fullSets(map[string][]string{
			"personalization": {"view", "purchase", "view"},
			"support":         {"support_ticket"},
			"model_training":  {"rating"},
			// marketing_email: listed with no types, allowing nothing.
		}))
		if err != nil {
			t.Fatalf("ParseSignalSets: %v", err)
		}
		want := [consent.NumPurposes]consent.SignalTypeSet{
			consent.Personalization: consent.NewSignalTypeSet(consent.View, consent.Purchase),
			consent.Support:         consent.NewSignalTypeSet(consent.SupportTicket),
			consent.MarketingEmail:  0,
			consent.ModelTraining:   consent.NewSignalTypeSet(consent.Rating),
		}
		if allowed != want {
			t.Errorf("allowed = %v, want %v", allowed, want)
		}
	})

	tests := []struct {
		name    string
		sets    []consent.SignalSetInput
		mention []string
	}{
		{"nothing listed", nil, []string{"signal_sets", "personalization"}},
		{"one purpose missing", fullSets(nil)[:3], []string{"signal_sets:", "model_training", "missing"}},
		{"first purpose missing", fullSets(nil)[1:], []string{"personalization", "missing"}},
		{"duplicate purpose", append(fullSets(nil), consent.SignalSetInput{Purpose: "support"}), []string{"signal_sets[4].purpose", `"support"`, "more than once"}},
		{"unknown purpose", append([]consent.SignalSetInput{{Purpose: "ads"}}, fullSets(nil)...), []string{"signal_sets[0].purpose", `"ads"`, "personalization, support, marketing_email, model_training"}},
		{"unknown type", func() []consent.SignalSetInput {
			s := fullSets(nil)
			s[1].SignalTypes = []string{"purchase", "rating", "clicks"}
			return s
		}(), []string{"signal_sets[1].signal_types[2]", `"clicks"`, "support_ticket"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := consent.ParseSignalSets(tt.sets)
			if !errors.Is(err, consent.ErrInvalid) {
				t.Fatalf("ParseSignalSets error = %v, want ErrInvalid", err)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

func TestDefaultPolicy(t *testing.T) {
	t.Parallel()
	p := consent.DefaultPolicy()
	if p.Version != 1 || p.AuthorRole != consent.DefaultPolicyAuthor {
		t.Errorf("default policy is version %d by %q", p.Version, p.AuthorRole)
	}
	tests := []struct {
		purpose consent.Purpose
		t       consent.SignalType
		want    bool
	}{
		{consent.Personalization, consent.Search, true},
		{consent.Personalization, consent.SupportTicket, false},
		{consent.Support, consent.SupportTicket, true},
		{consent.Support, consent.View, false},
		{consent.MarketingEmail, consent.Rating, false},
		{consent.ModelTraining, consent.Search, false},
		{consent.ModelTraining, consent.SupportTicket, false},
		{consent.ModelTraining, consent.Rating, true},
	}
	for _, tt := range tests {
		if got := p.Allows(tt.purpose, tt.t); got != tt.want {
			t.Errorf("Allows(%s, %s) = %v, want %v", tt.purpose, tt.t, got, tt.want)
		}
	}
}
