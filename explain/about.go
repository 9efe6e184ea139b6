package explain

import (
	"fmt"
	"strings"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// RankingFacts are the parameters the ranking description states.
type RankingFacts struct {
	Policy               *consent.Policy
	Retention            *features.Retention
	PerType              [consent.NumSignalTypes]float64 // signal weights
	HalfLife             time.Duration
	MinSupport           int
	ExplanationRetention time.Duration
}

// Section is one part of the ranking description.
type Section struct {
	Title      string
	Paragraphs []string
}

// RankingDescription describes, in plain words, the main parameters of the
// ranking and what a customer can change about it (the EU Digital Services
// Act, article 27, asks this of platforms). The same text is part of what a
// customer receives when they ask for their data.
func RankingDescription(f RankingFacts) []Section {
	var uses []string
	for _, p := range consent.Purposes() {
		types := f.Policy.Allowed[p].Types()
		if len(types) == 0 {
			uses = append(uses, fmt.Sprintf("For %s we use none of what you do.", purposeWords[p]))
			continue
		}
		var kinds []string
		for _, t := range types {
			kinds = append(kinds, fmt.Sprintf("%s (kept %s)", nouns[t][1], retentionWords(f.Retention.For(t))))
		}
		uses = append(uses, fmt.Sprintf("For %s we may use your %s.", purposeWords[p], joinWords(kinds)))
	}
	var weights []string
	for _, t := range consent.SignalTypes() {
		if t == consent.Rating {
			weights = append(weights, fmt.Sprintf("a rating counts %g per star above or below 3", f.PerType[t]))
			continue
		}
		weights = append(weights, fmt.Sprintf("each %s counts %g", nouns[t][0], f.PerType[t]))
	}
	decay := "Older actions count as much as recent ones."
	if f.HalfLife > 0 {
		decay = fmt.Sprintf("An action counts half as much after %s, a quarter after twice that, and so on.", retentionWords(f.HalfLife))
	}
	return []Section{
		{Title: "What decides what you see", Paragraphs: []string{
			"We suggest products that customers with tastes like yours chose, judged from what you did in our shop: the products you viewed, added to your cart, bought, found through search or rated, and the support requests you made.",
			"Our main model learns, from the shopping of the customers who allowed it (without knowing who they are), which products go together. When you ask for suggestions, it weighs your own actions to rank the products you have not bought yet.",
			"When we cannot use your data (you did not consent, or we have too little of it), we show products that are popular with other customers, then our newest products, and we say so next to each one.",
		}},
		{Title: "How much each action counts", Paragraphs: []string{
			"Every suggestion lists the actions of yours that moved it and by exactly how much. " + capitalise(joinWords(weights)) + ". " + decay,
			fmt.Sprintf("Anything our model learns from other customers rests on at least %d different people, so it never reflects one person's choices.", f.MinSupport),
		}},
		{Title: "What we use, and for what", Paragraphs: append(uses,
			"Products in sensitive categories (health, for instance) are only used, and only suggested from your data, if you gave your explicit consent for sensitive data.",
			"We never use an action for a purpose you did not consent to, we forget each action when its time is up, and we keep each set of suggestions, with its explanation, for "+retentionWords(f.ExplanationRetention)+".",
		)},
		{Title: "What you can change", Paragraphs: []string{
			"You can give or withdraw your consent for each purpose at any time; a withdrawal applies to the very next suggestion, and you can ask us to delete the data collected for that purpose too.",
			"From any explanation you can tell us not to use one of your actions, or that you are not interested in a product or a whole category. Each takes effect at once and can be undone.",
		}},
	}
}

func joinWords(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
