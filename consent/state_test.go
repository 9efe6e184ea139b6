package consent_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/internal/fault"
)

var changeTime = time.Date(2026, time.March, 2, 9, 30, 0, 0, time.UTC)

// change returns a valid change holding the given choices.
func change(choices ...consent.Choice) consent.Change {
	return consent.Change{
		Choices:       choices,
		NoticeVersion: "notice-2026-03",
		Method:        consent.MethodUI,
		ActorRole:     "customer",
		At:            changeTime,
	}
}

func grant(p consent.Purpose) consent.Choice  { return consent.Choice{Purpose: p, Granted: true} }
func revoke(p consent.Purpose) consent.Choice { return consent.Choice{Purpose: p} }

// stateWith returns a state where p has status st.
func stateWith(p consent.Purpose, st consent.Status, sensitive bool) consent.State {
	var s consent.State
	s.Decisions[p] = consent.Decision{Status: st, SensitiveGranted: sensitive, NoticeVersion: "old", Method: consent.MethodAPI, UpdatedAt: changeTime.Add(-time.Hour)}
	return s
}

func TestApplyStatusTransitions(t *testing.T) {
	t.Parallel()
	p := consent.Personalization
	tests := []struct {
		name          string
		from          consent.Status
		fromSensitive bool
		choice        consent.Choice
		want          consent.Status
		wantSensitive bool
	}{
		{"unknown to given", consent.StatusUnknown, false, grant(p), consent.StatusGiven, false},
		{"unknown to given with sensitive", consent.StatusUnknown, false, consent.Choice{Purpose: p, Granted: true, Sensitive: true}, consent.StatusGiven, true},
		{"given to withdrawn", consent.StatusGiven, false, revoke(p), consent.StatusWithdrawn, false},
		{"given with sensitive to withdrawn drops sensitive", consent.StatusGiven, true, revoke(p), consent.StatusWithdrawn, false},
		{"unknown to refused", consent.StatusUnknown, false, revoke(p), consent.StatusRefused, false},
		{"refused stays refused", consent.StatusRefused, false, revoke(p), consent.StatusRefused, false},
		{"refused to given", consent.StatusRefused, false, grant(p), consent.StatusGiven, false},
		{"withdrawn stays withdrawn on another revoke", consent.StatusWithdrawn, false, revoke(p), consent.StatusWithdrawn, false},
		{"withdrawn to given", consent.StatusWithdrawn, false, grant(p), consent.StatusGiven, false},
		{"given to given without sensitive drops sensitive", consent.StatusGiven, true, grant(p), consent.StatusGiven, false},
		// Apply does not validate: a revocation that (invalidly) asks for
		// sensitive must still not record sensitive consent.
		{"sensitive on revoke is not recorded", consent.StatusUnknown, false, consent.Choice{Purpose: p, Sensitive: true}, consent.StatusRefused, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := stateWith(p, tt.from, tt.fromSensitive)
			before.Decisions[consent.Support] = consent.Decision{Status: consent.StatusGiven, NoticeVersion: "other"}
			c := change(tt.choice)
			after, entries := consent.Apply(before, c)

			d := after.Decisions[p]
			if d.Status != tt.want {
				t.Errorf("status = %s, want %s", d.Status, tt.want)
			}
			if d.SensitiveGranted != tt.wantSensitive {
				t.Errorf("SensitiveGranted = %v, want %v", d.SensitiveGranted, tt.wantSensitive)
			}
			if after.SensitiveGranted(p) != (tt.want == consent.StatusGiven && tt.wantSensitive) {
				t.Errorf("State.SensitiveGranted = %v", after.SensitiveGranted(p))
			}
			if after.Granted(p) != (tt.want == consent.StatusGiven) {
				t.Errorf("Granted = %v with status %s", after.Granted(p), d.Status)
			}
			if !d.UpdatedAt.Equal(c.At) || d.NoticeVersion != "notice-2026-03" || d.Method != consent.MethodUI {
				t.Errorf("decision = %+v, want updated at %s under notice-2026-03 via ui", d, c.At)
			}
			if after.Decisions[consent.Support] != before.Decisions[consent.Support] {
				t.Errorf("a purpose outside the change moved: %+v", after.Decisions[consent.Support])
			}
			if before.Decisions[p].Status != tt.from {
				t.Errorf("Apply modified its input state")
			}
			if len(entries) != 1 {
				t.Fatalf("got %d ledger entries, want 1", len(entries))
			}
			if e := entries[0]; e.Sensitive != tt.wantSensitive || e.Granted != tt.choice.Granted {
				t.Errorf("ledger entry = %+v, want granted=%v sensitive=%v", e, tt.choice.Granted, tt.wantSensitive)
			}
		})
	}
}

func TestApplyLedgerEntries(t *testing.T) {
	t.Parallel()
	c := consent.Change{
		Choices: []consent.Choice{
			{Purpose: consent.ModelTraining, Granted: false, DeleteData: true},
			{Purpose: consent.Personalization, Granted: true, Sensitive: true},
			{Purpose: consent.MarketingEmail, Granted: false},
		},
		NoticeVersion: "  v7 (2026)\t",
		Method:        consent.MethodGPC,
		ActorRole:     "privacy_officer",
		At:            changeTime,
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	state, entries := consent.Apply(stateWith(consent.ModelTraining, consent.StatusGiven, false), c)
	want := []consent.LedgerEntry{
		{RecordedAt: changeTime, Purpose: "model_training", Granted: false, NoticeVersion: "v7 (2026)", Method: "gpc", ActorRole: "privacy_officer", DeleteData: true},
		{RecordedAt: changeTime, Purpose: "personalization", Granted: true, Sensitive: true, NoticeVersion: "v7 (2026)", Method: "gpc", ActorRole: "privacy_officer"},
		{RecordedAt: changeTime, Purpose: "marketing_email", Granted: false, NoticeVersion: "v7 (2026)", Method: "gpc", ActorRole: "privacy_officer"},
	}
	if len(entries) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(entries), len(want), entries)
	}
	for i := range want {
		if entries[i] != want[i] {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, entries[i], want[i])
		}
	}
	if got := state.Decisions[consent.ModelTraining].NoticeVersion; got != "v7 (2026)" {
		t.Errorf("decision notice version = %q, want it trimmed", got)
	}
	wantStatus := map[consent.Purpose]consent.Status{
		consent.ModelTraining:   consent.StatusWithdrawn,
		consent.Personalization: consent.StatusGiven,
		consent.MarketingEmail:  consent.StatusRefused,
		consent.Support:         consent.StatusUnknown,
	}
	for p, st := range wantStatus {
		if got := state.Decisions[p].Status; got != st {
			t.Errorf("%s: status %s, want %s", p, got, st)
		}
	}
	if got, want := state.GrantedSet(), consent.NewPurposeSet(consent.Personalization); got != want {
		t.Errorf("GrantedSet = %v, want %v", got.Names(), want.Names())
	}
}

func TestZeroStateGrantsNothing(t *testing.T) {
	t.Parallel()
	var s consent.State
	for _, p := range consent.Purposes() {
		if s.Granted(p) || s.SensitiveGranted(p) {
			t.Errorf("zero state grants %s", p)
		}
	}
	if !s.GrantedSet().Empty() {
		t.Errorf("zero state GrantedSet = %v", s.GrantedSet().Names())
	}
	// Sensitive without status given means nothing.
	s.Decisions[consent.Support] = consent.Decision{Status: consent.StatusWithdrawn, SensitiveGranted: true}
	if s.SensitiveGranted(consent.Support) {
		t.Error("SensitiveGranted is true for a withdrawn purpose")
	}
}

func TestChangeValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(c *consent.Change)
		field  string // "" means valid
	}{
		{"valid", func(c *consent.Change) {}, ""},
		{"valid with every purpose", func(c *consent.Change) {
			c.Choices = []consent.Choice{grant(consent.Personalization), grant(consent.Support), revoke(consent.MarketingEmail), {Purpose: consent.ModelTraining, DeleteData: true}}
		}, ""},
		{"notice version of exactly max length", func(c *consent.Change) { c.NoticeVersion = strings.Repeat("v", consent.MaxNoticeVersionLen) }, ""},
		{"notice version within max after trimming", func(c *consent.Change) {
			c.NoticeVersion = "  " + strings.Repeat("v", consent.MaxNoticeVersionLen) + " "
		}, ""},
		{"no choices", func(c *consent.Change) { c.Choices = nil }, "choices"},
		{"more choices than purposes", func(c *consent.Change) {
			c.Choices = []consent.Choice{grant(0), grant(1), grant(2), grant(3), grant(0)}
		}, "choices"},
		{"unknown purpose", func(c *consent.Change) { c.Choices = []consent.Choice{grant(consent.Purpose(consent.NumPurposes))} }, "choices[0].purpose"},
		{"duplicate purpose", func(c *consent.Change) {
			c.Choices = []consent.Choice{grant(consent.Support), revoke(consent.Support)}
		}, "choices[1].purpose"},
		{"delete_data when granting", func(c *consent.Change) {
			c.Choices = []consent.Choice{grant(consent.Support), {Purpose: consent.ModelTraining, Granted: true, DeleteData: true}}
		}, "choices[1].delete_data"},
		{"sensitive when revoking", func(c *consent.Change) {
			c.Choices = []consent.Choice{{Purpose: consent.Personalization, Sensitive: true}}
		}, "choices[0].sensitive"},
		{"missing notice version", func(c *consent.Change) { c.NoticeVersion = "" }, "notice_version"},
		{"blank notice version", func(c *consent.Change) { c.NoticeVersion = " \t " }, "notice_version"},
		{"oversized notice version", func(c *consent.Change) { c.NoticeVersion = strings.Repeat("v", consent.MaxNoticeVersionLen+1) }, "notice_version"},
		{"newline in notice version", func(c *consent.Change) { c.NoticeVersion = "v1\nv2" }, "notice_version"},
		{"NUL in notice version", func(c *consent.Change) { c.NoticeVersion = "v1\x00" + "x" }, "notice_version"},
		{"DEL in notice version", func(c *consent.Change) { c.NoticeVersion = "v1\x7f" + "x" }, "notice_version"},
		{"invalid UTF-8 notice version", func(c *consent.Change) { c.NoticeVersion = "v1\xff" }, "notice_version"},
		{"missing method", func(c *consent.Change) { c.Method = consent.MethodUnspecified }, "method"},
		{"unknown method", func(c *consent.Change) { c.Method = consent.Method(200) }, "method"},
		{"zero time", func(c *consent.Change) { c.At = time.Time{} }, "at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := change(grant(consent.Personalization))
			tt.modify(&c)
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error about %s", tt.field)
			}
			if !errors.Is(err, consent.ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			if !strings.HasPrefix(fault.MessageOf(err), tt.field+": ") { // the caller reads the field first
				t.Errorf("error %q does not name the field %q", err, tt.field)
			}
		})
	}
}

func TestParseMethod(t *testing.T) {
	t.Parallel()
	for _, m := range []consent.Method{consent.MethodUI, consent.MethodAPI, consent.MethodGPC, consent.MethodImport} {
		got, err := consent.ParseMethod("method", m.String())
		if err != nil || got != m {
			t.Errorf("ParseMethod(%q) = %v, %v; want %v", m.String(), got, err, m)
		}
	}
	for _, bad := range []string{"", "UI", "email", "unspecified", "unknown"} {
		_, err := consent.ParseMethod("change.method", bad)
		if !errors.Is(err, consent.ErrInvalid) {
			t.Errorf("ParseMethod(%q) error = %v, want ErrInvalid", bad, err)
			continue
		}
		for _, want := range []string{"change.method", "ui", "api", "gpc", "import"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ParseMethod(%q) error %q does not mention %q", bad, err, want)
			}
		}
	}
	if got := consent.Method(99).String(); got != "unknown" {
		t.Errorf("Method(99).String() = %q", got)
	}
}

func TestStatusString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s     consent.Status
		want  string
		valid bool
	}{
		{consent.StatusUnknown, "unknown", true},
		{consent.StatusGiven, "given", true},
		{consent.StatusRefused, "refused", true},
		{consent.StatusWithdrawn, "withdrawn", true},
		{consent.Status(4), "unknown", false},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("Status(%d).String() = %q, want %q", tt.s, got, tt.want)
		}
		if got := tt.s.Valid(); got != tt.valid {
			t.Errorf("Status(%d).Valid() = %v, want %v", tt.s, got, tt.valid)
		}
	}
}
