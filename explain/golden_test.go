package explain_test

import (
	"strings"
	"testing"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// TestGoldenPersonalized: items ranked from several kinds of signal, one of
// which (a 1-star rating) pulls the score down, followed by a popular item.
// The first item has more contributions than explain.MaxReasons.
func TestGoldenPersonalized(t *testing.T) {
	t.Parallel()
	cat := shopCatalog(t)
	usable := features.Usable{
		Purpose: consent.Personalization,
		Signals: []features.Signal{ // oldest first
			signal("sig_purchase_kettle", consent.Purchase, "kettle", day(1, 10)),
			rated("sig_rating_mugs", "mugs", 1, day(2, 1)),
			signal("sig_view_grinder", consent.View, "grinder", day(2, 20)),
			signal("sig_cart_beans", consent.AddToCart, "beans", day(2, 25)),
			signal("sig_search_scale", consent.Search, "scale", day(2, 27)),
		},
	}
	usable.Excluded = append(excludedN(consent.View, features.ReasonExpired, 1),
		excludedN(consent.SupportTicket, features.ReasonNotAllowedByPolicy, 2)...)
	view := &features.CustomerView{Consent: decided(consent.Personalization, consent.StatusGiven, false), Catalog: cat}
	res := engine.Result{ModelVersion: goldenModel, Items: []engine.Scored{
		{ItemID: "teapot", Score: 1, Source: engine.SourceCooccurrence, Contributions: []engine.Contribution{
			{Signal: 0, Value: 0.875}, {Signal: 1, Value: -0.375}, {Signal: 2, Value: 0.25}, {Signal: 3, Value: 0.25},
		}},
		{ItemID: "cookbook", Score: 0.5, Source: engine.SourceCooccurrence, Contributions: []engine.Contribution{
			{Signal: 4, Value: 0.3125}, {Signal: 2, Value: 0.1875},
		}},
		{ItemID: "scale", Score: 0.75, Source: engine.SourcePopularity},
	}}
	rec := explain.Build(input(view, consent.Personalization, "storefront", &usable, &res)).Render()
	checkGolden(t, "personalized", rec)

	items := rec.Items
	if !rec.Personalized || !items[0].Explanation.Personalized || items[2].Explanation.Personalized {
		t.Errorf("personalised flags: answer %v, items %v %v; want true, true, false",
			rec.Personalized, items[0].Explanation.Personalized, items[2].Explanation.Personalized)
	}
	teapot := items[0].Explanation
	if want := "Because you bought Blue Kettle on 10 January 2026."; teapot.Headline != want {
		t.Errorf("headline %q, want %q", teapot.Headline, want)
	}
	wantTexts := []string{
		"You bought Blue Kettle on 10 January 2026. Used for personalised recommendations, with the consent you gave on 14 February 2026 (notice 2026-02). It added 0.88 to this item's score (88%).",
		"You rated Set of Four Mugs 1 out of 5 on 1 February 2026. Used for personalised recommendations, with the consent you gave on 14 February 2026 (notice 2026-02). It lowered this item's score by 0.38.",
		"You viewed Hand Coffee Grinder on 20 February 2026. Used for personalised recommendations, with the consent you gave on 14 February 2026 (notice 2026-02). It added 0.25 to this item's score (25%).",
	}
	if len(teapot.Reasons) != explain.MaxReasons || teapot.MoreReasons != 1 || len(items[0].Contributions) != 4 {
		t.Fatalf("teapot: %d reasons, %d more, %d contributions; want %d, 1, 4",
			len(teapot.Reasons), teapot.MoreReasons, len(items[0].Contributions), explain.MaxReasons)
	}
	for k, want := range wantTexts {
		r := teapot.Reasons[k]
		if r.Text != want {
			t.Errorf("reason %d:\n got %q\nwant %q", k, r.Text, want)
		}
		if r.ConsentNoticeVersion != "2026-02" || !r.ConsentGivenAt.Equal(consentAt) || r.Purpose != "personalization" {
			t.Errorf("reason %d rests on notice %q given %v for %q; want 2026-02, %v, personalization",
				k, r.ConsentNoticeVersion, r.ConsentGivenAt, r.Purpose, consentAt)
		}
	}
	if c := items[0].Contributions[3]; c.SignalID != "sig_cart_beans" || c.Contribution != 0.25 {
		t.Errorf("fourth contribution %v, want sig_cart_beans 0.25", c)
	}
	if got := items[1].Explanation.Reasons[0].Text; !strings.HasPrefix(got, "You found Kitchen Scale through search on 27 February 2026.") {
		t.Errorf("search reason %q", got)
	}
}

// TestGoldenPopularity: a non-personalised answer for each consent status of
// the purpose says it is not based on personal data, and why.
func TestGoldenPopularity(t *testing.T) {
	t.Parallel()
	cat := shopCatalog(t)
	tests := []struct {
		name   string
		status consent.Status
		why    string // what follows "Not based on your personal data"
	}{
		{"unknown", consent.StatusUnknown, ", because you have not consented to personalised recommendations."},
		{"refused", consent.StatusRefused, ", because you chose not to consent to personalised recommendations."},
		{"withdrawn", consent.StatusWithdrawn, ", because you withdrew your consent to personalised recommendations."},
		{"given", consent.StatusGiven, "."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			usable := features.Usable{Purpose: consent.Personalization}
			if tt.status != consent.StatusGiven {
				// Without consent every stored signal is left out.
				usable.Excluded = append(excludedN(consent.Purchase, features.ReasonNoConsent, 1),
					excludedN(consent.View, features.ReasonNoConsent, 3)...)
			}
			view := &features.CustomerView{Consent: decided(consent.Personalization, tt.status, false), Catalog: cat}
			res := engine.Result{ModelVersion: goldenModel, Items: []engine.Scored{
				{ItemID: "scale", Score: 1, Source: engine.SourcePopularity},
				{ItemID: "teapot", Score: 0.5, Source: engine.SourcePopularity},
			}}
			rec := explain.Build(input(view, consent.Personalization, "storefront", &usable, &res)).Render()
			checkGolden(t, "popularity_"+tt.name, rec)

			want := []string{
				"Popular with other customers across our shop. Not based on your personal data" + tt.why,
				"Popular with other customers across our shop (listed under Kitchen). Not based on your personal data" + tt.why,
			}
			if rec.Personalized {
				t.Error("answer marked personalised")
			}
			for k, it := range rec.Items {
				ex := it.Explanation
				if ex.Personalized || ex.Headline != want[k] || len(ex.Reasons) != 1 || len(it.Contributions) != 0 {
					t.Fatalf("item %s: personalised %v, headline %q, %d reasons, %d contributions; want false, %q, 1, 0",
						it.ItemID, ex.Personalized, ex.Headline, len(ex.Reasons), len(it.Contributions), want[k])
				}
				r := ex.Reasons[0]
				if r.Kind != explain.KindPopularity || r.Text != want[k] || r.SignalID != "" || r.Contribution != 0 {
					t.Errorf("item %s: reason %v, want a popularity reason citing no signal", it.ItemID, r)
				}
			}
			if tt.status == consent.StatusGiven {
				return
			}
			because := strings.TrimSuffix(strings.TrimPrefix(tt.why, ", because "), ".")
			notes := rec.Items[0].Explanation.NotUsed
			wantNotes := []string{"3 views were not used: " + because + ".", "1 purchase was not used: " + because + "."}
			if len(notes) != 2 || notes[0].Text != wantNotes[0] || notes[1].Text != wantNotes[1] {
				t.Errorf("not-used notes %v, want %q", notes, wantNotes)
			}
		})
	}
}

// TestGoldenCatalog: items filled in from the catalogue.
func TestGoldenCatalog(t *testing.T) {
	t.Parallel()
	cat := shopCatalog(t)
	view := &features.CustomerView{Consent: decided(consent.Personalization, consent.StatusGiven, false), Catalog: cat}
	usable := features.Usable{Purpose: consent.Support, Excluded: excludedN(consent.Purchase, features.ReasonNoConsent, 2)}
	res := engine.Result{ModelVersion: "empty", Items: []engine.Scored{
		{ItemID: "cookbook", Source: engine.SourceCatalog},
		{ItemID: "scale", Source: engine.SourceCatalog},
	}}
	// Consent is given for personalisation, not for support.
	rec := explain.Build(input(view, consent.Support, "support", &usable, &res)).Render()
	checkGolden(t, "catalog", rec)

	want := []string{
		"New in our catalogue in Books. Not based on your personal data, because you have not consented to customer support.",
		"New in our catalogue. Not based on your personal data, because you have not consented to customer support.",
	}
	for k, it := range rec.Items {
		ex := it.Explanation
		if it.Model != "catalog" || ex.Personalized || ex.Headline != want[k] || len(ex.Reasons) != 1 || ex.Reasons[0].Kind != explain.KindCatalog {
			t.Errorf("item %s: model %s, explanation %v; want a catalogue reason %q", it.ItemID, it.Model, ex, want[k])
		}
	}
	if rec.Purpose != "support" || rec.Surface != "support" {
		t.Errorf("purpose %q surface %q, want support, support", rec.Purpose, rec.Surface)
	}
}

// TestGoldenNotUsed: one note per signal type and reason, in the singular
// and the plural, for every reason a signal can be left out for.
func TestGoldenNotUsed(t *testing.T) {
	t.Parallel()
	cat := shopCatalog(t)
	tests := []struct {
		name    string
		reason  features.Reason
		purpose consent.Purpose
		status  consent.Status
		one     consent.SignalType // left out once
		several consent.SignalType // left out three times
		want    []string           // by signal type order
	}{
		{
			name: "expired", reason: features.ReasonExpired, purpose: consent.Personalization, status: consent.StatusGiven,
			one: consent.Search, several: consent.View,
			want: []string{
				"3 views were not used: they are older than the 90 days we keep them for.",
				"1 search was not used: it is older than the 30 days we keep them for.",
			},
		},
		{
			name: "no_consent", reason: features.ReasonNoConsent, purpose: consent.Personalization, status: consent.StatusRefused,
			one: consent.Purchase, several: consent.AddToCart,
			want: []string{
				"3 items added to your cart were not used: you chose not to consent to personalised recommendations.",
				"1 purchase was not used: you chose not to consent to personalised recommendations.",
			},
		},
		{
			name: "not_collected_for_purpose", reason: features.ReasonNotCollectedForPurpose, purpose: consent.Support, status: consent.StatusGiven,
			one: consent.Rating, several: consent.Purchase,
			want: []string{
				"3 purchases were not used: they were not collected for customer support.",
				"1 rating was not used: it was not collected for customer support.",
			},
		},
		{
			name: "not_allowed_by_policy", reason: features.ReasonNotAllowedByPolicy, purpose: consent.MarketingEmail, status: consent.StatusGiven,
			one: consent.SupportTicket, several: consent.Search,
			want: []string{
				"3 searches were not used: our data policy does not use searches for marketing emails.",
				"1 support request was not used: our data policy does not use support requests for marketing emails.",
			},
		},
		{
			name: "sensitive_needs_explicit_consent", reason: features.ReasonSensitiveNeedsExplicitConsent, purpose: consent.Personalization, status: consent.StatusGiven,
			one: consent.View, several: consent.Rating,
			want: []string{
				"1 view was not used: it concerns a sensitive item, which needs your explicit consent.",
				"3 ratings were not used: they concern sensitive items, which need your explicit consent.",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			usable := features.Usable{Purpose: tt.purpose,
				Excluded: append(excludedN(tt.several, tt.reason, 3), excludedN(tt.one, tt.reason, 1)...)}
			view := &features.CustomerView{Consent: decided(tt.purpose, tt.status, false), Catalog: cat}
			res := engine.Result{ModelVersion: goldenModel, Items: []engine.Scored{
				{ItemID: "scale", Score: 1, Source: engine.SourcePopularity},
				{ItemID: "cookbook", Source: engine.SourceCatalog},
			}}
			rec := explain.Build(input(view, tt.purpose, "storefront", &usable, &res)).Render()
			checkGolden(t, "not_used_"+tt.name, rec)

			counts := map[string]int32{tt.one.String(): 1, tt.several.String(): 3}
			for _, it := range rec.Items {
				notes := it.Explanation.NotUsed
				if len(notes) != len(tt.want) {
					t.Fatalf("item %s: %d notes, want %d: %v", it.ItemID, len(notes), len(tt.want), notes)
				}
				for k, n := range notes {
					if n.Text != tt.want[k] || n.Reason != tt.name {
						t.Errorf("note %d: %q (reason %s), want %q (reason %s)", k, n.Text, n.Reason, tt.want[k], tt.name)
					}
					if st, err := consent.ParseSignalType("signal_type", n.SignalType); err != nil || n.DataCategory != st.Info().DataCategory {
						t.Errorf("note %d: type %s, data category %s: %v", k, n.SignalType, n.DataCategory, err)
					}
					if n.Count != counts[n.SignalType] {
						t.Errorf("note %d (%s): count %d, want %d", k, n.SignalType, n.Count, counts[n.SignalType])
					}
				}
			}
		})
	}
}

// TestGoldenControls: an answer on the support surface shaped by the
// customer's controls: a signal they asked us not to use (a note naming it),
// items and a category marked not interested (a note counting them), and
// the compact form of each explanation for the chat bubble; then the same
// answer with every reason spelled out.
func TestGoldenControls(t *testing.T) {
	t.Parallel()
	cat := shopCatalog(t)
	suppressed := signal("sig_search_mugs", consent.Search, "mugs", day(2, 3))
	usable := features.Usable{
		Purpose: consent.Support,
		Signals: []features.Signal{
			signal("sig_purchase_kettle", consent.Purchase, "kettle", day(1, 10)),
			signal("sig_ticket_grinder", consent.SupportTicket, "grinder", day(2, 20)),
			signal("sig_purchase_beans", consent.Purchase, "beans", day(2, 22)),
			signal("sig_rating_scale", consent.Rating, "scale", day(2, 24)),
		},
		Excluded: []features.Exclusion{{Signal: &suppressed, Reason: features.ReasonSuppressed}},
	}
	usable.Signals[3].Value = 5
	view := &features.CustomerView{
		Consent: decided(consent.Support, consent.StatusGiven, false),
		Catalog: cat,
		Controls: features.NewControls([]features.Control{
			{Kind: features.ControlSignal, Target: "sig_search_mugs", SetAt: day(2, 26)},
			{Kind: features.ControlItem, Target: "teapot", SetAt: day(2, 26)},
			{Kind: features.ControlItem, Target: "scale", SetAt: day(2, 27)},
			{Kind: features.ControlCategory, Target: "Books", SetAt: day(2, 27)},
		}),
	}
	res := engine.Result{ModelVersion: goldenModel, Items: []engine.Scored{
		{ItemID: "grinder", Score: 1, Source: engine.SourceALS, Contributions: []engine.Contribution{
			{Signal: 1, Value: 0.5}, {Signal: 0, Value: 0.25}, {Signal: 2, Value: 0.125}, {Signal: 3, Value: 0.125},
		}},
		{ItemID: "beans", Score: 0.5, Source: engine.SourcePopularity},
	}}
	a := explain.Build(input(view, consent.Support, "support", &usable, &res))
	rec := a.Render()
	checkGolden(t, "controls", rec)

	notes := rec.NotUsed
	if len(notes) != 2 || notes[0].Reason != "suppressed" || notes[0].SignalID != "sig_search_mugs" ||
		notes[0].Text != "You asked us not to use your search that found Set of Four Mugs on 3 February 2026." {
		t.Errorf("suppressed note: %v", notes)
	}
	if len(notes) == 2 && notes[1].Text != "You marked 2 items and 1 category as not interested, so we leave them out." {
		t.Errorf("not-interested note: %q", notes[1].Text)
	}
	if got := rec.Items[0].Explanation.Compact; got != "Because you contacted us about Hand Coffee Grinder (20 Feb)." {
		t.Errorf("compact personal: %q", got)
	}
	if got := rec.Items[1].Explanation.Compact; got != "Popular with other customers across our shop (listed under Coffee); not based on your personal data." {
		t.Errorf("compact popular: %q", got)
	}
	if n := len(rec.Items[0].Explanation.Reasons); n != explain.MaxReasons {
		t.Errorf("%d reasons by default, want %d", n, explain.MaxReasons)
	}
	all := a.RenderAllReasons().Items[0].Explanation
	if len(all.Reasons) != 4 || all.MoreReasons != 0 {
		t.Errorf("with all reasons: %d reasons, %d more; want 4, 0", len(all.Reasons), all.MoreReasons)
	}
}
