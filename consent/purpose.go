package consent

import (
	"strings"
)

// Purpose is what a signal may be used for. Customers consent per purpose.
type Purpose uint8

// The purposes candor knows. Their order is part of the storage format (a
// signal's purposes are stored as a bit set), so only ever append.
const (
	Personalization Purpose = iota
	Support
	MarketingEmail
	ModelTraining

	numPurposes
)

// NumPurposes is the number of purposes; Purpose values are 0..NumPurposes-1.
const NumPurposes = int(numPurposes)

// PurposeInfo describes a purpose and its equivalents in public vocabularies,
// so privacy teams can map candor onto their records of processing.
type PurposeInfo struct {
	Purpose     Purpose
	Name        string
	Description string
	// TCFPurposes are the IAB TCF v2.2 purpose ids that cover the same use;
	// empty where TCF (an advertising framework) has none.
	TCFPurposes []int
	// FidesDataUses are fideslang data-use keys.
	FidesDataUses []string
	// DPVPurpose is the W3C Data Privacy Vocabulary purpose term.
	DPVPurpose string
}

var purposeInfos = [numPurposes]PurposeInfo{
	Personalization: {
		Purpose:       Personalization,
		Name:          "personalization",
		Description:   "Use what you do in the shop to choose the products we show you.",
		TCFPurposes:   []int{5, 6},
		FidesDataUses: []string{"personalize.content.profiling", "personalize.content.profiled"},
		DPVPurpose:    "ProvidePersonalisedRecommendations",
	},
	Support: {
		Purpose:       Support,
		Name:          "support",
		Description:   "Use your orders and support requests to help you when you contact customer service.",
		FidesDataUses: []string{"essential.service.operations.support"},
		DPVPurpose:    "CustomerCare",
	},
	MarketingEmail: {
		Purpose:       MarketingEmail,
		Name:          "marketing_email",
		Description:   "Use what you do in the shop to choose the products in our marketing emails.",
		FidesDataUses: []string{"marketing.communications.email"},
		DPVPurpose:    "DirectMarketing",
	},
	ModelTraining: {
		Purpose:       ModelTraining,
		Name:          "model_training",
		Description:   "Include what you do in the shop, without your identity, in the statistics our recommendation model learns from.",
		TCFPurposes:   []int{10},
		FidesDataUses: []string{"train_ai_system", "functional.service.improve"},
		DPVPurpose:    "ResearchAndDevelopment",
	},
}

// Purposes returns every purpose in storage order.
func Purposes() []Purpose {
	out := make([]Purpose, NumPurposes)
	for i := range out {
		out[i] = Purpose(i)
	}
	return out
}

// Info returns the purpose's description and vocabulary mappings.
func (p Purpose) Info() PurposeInfo { return purposeInfos[p] }

// String returns the purpose's API name, e.g. "personalization".
func (p Purpose) String() string {
	if p >= numPurposes {
		return "unknown"
	}
	return purposeInfos[p].Name
}

// Valid reports whether p is a known purpose.
func (p Purpose) Valid() bool { return p < numPurposes }

// ParsePurpose turns an API name into a Purpose. The error names the field and
// lists the known purposes.
func ParsePurpose(field, name string) (Purpose, error) {
	for i := range purposeInfos {
		if purposeInfos[i].Name == name {
			return Purpose(i), nil
		}
	}
	return 0, invalidf(field, "unknown purpose %q (known: %s)", name, purposeNames())
}

func purposeNames() string {
	names := make([]string, 0, NumPurposes)
	for i := range purposeInfos {
		names = append(names, purposeInfos[i].Name)
	}
	return strings.Join(names, ", ")
}

// PurposeSet is a set of purposes, stored as a bit set.
type PurposeSet uint8

// NewPurposeSet returns the set holding ps.
func NewPurposeSet(ps ...Purpose) PurposeSet {
	var s PurposeSet
	for _, p := range ps {
		s = s.With(p)
	}
	return s
}

// Has reports whether p is in the set.
func (s PurposeSet) Has(p Purpose) bool { return s&(1<<p) != 0 }

// With returns the set with p added.
func (s PurposeSet) With(p Purpose) PurposeSet { return s | 1<<p }

// Without returns the set with p removed.
func (s PurposeSet) Without(p Purpose) PurposeSet { return s &^ (1 << p) }

// Empty reports whether the set holds no purpose.
func (s PurposeSet) Empty() bool { return s == 0 }

// Valid reports whether the set holds only known purposes.
func (s PurposeSet) Valid() bool { return s>>numPurposes == 0 }

// Purposes lists the set's members in storage order.
func (s PurposeSet) Purposes() []Purpose {
	var out []Purpose
	for p := Purpose(0); p < numPurposes; p++ {
		if s.Has(p) {
			out = append(out, p)
		}
	}
	return out
}

// Names lists the set's members by API name.
func (s PurposeSet) Names() []string {
	var out []string
	for _, p := range s.Purposes() {
		out = append(out, p.String())
	}
	return out
}
