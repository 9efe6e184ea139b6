package consent_test

import (
	"encoding/base64"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prebid/go-gdpr/consentconstants"
	tcf2 "github.com/prebid/go-gdpr/vendorconsent/tcf2"
)

// go-gdpr v1.12.1 only parses TC strings, so the tests carry a small
// encoder of the TCF v2.2 core segment, written from the IAB's "Consent
// string and vendor list formats v2" bit layout and cross-checked below
// against the library's parser and against published strings.

// tcfCore is the core segment of a TC string (vendor sections as bit
// fields, no publisher restrictions).
type tcfCore struct {
	Version             int
	Created, Updated    time.Time
	CmpID, CmpVersion   int
	ConsentScreen       int
	Language            string // two letters A-Z
	VendorListVersion   int
	PolicyVersion       int
	ServiceSpecific     bool
	NonStandardTexts    bool
	SpecialFeatures     []int // 1 to 12
	Purposes            []int // consented, 1 to 24
	PurposesLI          []int // legitimate interest transparency, 1 to 24
	PurposeOneTreatment bool
	PublisherCC         string // two letters A-Z
	Vendors, VendorsLI  []int
	// MaxVendor and MaxVendorLI default to the largest vendor listed.
	MaxVendor, MaxVendorLI int
}

// baseCore is a plausible TCF v2.2 consent (policy version 4, as CMPs write
// since TCF v2.2) that grants nothing.
func baseCore() tcfCore {
	at := time.Date(2025, 3, 14, 9, 26, 53, 500_000_000, time.UTC)
	return tcfCore{
		Version: 2, Created: at, Updated: at, CmpID: 300, CmpVersion: 2, ConsentScreen: 1,
		Language: "EN", VendorListVersion: 91, PolicyVersion: 4, ServiceSpecific: true,
		PublisherCC: "DE", Vendors: []int{2, 755}, VendorsLI: []int{755},
	}
}

type bitWriter struct {
	b []byte
	n int // bits written
}

func (w *bitWriter) bit(v bool) {
	if w.n%8 == 0 {
		w.b = append(w.b, 0)
	}
	if v {
		w.b[w.n/8] |= 0x80 >> (w.n % 8)
	}
	w.n++
}

func (w *bitWriter) uint(v uint64, bits int) {
	for i := bits - 1; i >= 0; i-- {
		w.bit(v>>i&1 == 1)
	}
}

func (w *bitWriter) letters(s string) {
	for i := 0; i < 2; i++ {
		w.uint(uint64(s[i]-'A'), 6)
	}
}

func (w *bitWriter) set(ids []int, size int) {
	for id := 1; id <= size; id++ {
		w.bit(slices.Contains(ids, id))
	}
}

// vendors writes a vendor section as a bit field.
func (w *bitWriter) vendors(ids []int, maxID int) {
	if maxID == 0 && len(ids) > 0 {
		maxID = slices.Max(ids)
	}
	w.uint(uint64(maxID), 16)
	w.bit(false) // IsRangeEncoding
	w.set(ids, maxID)
}

// encode returns the core segment as a CMP stores it: base64url without
// padding.
func (c tcfCore) encode() string {
	var w bitWriter
	w.uint(uint64(c.Version), 6)
	w.uint(uint64(c.Created.UnixMilli()/100), 36) // deciseconds
	w.uint(uint64(c.Updated.UnixMilli()/100), 36)
	w.uint(uint64(c.CmpID), 12)
	w.uint(uint64(c.CmpVersion), 12)
	w.uint(uint64(c.ConsentScreen), 6)
	w.letters(c.Language)
	w.uint(uint64(c.VendorListVersion), 12)
	w.uint(uint64(c.PolicyVersion), 6)
	w.bit(c.ServiceSpecific)
	w.bit(c.NonStandardTexts)
	w.set(c.SpecialFeatures, 12)
	w.set(c.Purposes, 24)
	w.set(c.PurposesLI, 24)
	w.bit(c.PurposeOneTreatment)
	w.letters(c.PublisherCC)
	w.vendors(c.Vendors, c.MaxVendor)
	w.vendors(c.VendorsLI, c.MaxVendorLI)
	w.uint(0, 12) // NumPubRestrictions
	return base64.RawURLEncoding.EncodeToString(w.b)
}

// readPurposes decodes the consented purposes of a TC string's core
// segment on its own, without the library: the bits 152 to 175.
func readPurposes(t testing.TB, tc string) (version int, purposes []int) {
	t.Helper()
	core, _, _ := strings.Cut(tc, ".")
	b, err := base64.RawURLEncoding.DecodeString(core)
	if err != nil {
		t.Fatalf("decode %q: %v", tc, err)
	}
	bit := func(i int) bool { return b[i/8]&(0x80>>(i%8)) != 0 }
	for id := 1; id <= 24; id++ {
		if bit(151 + id) {
			purposes = append(purposes, id)
		}
	}
	return int(b[0] >> 2), purposes
}

// libraryParse parses a TC string with go-gdpr, with every accessor.
func libraryParse(t testing.TB, tc string) tcf2.ConsentMetadata {
	t.Helper()
	parsed, err := tcf2.ParseString(tc)
	if err != nil {
		t.Fatalf("library cannot parse %q: %v", tc, err)
	}
	m, ok := parsed.(tcf2.ConsentMetadata)
	if !ok {
		t.Fatalf("library answered a %T", parsed)
	}
	return m
}

// TestTCFEncoderMatchesLibrary cross-checks the test encoder: the library
// reads back every field it writes.
func TestTCFEncoderMatchesLibrary(t *testing.T) {
	t.Parallel()
	c := baseCore()
	c.Updated = c.Created.Add(36*time.Hour + 700*time.Millisecond)
	c.CmpID, c.CmpVersion, c.ConsentScreen = 4095, 4094, 63
	c.Language, c.PublisherCC = "FR", "ZZ"
	c.VendorListVersion, c.PolicyVersion = 4095, 63
	c.SpecialFeatures = []int{1, 12}
	c.Purposes = []int{1, 3, 5, 6, 10, 24}
	c.PurposesLI = []int{2, 7, 11}
	c.PurposeOneTreatment = true
	c.Vendors, c.VendorsLI = []int{1, 8, 9, 300, 1000}, []int{5, 17}
	parsed := libraryParse(t, c.encode())
	checks := []struct {
		field     string
		got, want any
	}{
		{"Version", int(parsed.Version()), 2},
		{"Created", parsed.Created().UTC(), c.Created},
		{"LastUpdated", parsed.LastUpdated().UTC(), c.Updated},
		{"CmpID", int(parsed.CmpID()), c.CmpID},
		{"CmpVersion", int(parsed.CmpVersion()), c.CmpVersion},
		{"ConsentScreen", int(parsed.ConsentScreen()), c.ConsentScreen},
		{"ConsentLanguage", parsed.ConsentLanguage(), c.Language},
		{"VendorListVersion", int(parsed.VendorListVersion()), c.VendorListVersion},
		{"TCFPolicyVersion", int(parsed.TCFPolicyVersion()), c.PolicyVersion},
		{"PurposeOneTreatment", parsed.PurposeOneTreatment(), true},
		{"MaxVendorID", int(parsed.MaxVendorID()), 1000},
		{"VendorLegitInterestMaxID", int(parsed.VendorLegitInterestMaxID()), 17},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.field, ch.got, ch.want)
		}
	}
	for id := 1; id <= 24; id++ {
		if got, want := parsed.PurposeAllowed(consentconstants.Purpose(id)), slices.Contains(c.Purposes, id); got != want {
			t.Errorf("PurposeAllowed(%d) = %v, want %v", id, got, want)
		}
		if got, want := parsed.PurposeLITransparency(consentconstants.Purpose(id)), slices.Contains(c.PurposesLI, id); got != want {
			t.Errorf("PurposeLITransparency(%d) = %v, want %v", id, got, want)
		}
	}
	for id := uint16(1); id <= 12; id++ {
		if got, want := parsed.SpecialFeatureOptIn(id), slices.Contains(c.SpecialFeatures, int(id)); got != want {
			t.Errorf("SpecialFeatureOptIn(%d) = %v, want %v", id, got, want)
		}
	}
	for id := uint16(1); id <= 1000; id++ {
		if got, want := parsed.VendorConsent(id), slices.Contains(c.Vendors, int(id)); got != want {
			t.Errorf("VendorConsent(%d) = %v, want %v", id, got, want)
		}
		if got, want := parsed.VendorLegitInterest(id), slices.Contains(c.VendorsLI, int(id)); got != want {
			t.Errorf("VendorLegitInterest(%d) = %v, want %v", id, got, want)
		}
	}
}

// TestTCFEncoderMatchesPublishedString re-encodes the fields of a
// published string and gets the same bytes: the layout is the spec's.
func TestTCFEncoderMatchesPublishedString(t *testing.T) {
	t.Parallel()
	// Published in github.com/prebid/go-gdpr v1.12.1,
	// vendorconsent/consent20_test.go (TestParseValidString20MaxVendorID0):
	// a CMP's real string with an empty vendor consent section.
	const published = "COwJz-rOwJz-rMLAEAFRAPCgAAAAAAAAAAqIAAAAAAAA"
	parsed := libraryParse(t, published)
	c := tcfCore{
		Version: int(parsed.Version()), Created: parsed.Created().UTC(), Updated: parsed.LastUpdated().UTC(),
		CmpID: int(parsed.CmpID()), CmpVersion: int(parsed.CmpVersion()), ConsentScreen: int(parsed.ConsentScreen()),
		Language: parsed.ConsentLanguage(), VendorListVersion: int(parsed.VendorListVersion()),
		PolicyVersion: int(parsed.TCFPolicyVersion()), PurposeOneTreatment: parsed.PurposeOneTreatment(),
	}
	for id := 1; id <= 24; id++ {
		if parsed.PurposeAllowed(consentconstants.Purpose(id)) {
			c.Purposes = append(c.Purposes, id)
		}
		if parsed.PurposeLITransparency(consentconstants.Purpose(id)) {
			c.PurposesLI = append(c.PurposesLI, id)
		}
	}
	for id := 1; id <= 12; id++ {
		if parsed.SpecialFeatureOptIn(uint16(id)) {
			c.SpecialFeatures = append(c.SpecialFeatures, id)
		}
	}
	raw, _ := base64.RawURLEncoding.DecodeString(published)
	// IsServiceSpecific, UseNonStandardTexts and PublisherCC have no
	// accessor in the library: read them from their bits.
	bit := func(i int) bool { return raw[i/8]&(0x80>>(i%8)) != 0 }
	c.ServiceSpecific, c.NonStandardTexts = bit(138), bit(139)
	cc := 0
	for i := 201; i < 213; i++ {
		cc <<= 1
		if bit(i) {
			cc |= 1
		}
	}
	c.PublisherCC = string([]byte{byte('A' + cc>>6), byte('A' + cc&63)})

	got, _ := base64.RawURLEncoding.DecodeString(c.encode())
	// The published string pads its last byte with zero bits beyond
	// NumPubRestrictions; compare what both encode.
	if len(got) > len(raw) || !slices.Equal(got, raw[:len(got)]) || slices.ContainsFunc(raw[len(got):], func(b byte) bool { return b != 0 }) {
		t.Errorf("re-encoded %q as %q", published, c.encode())
	}
}
