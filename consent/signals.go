package consent

import (
	"fmt"
	"strings"

	"github.com/prebid/go-gdpr/consentconstants"
	tcf2 "github.com/prebid/go-gdpr/vendorconsent/tcf2"

	"github.com/candorhq/candor/internal/fault"
)

// Consent signals from the ecosystem: the Global Privacy Control (Sec-GPC)
// and IAB TCF v2.2 consent strings.

// GPCPurposes are the purposes a Global Privacy Control signal opts out of.
// GPC asks not to sell or share the customer's personal information
// (California's CCPA treats it as a valid opt-out of sale and of sharing
// for cross-context behavioural advertising). candor sells nothing; the
// purposes that carry a customer's data beyond the service they are using
// are model_training (their behaviour shapes what other customers are
// shown) and marketing_email (their behaviour reaches them in another
// channel, for marketing). Personalising the shop they are in and helping
// them when they contact support stay as they chose.
var GPCPurposes = NewPurposeSet(ModelTraining, MarketingEmail)

// TCF purposes mapped onto candor's. A candor purpose is granted by a TC
// string only when every TCF purpose it maps to is consented; purposes with
// no TCF equivalent (support, marketing_email) are left as they are.
//
//	personalization  TCF 5 (create profiles to personalise content) and
//	                 TCF 6 (use profiles to select personalised content)
//	model_training   TCF 10 (develop and improve services)
var tcfMapping = map[Purpose][]consentconstants.Purpose{
	Personalization: {5, 6},
	ModelTraining:   {10},
}

// TCFMappedPurposes lists the candor purposes a TC string speaks to.
func TCFMappedPurposes() []Purpose { return []Purpose{Personalization, ModelTraining} }

// ErrTCF marks a TC string that cannot be read. It is an ErrInvalid.
var ErrTCF = fault.Wrapf(ErrInvalid, "tc_string: unreadable TCF consent string")

// MaxTCStringLen bounds the TC strings accepted.
const MaxTCStringLen = 8192

// TCFChoices reads a TCF v2 consent string and returns the choices it makes
// for the mapped purposes, the TCF purposes it grants (1 to 24), and a
// notice version naming the CMP screen the choice was made on.
func TCFChoices(tc string) ([]Choice, []int, string, error) {
	tc = strings.TrimSpace(tc)
	switch {
	case tc == "":
		return nil, nil, "", invalidf("tc_string", "required")
	case len(tc) > MaxTCStringLen:
		return nil, nil, "", invalidf("tc_string", "at most %d bytes", MaxTCStringLen)
	}
	// The version is the first six bits, the first base64url character: a
	// TCF v1 consent string starts with "B". The v2 parser would call it
	// unreadable (too short, or a version below 2); say what it is.
	if tc[0] == 'B' {
		return nil, nil, "", invalidf("tc_string", "TCF version 1 is not supported (only 2)")
	}
	parsed, err := parseTCF(tc)
	if err != nil {
		return nil, nil, "", fault.Wrapf(ErrTCF, "tc_string: not a readable TCF v2 consent string")
	}
	if parsed.Version() != 2 {
		return nil, nil, "", invalidf("tc_string", "TCF version %d is not supported (only 2)", parsed.Version())
	}
	var granted []int
	for id := 1; id <= 24; id++ {
		if parsed.PurposeAllowed(consentconstants.Purpose(id)) {
			granted = append(granted, id)
		}
	}
	var choices []Choice
	for _, p := range TCFMappedPurposes() {
		ok := true
		for _, id := range tcfMapping[p] {
			ok = ok && parsed.PurposeAllowed(id)
		}
		choices = append(choices, Choice{Purpose: p, Granted: ok})
	}
	notice := fmt.Sprintf("tcf-policy-%d:cmp-%d-v%d:screen-%d", parsed.TCFPolicyVersion(), parsed.CmpID(), parsed.CmpVersion(), parsed.ConsentScreen())
	if len(notice) > MaxNoticeVersionLen {
		notice = notice[:MaxNoticeVersionLen]
	}
	return choices, granted, notice, nil
}

// parseTCF calls the library, turning a panic on malformed input into an
// error (the string comes from outside).
func parseTCF(tc string) (v interface {
	Version() uint8
	TCFPolicyVersion() uint8
	CmpID() uint16
	CmpVersion() uint16
	ConsentScreen() uint8
	PurposeAllowed(consentconstants.Purpose) bool
}, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("malformed: %v", r)
		}
	}()
	return tcf2.ParseString(tc)
}
