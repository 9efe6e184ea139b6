package explain

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// All customer-facing wording lives here. Dates are written the way a person
// reads them ("20 November 2026"), scores to two decimals. The sentences are
// format strings rather than text/template: an answer renders dozens of them
// on the hot path.

// actions says what the customer did, per signal type; %s is the item title.
var actions = [consent.NumSignalTypes]string{
	consent.View:          "viewed %s",
	consent.AddToCart:     "added %s to your cart",
	consent.Purchase:      "bought %s",
	consent.Search:        "found %s through search",
	consent.Rating:        "rated %s %d out of 5",
	consent.SupportTicket: "contacted us about %s",
}

// purposeWords names each purpose the way a customer reads it.
var purposeWords = [consent.NumPurposes]string{
	consent.Personalization: "personalised recommendations",
	consent.Support:         "customer support",
	consent.MarketingEmail:  "marketing emails",
	consent.ModelTraining:   "training our recommendation model",
}

// phrases name one signal as its owner reads it: %s the item title, %s the
// date. Used for "you asked us not to use …" and control labels.
var phrases = [consent.NumSignalTypes]string{
	consent.View:          "your view of %s on %s",
	consent.AddToCart:     "your cart addition of %s on %s",
	consent.Purchase:      "your purchase of %s on %s",
	consent.Search:        "your search that found %s on %s",
	consent.Rating:        "your rating of %s on %s",
	consent.SupportTicket: "your support request about %s on %s",
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
	headlineFormat = "Because you %s on %s." // action, date

	// reasonFormat: action, date, purpose, consent date, notice clause.
	reasonFormat  = "You %s on %s. Used for %s, with the consent you gave on %s%s."
	noticeFormat  = " (notice %s)"
	addedFormat   = " It added %.2f to this item's score (%.0f%%)."
	loweredFormat = " It lowered this item's score by %.2f."

	// Popularity is counted across the whole shop, never within a category,
	// so the item's category is named apart ("listed under"), not as the
	// place it is popular in.
	popularityFormat = "Popular with other customers across our shop%s. Not based on your personal data%s." // listed clause, why
	listedFormat     = " (listed under %s)"
	catalogFormat    = "New in our catalogue%s. Not based on your personal data%s."
	categoryFormat   = " in %s"

	notUsedFormat = "%d %s %s not used: %s." // count, noun, was/were, why

	suppressedFormat    = "You asked us not to use %s." // phrase
	notInterestedFormat = "You marked %s as not interested, so we leave them out."

	compactSignalFormat  = "Because you %s (%s)." // action, short date
	compactPopularFormat = "Popular with other customers across our shop%s; not based on your personal data."
	compactCatalogFormat = "New in our catalogue%s; not based on your personal data."
)

// Why a non-personalised item carries no personal data, by the status of the
// purpose's consent; %s is the purpose.
var nonPersonalWhy = [...]string{
	consent.StatusUnknown:   ", because you have not consented to %s",
	consent.StatusRefused:   ", because you chose not to consent to %s",
	consent.StatusWithdrawn: ", because you withdrew your consent to %s",
	consent.StatusGiven:     "",
}

// Why signals of one kind were left out. Each is a function of the count (for
// agreement), the purpose, the plural noun, the retention and the consent
// status.
var notUsedWhy = map[features.Reason]func(n int, purpose, plural, retention string, st consent.Status) string{
	features.ReasonExpired: func(n int, _, _, retention string, _ consent.Status) string {
		return pick(n, "it is", "they are") + " older than the " + retention + " we keep them for"
	},
	features.ReasonNoConsent: func(_ int, purpose, _, _ string, st consent.Status) string {
		switch st {
		case consent.StatusRefused:
			return "you chose not to consent to " + purpose
		case consent.StatusWithdrawn:
			return "you withdrew your consent to " + purpose
		}
		return "you have not consented to " + purpose
	},
	features.ReasonNotCollectedForPurpose: func(n int, purpose, _, _ string, _ consent.Status) string {
		return pick(n, "it was", "they were") + " not collected for " + purpose
	},
	features.ReasonNotAllowedByPolicy: func(_ int, purpose, plural, _ string, _ consent.Status) string {
		return "our data policy does not use " + plural + " for " + purpose
	},
	features.ReasonSensitiveNeedsExplicitConsent: func(n int, _, _, _ string, _ consent.Status) string {
		return pick(n, "it concerns a sensitive item, which needs", "they concern sensitive items, which need") + " your explicit consent"
	},
	// An answer names suppressed signals one by one (suppressedSentence);
	// this is for saying why one signal is not used (NotUsedWhy).
	features.ReasonSuppressed: func(n int, _, _, _ string, _ consent.Status) string {
		return "you asked us not to use " + pick(n, "it", "them")
	},
}

// NotUsedWhy says why one signal of type t is not used for purpose p, in the
// words that end the why page's "not used" notes, e.g. "you withdrew your
// consent to marketing emails". r is the reason features' rule gave,
// retention the type's retention period (named for an expired signal) and
// st the purpose's consent status. It is empty for a reason without words.
func NotUsedWhy(r features.Reason, t consent.SignalType, p consent.Purpose, retention time.Duration, st consent.Status) string {
	why, ok := notUsedWhy[r]
	if !ok || !t.Valid() || !p.Valid() {
		return ""
	}
	return why(1, purposeWords[p], nouns[t][1], retentionWords(retention), st)
}

func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func date(t time.Time) string { return t.UTC().Format("2 January 2006") }

func action(t consent.SignalType, title string, value float64) string {
	if t == consent.Rating {
		return fmt.Sprintf(actions[t], title, int(value))
	}
	return fmt.Sprintf(actions[t], title)
}

func headline(t consent.SignalType, title string, value float64, at time.Time) string {
	return fmt.Sprintf(headlineFormat, action(t, title, value), date(at))
}

// signalSentence is the part of a reason that does not depend on the item it
// explains, so it is rendered once per signal and answer.
func signalSentence(t consent.SignalType, title string, value float64, at time.Time, p consent.Purpose, d consent.Decision) string {
	notice := ""
	if d.NoticeVersion != "" {
		notice = fmt.Sprintf(noticeFormat, d.NoticeVersion)
	}
	return fmt.Sprintf(reasonFormat, action(t, title, value), date(at), purposeWords[p], date(d.UpdatedAt), notice)
}

func contributionSentence(contribution, share float64) string {
	if contribution >= 0 {
		return fmt.Sprintf(addedFormat, contribution, 100*share)
	}
	return fmt.Sprintf(loweredFormat, -contribution)
}

func nonPersonalSentence(catalogFill bool, category string, p consent.Purpose, st consent.Status) string {
	why := ""
	if int(st) < len(nonPersonalWhy) && nonPersonalWhy[st] != "" {
		why = fmt.Sprintf(nonPersonalWhy[st], purposeWords[p])
	}
	if catalogFill {
		return fmt.Sprintf(catalogFormat, categoryClause(categoryFormat, category), why)
	}
	return fmt.Sprintf(popularityFormat, categoryClause(listedFormat, category), why)
}

// categoryClause names a non-personal item's category in format, or is
// empty for an item without one.
func categoryClause(format, category string) string {
	if category == "" {
		return ""
	}
	return fmt.Sprintf(format, category)
}

// SignalPhrase names a signal as its owner reads it, e.g. "your view of
// Trail Runner 2 on 20 November 2026".
func SignalPhrase(t consent.SignalType, title string, at time.Time) string {
	return fmt.Sprintf(phrases[t], title, date(at))
}

func suppressedSentence(t consent.SignalType, title string, at time.Time) string {
	return fmt.Sprintf(suppressedFormat, SignalPhrase(t, title, at))
}

func notInterestedSentence(items, categories int) string {
	var parts []string
	if items > 0 {
		parts = append(parts, strconv.Itoa(items)+pick(items, " item", " items"))
	}
	if categories > 0 {
		parts = append(parts, strconv.Itoa(categories)+pick(categories, " category", " categories"))
	}
	return fmt.Sprintf(notInterestedFormat, strings.Join(parts, " and "))
}

// compactSentence is the one-bubble form of an item's explanation.
func compactSentence(personal, catalogFill bool, t consent.SignalType, title string, value float64, at time.Time, category string) string {
	if personal {
		return fmt.Sprintf(compactSignalFormat, action(t, title, value), at.UTC().Format("2 Jan"))
	}
	if catalogFill {
		return fmt.Sprintf(compactCatalogFormat, categoryClause(categoryFormat, category))
	}
	return fmt.Sprintf(compactPopularFormat, categoryClause(listedFormat, category))
}

func notUsedSentence(t consent.SignalType, r features.Reason, n int, p consent.Purpose, retention time.Duration, st consent.Status) string {
	why := notUsedWhy[r](n, purposeWords[p], nouns[t][1], retentionWords(retention), st)
	return fmt.Sprintf(notUsedFormat, n, nouns[t][pickIndex(n)], pick(n, "was", "were"), why)
}

func pickIndex(n int) int {
	if n == 1 {
		return 0
	}
	return 1
}

func retentionWords(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + pick(int(d/(24*time.Hour)), " day", " days")
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + pick(int(d/time.Hour), " hour", " hours")
	}
	return d.Round(time.Minute).String()
}
