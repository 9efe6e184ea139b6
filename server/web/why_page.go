package web

import (
	"time"

	"github.com/candorhq/candor/app"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// The facts templates/why.html renders. The explanations are the stored
// answer's, rendered with every reason (RenderAllReasons), exactly as the API
// returns them; the state of each control is the customer's now, so a
// button always offers what can be done next.

// whyPage is one rendering of the page.
type whyPage struct {
	Purpose      string // the answer's purpose (API name)
	Made         string // the answer's date, as a person reads it
	Personalized bool
	Status       *whyStatus
	Items        []whyItem
	NotUsed      []whyNote
	Consent      whyConsent
	Controls     []whyControl
	Ranking      []explain.Section
	Ask          whyAsk
	// ExpiresMinutes is how long the session has left, in whole minutes.
	ExpiresMinutes int
}

// whyButton is one control's form.
type whyButton struct {
	Path, CSRF string
	Action     string // set, remove (controls); revoke, grant (consent)
	Kind       string // signals, items, categories; empty for consent
	Target     string
	Subject    string // what the control is about, as the customer reads it
	Purpose    string // consent: the purpose's API name
	Undo       bool   // shown as "Undo", in a status message or the list of controls
	// DeleteData: consent: the revocation also deletes what was collected
	// for the purpose.
	DeleteData bool
	Again      bool // consent: granting what was withdrawn
}

// whyStatus says what the last control did, with a way to undo it.
type whyStatus struct {
	Action, Kind, Subject, Purpose string
	Undo                           *whyButton
}

type whyItem struct {
	Title, Headline string
	// Reasons are the first explain.MaxReasons reasons; More the rest,
	// behind "Show N more reasons".
	Reasons, More []whyReason
	Category      string
	// HiddenItem and HiddenCategory say the customer has since said they
	// are not interested in the item or its category.
	HiddenItem, HiddenCategory bool
	Buttons                    []whyButton
}

type whyReason struct {
	Text string
	// Suppressed: the customer has since asked us not to use the signal.
	Suppressed bool
	Button     *whyButton
}

type whyNote struct {
	Text string
	// AllowedAgain: a signal left out at the customer's request that they
	// have since allowed again.
	AllowedAgain bool
	Button       *whyButton
}

type whyConsent struct {
	Purpose     string
	Description string // what consenting allows, in the purpose's words
	Granted     bool
	Withdrawn   bool
	Since       string
	Button      whyButton
	// Erase, while consent is given: withdraw it and delete what was
	// collected for the purpose.
	Erase *whyButton
}

// whyAsk is the section where the customer asks a person to look at the
// answer: their requests about it, and the form, unless one is still
// waiting for a person or being looked at (its reply is in the privacy
// center).
type whyAsk struct {
	Path, CSRF string
	MaxMessage int
	Cases      []whyCase // newest first
	Pending    bool
}

type whyCase struct{ Kind, Status, Sent string }

type whyControl struct {
	Kind    string
	Subject string // the API's label (controlLabel)
	Button  whyButton
}

type whyPageInput struct {
	Answer    *explain.Answer
	View      *features.CustomerView
	Cases     []*explain.Case // the customer's review cases, newest first
	CSRF      string
	Flash     *whyFlash
	Ranking   []explain.Section
	ExpiresIn time.Duration
}

func whyDate(t time.Time) string { return t.UTC().Format("2 January 2006") }

// buildWhyPage gathers the facts of the page.
func buildWhyPage(in whyPageInput) *whyPage {
	a, view := in.Answer, in.View
	controlsPath := whyPath(a.ID) + "/controls"
	consentPath := whyPath(a.ID) + "/consent"
	button := func(action string, kind features.ControlKind, target, subject string) *whyButton {
		return &whyButton{Path: controlsPath, CSRF: in.CSRF, Action: action, Kind: kind.String(), Target: target, Subject: subject}
	}
	toggle := func(inForce bool, kind features.ControlKind, target, subject string) *whyButton {
		if inForce {
			return button("remove", kind, target, subject)
		}
		return button("set", kind, target, subject)
	}
	phrases := map[string]string{}
	for _, list := range [][]explain.CitedSignal{a.Signals, a.Suppressed} {
		for i := range list {
			sig := &list[i]
			phrases[sig.ID] = explain.SignalPhrase(sig.Type, sig.ItemTitle, sig.OccurredAt)
		}
	}

	rec := a.RenderAllReasons()
	page := &whyPage{
		Purpose:        a.Purpose.String(),
		Made:           whyDate(a.CreatedAt),
		Personalized:   rec.Personalized,
		Ranking:        in.Ranking,
		ExpiresMinutes: max(0, int(in.ExpiresIn/time.Minute)),
	}
	for i, it := range rec.Items {
		ex := it.Explanation
		item := whyItem{Title: it.Title, Headline: ex.Headline}
		var reasons []whyReason
		for _, r := range ex.Reasons {
			if r.Kind != explain.KindSignal {
				// A non-personal item's one reason is its headline.
				if r.Text != ex.Headline {
					reasons = append(reasons, whyReason{Text: r.Text})
				}
				continue
			}
			id := r.SignalID
			suppressed := view.Controls.SuppressedSignal(id)
			reasons = append(reasons, whyReason{
				Text: r.Text, Suppressed: suppressed,
				Button: toggle(suppressed, features.ControlSignal, id, phrases[id]),
			})
		}
		if len(reasons) > explain.MaxReasons {
			item.Reasons, item.More = reasons[:explain.MaxReasons], reasons[explain.MaxReasons:]
		} else {
			item.Reasons = reasons
		}
		itemID := a.Items[i].ItemID
		item.HiddenItem = view.Controls.NotInterestedItem(itemID)
		item.Buttons = append(item.Buttons, *toggle(item.HiddenItem, features.ControlItem, itemID, it.Title))
		item.Category = a.Items[i].Category
		if current := view.Catalog.Item(itemID); current != nil && len(current.Categories) > 0 {
			item.Category = current.Categories[0]
		}
		if item.Category != "" {
			item.HiddenCategory = view.Controls.NotInterestedCategory(item.Category)
			item.Buttons = append(item.Buttons, *toggle(item.HiddenCategory, features.ControlCategory, item.Category, item.Category))
		}
		page.Items = append(page.Items, item)
	}

	for _, n := range rec.NotUsed {
		note := whyNote{Text: n.Text}
		if id := n.SignalID; id != "" && n.Reason == features.ReasonSuppressed.String() {
			if view.Controls.SuppressedSignal(id) {
				note.Button = button("remove", features.ControlSignal, id, phrases[id])
			} else {
				note.AllowedAgain = true
			}
		}
		page.NotUsed = append(page.NotUsed, note)
	}

	d := view.Consent.Decisions[a.Purpose]
	withdrawn := d.Status == consent.StatusWithdrawn
	page.Consent = whyConsent{
		Purpose: page.Purpose, Description: a.Purpose.Info().Description, Granted: d.Granted(), Withdrawn: withdrawn,
		Button: whyButton{Path: consentPath, CSRF: in.CSRF, Action: "grant", Purpose: page.Purpose, Again: withdrawn},
	}
	if d.Granted() {
		page.Consent.Button.Action = "revoke"
		page.Consent.Erase = &whyButton{Path: consentPath, CSRF: in.CSRF, Action: "revoke", Purpose: page.Purpose, DeleteData: true}
		if !d.UpdatedAt.IsZero() {
			page.Consent.Since = whyDate(d.UpdatedAt)
		}
	}

	for _, c := range view.Controls.List() {
		label := app.ControlLabel(c, view)
		undo := button("remove", c.Kind, c.Target, label)
		if c.Kind == features.ControlCategory {
			undo.Subject = c.Target
		}
		undo.Undo = true
		page.Controls = append(page.Controls, whyControl{Kind: c.Kind.String(), Subject: label, Button: *undo})
	}

	page.Ask = whyAsk{Path: whyPath(a.ID) + "/review", CSRF: in.CSRF, MaxMessage: explain.MaxReviewMessage}
	for _, c := range in.Cases {
		if c.RecommendationID != a.ID {
			continue
		}
		page.Ask.Cases = append(page.Ask.Cases, whyCase{Kind: c.Kind, Status: c.Status, Sent: whyDate(c.CreatedAt)})
		if explain.ReviewPending(c.Status) {
			page.Ask.Pending = true
		}
	}

	if f := in.Flash; f != nil {
		page.Status = whyStatusOf(f, a, view, controlsPath, consentPath, in.CSRF)
	}
	return page
}

// whyStatusOf turns the last control's facts into its status message and
// the button that undoes it.
func whyStatusOf(f *whyFlash, a *explain.Answer, view *features.CustomerView, controlsPath, consentPath, csrf string) *whyStatus {
	switch f.Action {
	case "review":
		return &whyStatus{Action: f.Action}
	case "revoke", "grant":
		undo := map[string]string{"revoke": "grant", "grant": "revoke"}[f.Action]
		return &whyStatus{Action: f.Action, Kind: f.Kind, Purpose: a.Purpose.String(), Undo: &whyButton{
			Path: consentPath, CSRF: csrf, Action: undo, Purpose: a.Purpose.String(), Undo: true, Again: undo == "grant",
		}}
	case "set", "remove":
		kind, err := features.ParseControlKind("kind", f.Kind)
		if err != nil {
			return nil
		}
		subject := f.Target
		if kind != features.ControlCategory {
			subject = app.ControlLabel(features.Control{Kind: kind, Target: f.Target}, view)
		}
		undo := map[string]string{"set": "remove", "remove": "set"}[f.Action]
		return &whyStatus{Action: f.Action, Kind: f.Kind, Subject: subject, Undo: &whyButton{
			Path: controlsPath, CSRF: csrf, Action: undo, Kind: f.Kind, Target: f.Target, Subject: subject, Undo: true,
		}}
	}
	return nil
}
