package consent_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/candorhq/candor/consent"
)

// Published TC strings. Real strings written by CMPs, as published in the
// test files of github.com/prebid/go-gdpr v1.12.1.
const (
	// vendorconsent/benchmark_test.go: a real-world TC string with all four
	// segments and hundreds of vendors.
	publishedFull = "CPAavcCPAavcCAGABCFRBKCsAP_AAH_AAAqIHFNf_X_fb3_j-_59_9t0eY1f9_7_v-0zjgeds-8Nyd_X_L8X5mM7vB36pq4KuR4Eu3LBAQdlHOHcTUmw6IkVqTPsbk2Mr7NKJ7PEinMbe2dYGH9_n9XT_ZKY79_____7__-_____7_f__-__3_vp9V---wOJAIMBAUAgAEMAAQIFCIQAAQhiQAAAABBCIBQJIAEqgAWVwEdoIEACAxAQgQAgBBQgwCAAQAAJKAgBACwQCAAiAQAAgAEAIAAEIAILACQEAAAEAJCAAiACECAgiAAg5DAgIgCCAFABAAAuJDACAMooASBAPGQGAAKAAqACGAEwALgAjgBlgDUAHZAPsA_ACMAFLAK2AbwBMQCbAFogLYAYEAw8BkQDOQGeAM-EQHwAVABWAC4AIYAZAAywBqADZAHYAPwAgABGAClgFPANYAdUA-QCGwEOgIvASIAmwBOwCkQFyAMCAYSAw8Bk4DOQGfCQAYADgBzgN_CQTgAEAALgAoACoAGQAOAAeABAACIAFQAMIAaABqADyAIYAigBMgCqAKwAWAAuABvADmAHoAQ0AiACJgEsAS4AmgBSgC3AGGAMgAZcA1ADVAGyAO8AewA-IB9gH6AQAAjABQQClgFPAL8AYoA1gBtADcAG8AOIAegA-QCGwEOgIqAReAkQBMQCZQE2AJ2AUOApEBYoC2AFyALvAYEAwYBhIDDQGHgMiAZIAycBlwDOQGfANIAadA1gDWQoAEAYQaBIACoAKwAXABDADIAGWANQAbIA7AB-AEAAIKARgApYBT4C0ALSAawA3gB1QD5AIbAQ6Ai8BIgCbAE7AKRAXIAwIBhIDDwGMAMnAZyAzwBnwcAEAA4Bv4qA2ABQAFQAQwAmABcAEcAMsAagA7AB-AEYAKXAWgBaQDeAJBATEAmwBTYC2AFyAMCAYeAyIBnIDPAGfANyHQWQAFwAUABUADIAHAAQAAiABdADAAMYAaABqADwAH0AQwBFACZAFUAVgAsABcADEAGYAN4AcwA9ACGAERAJYAmABNACjAFKALEAW4AwwBkADKAGiANQAbIA3wB3gD2gH2AfoBGACVAFBAKeAWKAtAC0gFzALyAX4AxQBuADiQHTAdQA9ACGwEOgIiAReAkEBIgCbAE7AKHAU0AqwBYsC2ALZAXAAuQBdoC7wGEgMNAYeAxIBjADHgGSAMnAZUAywBlwDOQGfANEgaQBpIDSwGnANYAbGPABAIqAb-QgZgALAAoABkAEQALgAYgBDACYAFUALgAYgAzABvAD0AI4AWIAygBqADfAHfAPsA_ACMAFBAKGAU-AtAC0gF-AMUAdQA9ACQQEiAJsAU0AsUBaMC2ALaAXAAuQBdoDDwGJAMiAZOAzkBngDPgGiANJAaWA4AlAyAAQAAsACgAGQAOAAigBgAGIAPAAiABMACqAFwAMQAZgA2gCGgEQARIAowBSgC3AGEAMoAaoA2QB3gD8AIwAU-AtAC0gGKANwAcQA6gCHQEXgJEATYAsUBbAC7QGHgMiAZOAywBnIDPAGfANIAawA4AmACARUA38pBBAAXABQAFQAMgAcABAACKAGAAYwA0ADUAHkAQwBFACYAFIAKoAWAAuABiADMAHMAQwAiABRgClAFiALcAZQA0QBqgDZAHfAPsA_ACMAFBAKGAVsAuYBeQDaAG4APQAh0BF4CRAE2AJ2AUOApoBWwCxQFsALgAXIAu0BhoDDwGMAMiAZIAycBlwDOQGeAM-gaQBpMDWANZAbGVABAA-Ab-A.YAAAAAAAAAAA"
	// vendorconsent/consent20_test.go (TestParseValidString20): vendor
	// consents in a range section.
	publishedRange = "COyiILmOyiILmADACHENAPCAAAAAAAAAAAAAE5QBgALgAqgD8AQACSwEygJyAAAAAA"
	// vendorconsent/consent20_test.go (TestParseValidString20MaxVendorID0).
	publishedEmpty = "COwJz-rOwJz-rMLAEAFRAPCgAAAAAAAAAAqIAAAAAAAA"
	// vendorconsent/tcf2/metadata_test.go (TestTCFPolicyVersion), with its
	// policy version character set to "E" as that test does: TCF policy
	// version 4, which is TCF v2.2.
	publishedV22 = "CPtGDMAPtGDMALMAAAENA_E_AAAAAAAAACiQAAAAAAAA"

	// TCF v1.1 strings, which candor refuses. vendorconsent/consent_test.go
	// (TestParseValidString): a valid v1.1 vendor consent string.
	publishedV1 = "BONV8oqONXwgmADACHENAO7pqzAAppY"
	// vendorconsent/tcf2/consent_test.go (TestParseLegitIntSetWithBitField):
	// a crafted string whose legitimate interest section is cut short. Its
	// version field says 2 (it starts with 'C', which is 2 in base64), so
	// it is refused as unreadable rather than as v1.
	craftedTruncated = "COvcSpYOvcSpYC9AAAENAPCAAAAAAAAAAAAAAFAAAAA"
)

// choicesOf turns TCFChoices' answer into purpose -> granted.
func choicesOf(t testing.TB, choices []consent.Choice) map[consent.Purpose]bool {
	t.Helper()
	out := map[consent.Purpose]bool{}
	for _, c := range choices {
		if _, dup := out[c.Purpose]; dup {
			t.Errorf("purpose %s chosen twice", c.Purpose)
		}
		if c.Sensitive || c.DeleteData {
			t.Errorf("choice %+v: a TC string says nothing of sensitive data or deletion", c)
		}
		out[c.Purpose] = c.Granted
	}
	return out
}

// TestTCFMappingTable checks the documented table (PurposeInfo.TCFPurposes):
// a candor purpose is granted only when every TCF purpose mapped onto it is
// consented, and only mapped purposes are named.
func TestTCFMappingTable(t *testing.T) {
	t.Parallel()
	mapped := consent.TCFMappedPurposes()
	if !slices.Equal(mapped, []consent.Purpose{consent.Personalization, consent.ModelTraining}) {
		t.Fatalf("TCFMappedPurposes() = %v", mapped)
	}
	for _, p := range consent.Purposes() {
		if got := len(p.Info().TCFPurposes) > 0; got != slices.Contains(mapped, p) {
			t.Errorf("%s: has TCF purposes %v but mapped = %v", p, p.Info().TCFPurposes, !got)
		}
	}
	if got := consent.Personalization.Info().TCFPurposes; !slices.Equal(got, []int{5, 6}) {
		t.Errorf("personalization maps to TCF %v, want [5 6]", got)
	}
	if got := consent.ModelTraining.Info().TCFPurposes; !slices.Equal(got, []int{10}) {
		t.Errorf("model_training maps to TCF %v, want [10]", got)
	}

	all := make([]int, 24)
	for i := range all {
		all[i] = i + 1
	}
	without := func(ids ...int) []int {
		return slices.DeleteFunc(slices.Clone(all), func(id int) bool { return slices.Contains(ids, id) })
	}
	cases := []struct {
		name     string
		purposes []int
		li       []int
		want     map[consent.Purpose]bool
	}{
		{"nothing consented", nil, nil, map[consent.Purpose]bool{consent.Personalization: false, consent.ModelTraining: false}},
		{"everything consented", all, nil, map[consent.Purpose]bool{consent.Personalization: true, consent.ModelTraining: true}},
		{"5 and 6", []int{5, 6}, nil, map[consent.Purpose]bool{consent.Personalization: true, consent.ModelTraining: false}},
		{"5 without 6", []int{1, 5}, nil, map[consent.Purpose]bool{consent.Personalization: false, consent.ModelTraining: false}},
		{"6 without 5", []int{1, 6}, nil, map[consent.Purpose]bool{consent.Personalization: false, consent.ModelTraining: false}},
		{"10 only", []int{10}, nil, map[consent.Purpose]bool{consent.Personalization: false, consent.ModelTraining: true}},
		{"all but 5", without(5), nil, map[consent.Purpose]bool{consent.Personalization: false, consent.ModelTraining: true}},
		{"all but 6", without(6), nil, map[consent.Purpose]bool{consent.Personalization: false, consent.ModelTraining: true}},
		{"all but 10", without(10), nil, map[consent.Purpose]bool{consent.Personalization: true, consent.ModelTraining: false}},
		{"advertising only (1 to 4, 7)", []int{1, 2, 3, 4, 7}, nil, map[consent.Purpose]bool{consent.Personalization: false, consent.ModelTraining: false}},
		{"11 (limited data) is not 5 and 6", []int{11}, nil, map[consent.Purpose]bool{consent.Personalization: false, consent.ModelTraining: false}},
		// Legitimate interest is not consent.
		{"legitimate interest for everything", nil, all, map[consent.Purpose]bool{consent.Personalization: false, consent.ModelTraining: false}},
		{"5, 6 and 10 by legitimate interest", []int{1}, []int{5, 6, 10}, map[consent.Purpose]bool{consent.Personalization: false, consent.ModelTraining: false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := baseCore()
			c.Purposes, c.PurposesLI = tc.purposes, tc.li
			choices, granted, notice, err := consent.TCFChoices(c.encode())
			if err != nil {
				t.Fatalf("TCFChoices: %v", err)
			}
			if got := choicesOf(t, choices); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("choices = %v, want %v", got, tc.want)
			}
			if want := slices.Clip(tc.purposes); !slices.Equal(granted, want) && !(len(granted) == 0 && len(want) == 0) {
				t.Errorf("TCF purposes granted = %v, want %v", granted, want)
			}
			if want := "tcf-policy-4:cmp-300-v2:screen-1"; notice != want {
				t.Errorf("notice = %q, want %q", notice, want)
			}
		})
	}
}

// TestTCFChoicesPublishedStrings reads real TC strings; what they grant is
// read from their bits independently of the library.
func TestTCFChoicesPublishedStrings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, tc, notice string
	}{
		{"four segments, hundreds of vendors", publishedFull, "tcf-policy-2:cmp-6-v1:screen-2"},
		{"range section", publishedRange, "tcf-policy-2:cmp-3-v2:screen-7"},
		{"empty vendor section", publishedEmpty, "tcf-policy-2:cmp-779-v4:screen-0"},
		{"TCF v2.2 (policy version 4)", publishedV22, "tcf-policy-4:cmp-716-v0:screen-0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			version, purposes := readPurposes(t, tc.tc)
			if version != 2 {
				t.Fatalf("fixture is version %d", version)
			}
			choices, granted, notice, err := consent.TCFChoices(tc.tc)
			if err != nil {
				t.Fatalf("TCFChoices: %v", err)
			}
			if !slices.Equal(granted, purposes) && !(len(granted) == 0 && len(purposes) == 0) {
				t.Errorf("TCF purposes granted = %v, the bits say %v", granted, purposes)
			}
			want := map[consent.Purpose]bool{
				consent.Personalization: slices.Contains(purposes, 5) && slices.Contains(purposes, 6),
				consent.ModelTraining:   slices.Contains(purposes, 10),
			}
			if got := choicesOf(t, choices); !reflect.DeepEqual(got, want) {
				t.Errorf("choices = %v, want %v (purposes %v)", got, want, purposes)
			}
			if notice != tc.notice {
				t.Errorf("notice = %q, want %q", notice, tc.notice)
			}
		})
	}
	// The big real string consents to purposes 1 to 10: both mapped
	// purposes granted.
	choices, _, _, err := consent.TCFChoices(publishedFull)
	if err != nil {
		t.Fatal(err)
	}
	if got := choicesOf(t, choices); !got[consent.Personalization] || !got[consent.ModelTraining] {
		t.Errorf("the published full string grants %v, want both mapped purposes", got)
	}
}

func TestTCFChoicesRefuses(t *testing.T) {
	t.Parallel()
	v1 := baseCore()
	v1.Version = 1
	v3 := baseCore()
	v3.Version = 3
	v3.Purposes = []int{5, 6, 10}
	noVendorList := baseCore()
	noVendorList.VendorListVersion = 0
	full := baseCore()
	full.Purposes = []int{5, 6, 10}
	cut := full.encode()
	cut = cut[:len(cut)-6]

	cases := []struct {
		name, tc string
		want     []string // in the error message
		tcf      bool     // an unreadable string (ErrTCF)
	}{
		{"empty", "", []string{"tc_string", "required"}, false},
		{"white space", " \t\n", []string{"tc_string", "required"}, false},
		{"too long", "C" + strings.Repeat("A", consent.MaxTCStringLen), []string{"tc_string", fmt.Sprint(consent.MaxTCStringLen)}, false},
		{"published TCF v1.1 string", publishedV1, []string{"tc_string", "version 1", "only 2"}, false},
		// The example of the IAB's "Consent string and vendor list formats
		// v1.1 Final", section "Vendor Consent String Format".
		{"IAB v1.1 spec example", "BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA", []string{"tc_string", "version 1", "only 2"}, false},
		{"encoded as version 1", v1.encode(), []string{"tc_string", "version 1", "only 2"}, false},
		{"encoded as version 3", v3.encode(), []string{"tc_string", "version 3", "only 2"}, false},
		{"truncated (go-gdpr's crafted string)", craftedTruncated, []string{"tc_string"}, true},
		{"truncated vendor section", cut, []string{"tc_string"}, true},
		{"vendor list version 0", noVendorList.encode(), []string{"tc_string"}, true},
		{"not base64", "C*not*a*tc*string*", []string{"tc_string"}, true},
		{"padded base64", full.encode() + "==", []string{"tc_string"}, true},
		{"garbage", "Cgarbage", []string{"tc_string"}, true},
		{"garbage segments", "C.A.B.C", []string{"tc_string"}, true},
		{"one character", "C", []string{"tc_string"}, true},
		{"JSON", `{"tcString":"x"}`, []string{"tc_string"}, true},
		{"zero bytes", "C" + strings.Repeat("\x00", 40), []string{"tc_string"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			choices, granted, notice, err := consent.TCFChoices(tc.tc)
			if err == nil {
				t.Fatalf("TCFChoices accepted it: %v %v %q", choices, granted, notice)
			}
			if choices != nil || granted != nil || notice != "" {
				t.Errorf("refusal carries results: %v %v %q", choices, granted, notice)
			}
			if !errors.Is(err, consent.ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			if tc.tcf && !errors.Is(err, consent.ErrTCF) {
				t.Errorf("error %v is not ErrTCF", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestTCFChoicesAccepts(t *testing.T) {
	t.Parallel()
	c := baseCore()
	c.Purposes = []int{1, 5, 6}
	tc := c.encode()
	for _, variant := range []struct{ name, tc string }{
		{"as is", tc},
		{"surrounding white space", "  " + tc + "\n"},
		{"with further segments", tc + "." + publishedFull[strings.IndexByte(publishedFull, '.')+1:]},
		{"at the size limit", tc + "." + strings.Repeat("A", consent.MaxTCStringLen-len(tc)-1)},
	} {
		choices, granted, notice, err := consent.TCFChoices(variant.tc)
		if err != nil {
			t.Errorf("%s: %v", variant.name, err)
			continue
		}
		if got := choicesOf(t, choices); !got[consent.Personalization] || got[consent.ModelTraining] {
			t.Errorf("%s: choices %v", variant.name, got)
		}
		if !slices.Equal(granted, []int{1, 5, 6}) || notice != "tcf-policy-4:cmp-300-v2:screen-1" {
			t.Errorf("%s: granted %v notice %q", variant.name, granted, notice)
		}
	}
	// The notice of the largest fields still fits the ledger.
	c.CmpID, c.CmpVersion, c.ConsentScreen, c.PolicyVersion = 4095, 4095, 63, 63
	choices, _, notice, err := consent.TCFChoices(c.encode())
	if err != nil {
		t.Fatal(err)
	}
	if want := "tcf-policy-63:cmp-4095-v4095:screen-63"; notice != want {
		t.Errorf("notice = %q, want %q", notice, want)
	}
	change := consent.Change{Choices: choices, NoticeVersion: notice, Method: consent.MethodImport, ActorRole: "storefront", At: time.Now()}
	if err := change.Validate(); err != nil {
		t.Errorf("the change of a TC string does not validate: %v", err)
	}
}

func TestGPCPurposes(t *testing.T) {
	t.Parallel()
	// GPC opts out of sale and sharing: what carries the customer's data
	// beyond the service they use. Personalising the shop they are in and
	// support stay as they chose.
	want := []consent.Purpose{consent.MarketingEmail, consent.ModelTraining}
	if got := consent.GPCPurposes.Purposes(); !slices.Equal(got, want) {
		t.Errorf("GPCPurposes = %v, want %v", got, want)
	}
	if consent.GPCPurposes.Has(consent.Personalization) || consent.GPCPurposes.Has(consent.Support) {
		t.Error("GPC opts out of the customer's own shop or support")
	}
}

// FuzzTCFChoices feeds TCFChoices arbitrary strings: it must never panic,
// must answer the same twice, must refuse with ErrInvalid, and what it
// accepts must name only the mapped purposes, as the table says, under a
// notice the ledger accepts.
func FuzzTCFChoices(f *testing.F) {
	c := baseCore()
	f.Add(c.encode())
	c.Purposes, c.PurposesLI = []int{1, 5, 6, 10}, []int{2, 7}
	f.Add(c.encode())
	c.Vendors, c.VendorsLI = nil, nil
	f.Add(c.encode())
	c.Version = 1
	f.Add(c.encode())
	for _, s := range []string{publishedFull, publishedRange, publishedEmpty, publishedV22, publishedV1, craftedTruncated,
		"BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA", "", "C", "C.", "COvcSpYOvcSpYC9AAAENAPCAAAAAAAAAAAAAAFQBgAAgABAACAAEAAQAAgAA"} {
		f.Add(s)
	}
	mapped := consent.TCFMappedPurposes()
	f.Fuzz(func(t *testing.T, tc string) {
		choices, granted, notice, err := consent.TCFChoices(tc)
		choices2, granted2, notice2, err2 := consent.TCFChoices(tc)
		if !reflect.DeepEqual(choices, choices2) || !slices.Equal(granted, granted2) || notice != notice2 || fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Fatalf("two answers: %v %v %q %v, then %v %v %q %v", choices, granted, notice, err, choices2, granted2, notice2, err2)
		}
		if err != nil {
			if !errors.Is(err, consent.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			if choices != nil || granted != nil || notice != "" {
				t.Fatalf("refusal carries results")
			}
			return
		}
		if len(choices) != len(mapped) {
			t.Fatalf("%d choices, want one per mapped purpose", len(choices))
		}
		for i, ch := range choices {
			if ch.Purpose != mapped[i] || ch.Sensitive || ch.DeleteData {
				t.Fatalf("choice %d = %+v, mapped purposes are %v", i, ch, mapped)
			}
			all := true
			for _, id := range ch.Purpose.Info().TCFPurposes {
				all = all && slices.Contains(granted, id)
			}
			if ch.Granted != all {
				t.Fatalf("choice %+v, TCF purposes granted %v", ch, granted)
			}
		}
		for i, id := range granted {
			if id < 1 || id > 24 || (i > 0 && granted[i-1] >= id) {
				t.Fatalf("TCF purposes granted %v", granted)
			}
		}
		if !utf8.ValidString(notice) || len(notice) == 0 || len(notice) > consent.MaxNoticeVersionLen {
			t.Fatalf("notice %q", notice)
		}
		change := consent.Change{Choices: choices, NoticeVersion: notice, Method: consent.MethodImport, ActorRole: "storefront", At: time.Unix(1, 0)}
		if err := change.Validate(); err != nil {
			t.Fatalf("accepted string gives an invalid change: %v", err)
		}
		if v, _ := readVersion(tc); v != 2 {
			t.Fatalf("accepted a string of version %d", v)
		}
	})
}

// readVersion reads the version field: the first base64url character.
func readVersion(tc string) (int, bool) {
	tc = strings.TrimSpace(tc)
	if tc == "" {
		return 0, false
	}
	i := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", tc[0])
	return i, i >= 0
}
