package server

import (
	"context"
	"html"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// TestPrivacySignalUses: each action the privacy center lists says what it
// was collected for and, for each of those purposes, whether it is used now
// and, when not, why not, by the rule the recommender applies. alice (the
// why page's fixture, who consented to personalisation only) also has a
// view of a sensitive item without explicit consent, a view collected for
// marketing emails too whose consent she then withdrew, an action she asked
// us not to use, and a search past its retention that no sweep has deleted
// yet.
func TestPrivacySignalUses(t *testing.T) {
	t.Parallel()
	f := newWhyFixture(t)
	ctx := context.Background()
	core := f.s.core
	tick := func(d time.Duration) { f.now = f.now.Add(d) }

	if err := core.BatchUpsertItems(ctx, app.System(app.RoleAdmin), []features.Item{{ID: "sku-care", Title: "Item (care)", Sensitive: true}}); err != nil {
		t.Fatal(err)
	}
	choose := func(granted bool) {
		t.Helper()
		tick(time.Minute)
		if _, err := core.UpdateConsents(ctx, storefront, "alice", app.ConsentUpdate{
			Choices: []app.ChoiceInput{{Purpose: "marketing_email", Granted: granted}}, NoticeVersion: "v1", Method: "api",
		}); err != nil {
			t.Fatal(err)
		}
	}
	choose(true)
	tick(time.Minute)
	res, err := core.TrackSignals(ctx, storefront, "alice", []features.SignalInput{
		{Type: "view", ItemID: "sku-care", Purposes: []string{"personalization"}, OccurredAt: f.now.Add(-2 * time.Hour)},
		{Type: "view", ItemID: "sku-01", Purposes: []string{"personalization", "marketing_email"}, OccurredAt: f.now.Add(-3 * time.Hour)},
		// Searches are kept for 30 days: this one for an hour more.
		{Type: "search", ItemID: "sku-02", Purposes: []string{"personalization"}, OccurredAt: f.now.Add(-30*24*time.Hour + time.Hour)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if !r.Stored || r.Reason != "" {
			t.Fatalf("signal %d: stored %v: %s", i, r.Stored, r.Reason)
		}
	}
	sensitive, withdrawn, expired := res[0].SignalID, res[1].SignalID, res[2].SignalID
	choose(false)
	suppressed, _ := f.aSignal(t)
	if _, err := core.SetControl(ctx, storefront, "alice", app.ControlChange{Kind: "signals", Target: suppressed}); err != nil {
		t.Fatal(err)
	}
	var plain string // one of alice's first actions, used as it was
	for id := range f.signals {
		if id != suppressed && (plain == "" || id < plain) {
			plain = id
		}
	}
	// Two hours on, the search is past its retention; nothing has swept it.
	tick(2 * time.Hour)
	if _, ok := f.storedSignals(t, f.alice)[expired]; !ok {
		t.Fatal("the expired search was swept: the test needs it stored")
	}
	f.token = f.s.mintToken(t, "alice", 10*time.Minute)
	session, _ := f.privacySession(t)
	page := f.privacyPage(t, session)

	const (
		personalisedUsed = "Personalised recommendations: used now."
		because          = "Personalised recommendations: not used now, because "
	)
	for _, c := range []struct {
		what, id string
		want     []string
	}{
		{"a view of a sensitive item, without explicit consent", sensitive, []string{because + "it concerns a sensitive item, which needs your explicit consent."}},
		{"a view whose marketing consent was withdrawn", withdrawn, []string{personalisedUsed, "Marketing emails: not used now, because you withdrew your consent to marketing emails."}},
		{"an action she asked us not to use", suppressed, []string{because + "you asked us not to use it."}},
		{"a search past its retention, not yet swept", expired, []string{because + "it is older than the 30 days we keep them for."}},
		{"an action used as it was", plain, []string{personalisedUsed}},
	} {
		if got := signalUses(t, page, c.id); !slices.Equal(got, c.want) {
			t.Errorf("%s: the page says\n  %q\nwant\n  %q", c.what, got, c.want)
		}
	}
	if !strings.Contains(signalItem(t, page, expired), "(its time is up: we delete it shortly)") {
		t.Error("the expired search does not say it is deleted shortly")
	}
	if strings.Contains(page, "Used for") {
		t.Error(`the page still says "Used for" of what a signal was collected for`)
	}

	// Every line agrees with the recommender's own filter at this instant.
	view, err := core.Store().Load(ctx, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range consent.Purposes() {
		u := core.Store().UsableFor(view, p, f.now)
		for _, sig := range view.Signals {
			if !sig.Purposes.Has(p) {
				continue
			}
			line := purposeLine(t, page, sig.ID, p)
			used := slices.ContainsFunc(u.Signals, func(s features.Signal) bool { return s.ID == sig.ID })
			if says := strings.Contains(line, ": used now."); says != used {
				t.Errorf("signal %s for %s: the page says %q; UsableFor uses it: %v", sig.ID, p, line, used)
			}
		}
	}
}

var (
	usesList = regexp.MustCompile(`(?s)<ul class="uses">(.*?)</ul>`)
	listItem = regexp.MustCompile(`(?s)<li>(.*?)</li>`)
	anyTag   = regexp.MustCompile(`<[^>]*>`)
)

// signalItem returns the privacy page's list item of one signal.
func signalItem(t *testing.T, page, id string) string {
	t.Helper()
	for _, item := range strings.Split(page, `<li class="item signal">`)[1:] {
		if strings.Contains(item, `name="signal" value="`+id+`"`) {
			return item
		}
	}
	t.Fatalf("the page does not list signal %s", id)
	return ""
}

// signalUses returns the lines of a signal's "Collected for" list, as
// text.
func signalUses(t *testing.T, page, id string) []string {
	t.Helper()
	m := usesList.FindStringSubmatch(signalItem(t, page, id))
	if m == nil {
		t.Fatalf("signal %s has no list of what it was collected for", id)
	}
	var out []string
	for _, li := range listItem.FindAllStringSubmatch(m[1], -1) {
		out = append(out, html.UnescapeString(anyTag.ReplaceAllString(li[1], "")))
	}
	return out
}

// purposeLine returns the line of a signal's list about purpose p.
func purposeLine(t *testing.T, page, id string, p consent.Purpose) string {
	t.Helper()
	title := map[consent.Purpose]string{
		consent.Personalization: "Personalised recommendations", consent.Support: "Help from customer service",
		consent.MarketingEmail: "Marketing emails", consent.ModelTraining: "Training our recommendation model",
	}[p]
	for _, line := range signalUses(t, page, id) {
		if strings.HasPrefix(line, title+": ") {
			return line
		}
	}
	t.Fatalf("signal %s: no line for %s", id, p)
	return ""
}
