package explain

import (
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// All customer-facing wording lives here, as templates. Dates are written the
// way a person reads them ("20 November 2026"), scores to two decimals.

// actions says what the customer did, per signal type, with the item title.
var actions = [consent.NumSignalTypes]string{
	consent.View:          `viewed {{.Title}}`,
	consent.AddToCart:     `added {{.Title}} to your cart`,
	consent.Purchase:      `bought {{.Title}}`,
	consent.Search:        `found {{.Title}} through search`,
	consent.Rating:        `rated {{.Title}} {{.Stars}} out of 5`,
	consent.SupportTicket: `contacted us about {{.Title}}`,
}

// nouns name one and several signals of each type, for "not used" notes.
var nouns = [consent.NumSignalTypes][2]string{
	consent.View:          {"view", "views"},
	consent.AddToCart:     {"item added to your cart", "items added to your cart"},
	consent.Purchase:      {"purchase", "purchases"},
	consent.Search:        {"search", "searches"},
	consent.Rating:        {"rating", "ratings"},
	consent.SupportTicket: {"support request", "support requests"},
}

const (
	headlineSignalText = `Because you {{.Action}} on {{date .At}}.`

	reasonSignalText = `You {{.Action}} on {{date .At}}. ` +
		`Used for {{.Purpose}}, with the consent you gave on {{date .ConsentAt}}{{if .Notice}} (notice {{.Notice}}){{end}}. ` +
		`{{if ge .Contribution 0.0}}It added {{score .Contribution}} to this item's score ({{percent .Share}}).` +
		`{{else}}It lowered this item's score by {{score (neg .Contribution)}}.{{end}}`

	popularityText = `Popular with other customers{{if .Category}} in {{.Category}}{{end}}. ` +
		`Not based on your personal data{{.Why}}.`

	catalogText = `New in our catalogue{{if .Category}} in {{.Category}}{{end}}. ` +
		`Not based on your personal data{{.Why}}.`

	notUsedText = `{{.Count}} {{.Noun}} {{if eq .Count 1}}was{{else}}were{{end}} not used: {{.Why}}.`
)

// Why a non-personalised item carries no personal data, by the state of the
// purpose's consent. Appended to popularityText and catalogText.
var nonPersonalWhy = map[consent.Status]string{
	consent.StatusUnknown:   `, because you have not consented to {{.Purpose}}`,
	consent.StatusRefused:   `, because you chose not to consent to {{.Purpose}}`,
	consent.StatusWithdrawn: `, because you withdrew your consent to {{.Purpose}}`,
	consent.StatusGiven:     ``,
}

// Why a signal was left out, per reason.
var notUsedWhy = map[features.Reason]string{
	features.ReasonExpired:                       `{{if eq .Count 1}}it is{{else}}they are{{end}} older than the {{.Retention}} we keep them for`,
	features.ReasonNotCollectedForPurpose:        `{{if eq .Count 1}}it was{{else}}they were{{end}} not collected for {{.Purpose}}`,
	features.ReasonNoConsent:                     `{{.ConsentState}}`,
	features.ReasonNotAllowedByPolicy:            `our data policy does not use {{.Plural}} for {{.Purpose}}`,
	features.ReasonSensitiveNeedsExplicitConsent: `{{if eq .Count 1}}it concerns a sensitive item{{else}}they concern sensitive items{{end}}, which needs your explicit consent`,
}

var noConsentWhy = map[consent.Status]string{
	consent.StatusUnknown:   `you have not consented to {{.Purpose}}`,
	consent.StatusRefused:   `you chose not to consent to {{.Purpose}}`,
	consent.StatusWithdrawn: `you withdrew your consent to {{.Purpose}}`,
	consent.StatusGiven:     `you have not consented to {{.Purpose}}`,
}

var funcs = template.FuncMap{
	"date":    func(t time.Time) string { return t.UTC().Format("2 January 2006") },
	"score":   func(f float64) string { return fmt.Sprintf("%.2f", f) },
	"percent": func(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) },
	"neg":     func(f float64) float64 { return -f },
}

// render executes a template given as text. Templates are constants of this
// file, so a failure is a programming error caught by the golden tests.
func render(text string, data any) string {
	t, ok := parsed[text]
	if !ok {
		t = template.Must(template.New("").Funcs(funcs).Option("missingkey=error").Parse(text))
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		panic("explain: template " + text + ": " + err.Error())
	}
	return b.String()
}

// parsed holds every template of this file, parsed once.
var parsed = func() map[string]*template.Template {
	m := map[string]*template.Template{}
	add := func(text string) {
		m[text] = template.Must(template.New("").Funcs(funcs).Option("missingkey=error").Parse(text))
	}
	for _, s := range actions {
		add(s)
	}
	for _, s := range []string{headlineSignalText, reasonSignalText, popularityText, catalogText, notUsedText} {
		add(s)
	}
	for _, s := range nonPersonalWhy {
		add(s)
	}
	for _, s := range notUsedWhy {
		add(s)
	}
	for _, s := range noConsentWhy {
		add(s)
	}
	return m
}()

func action(t consent.SignalType, title string, value float64) string {
	return render(actions[t], struct {
		Title string
		Stars int
	}{title, int(value)})
}

func noun(t consent.SignalType, n int) string {
	if n == 1 {
		return nouns[t][0]
	}
	return nouns[t][1]
}
