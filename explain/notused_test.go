package explain_test

import (
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// TestNotUsedWhy: why one signal is not used, for every reason features'
// rule gives, in the why page's words.
func TestNotUsedWhy(t *testing.T) {
	t.Parallel()
	const days90 = 90 * 24 * time.Hour
	for _, c := range []struct {
		r    features.Reason
		t    consent.SignalType
		p    consent.Purpose
		st   consent.Status
		want string
	}{
		{features.ReasonExpired, consent.View, consent.Personalization, consent.StatusGiven, "it is older than the 90 days we keep them for"},
		{features.ReasonSuppressed, consent.View, consent.Personalization, consent.StatusGiven, "you asked us not to use it"},
		{features.ReasonNoConsent, consent.View, consent.MarketingEmail, consent.StatusWithdrawn, "you withdrew your consent to marketing emails"},
		{features.ReasonNoConsent, consent.View, consent.MarketingEmail, consent.StatusRefused, "you chose not to consent to marketing emails"},
		{features.ReasonNoConsent, consent.View, consent.MarketingEmail, consent.StatusUnknown, "you have not consented to marketing emails"},
		{features.ReasonNotCollectedForPurpose, consent.View, consent.Support, consent.StatusGiven, "it was not collected for customer support"},
		{features.ReasonNotAllowedByPolicy, consent.Search, consent.ModelTraining, consent.StatusGiven, "our data policy does not use searches for training our recommendation model"},
		{features.ReasonSensitiveNeedsExplicitConsent, consent.Purchase, consent.Personalization, consent.StatusGiven, "it concerns a sensitive item, which needs your explicit consent"},
		{0, consent.View, consent.Personalization, consent.StatusGiven, ""},
	} {
		if got := explain.NotUsedWhy(c.r, c.t, c.p, days90, c.st); got != c.want {
			t.Errorf("NotUsedWhy(%q, %s, %s, %s) = %q, want %q", c.r, c.t, c.p, c.st, got, c.want)
		}
	}
}
