package features_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

func TestApplyConsentWritesStateAndLedger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	p := f.customer("customer-1")
	at := t0.Add(-time.Hour)
	res, err := f.store.ApplyConsent(ctx, p, consent.Change{
		Choices:       []consent.Choice{{Purpose: consent.Personalization, Granted: true, Sensitive: true}, revoke(consent.MarketingEmail)},
		NoticeVersion: " notice-v9 ",
		Method:        consent.MethodAPI,
		ActorRole:     "support_agent",
		At:            at,
	})
	if err != nil {
		t.Fatalf("ApplyConsent: %v", err)
	}
	if len(res.Recorded) != 2 || res.SignalsDeleted != 0 || res.SignalsNarrowed != 0 {
		t.Errorf("result = %+v", res)
	}
	// Another server reads the same state.
	other := f.otherServer(t)
	state, err := other.store.Consent(ctx, p)
	if err != nil {
		t.Fatalf("Consent: %v", err)
	}
	if state != res.State {
		t.Errorf("stored state = %+v, want %+v", state, res.State)
	}
	d := state.Decisions[consent.Personalization]
	if d.Status != consent.StatusGiven || !d.SensitiveGranted || !d.UpdatedAt.Equal(at) || d.NoticeVersion != "notice-v9" || d.Method != consent.MethodAPI {
		t.Errorf("personalization decision = %+v", d)
	}
	if st := state.Decisions[consent.MarketingEmail].Status; st != consent.StatusRefused {
		t.Errorf("marketing status = %s, want refused", st)
	}
	if st := state.Decisions[consent.Support].Status; st != consent.StatusUnknown {
		t.Errorf("support status = %s, want unknown", st)
	}
	entries, total, err := other.store.Ledger(ctx, p, 0, 10)
	if err != nil || total != 2 || len(entries) != 2 {
		t.Fatalf("Ledger = %d entries of %d, %v; want 2", len(entries), total, err)
	}
	want := consent.LedgerEntry{RecordedAt: at, Purpose: "personalization", Granted: true, Sensitive: true, NoticeVersion: "notice-v9", Method: "api", ActorRole: "support_agent"}
	if !entries[0].RecordedAt.Equal(want.RecordedAt) {
		t.Errorf("recorded at %s, want %s", entries[0].RecordedAt, want.RecordedAt)
	}
	entries[0].RecordedAt = want.RecordedAt
	if entries[0] != want {
		t.Errorf("ledger entry 0 = %+v, want %+v", entries[0], want)
	}
	if e := entries[1]; e.Purpose != "marketing_email" || e.Granted || e.Sensitive {
		t.Errorf("ledger entry 1 = %+v", e)
	}

	// An invalid change writes nothing.
	before := f.r.Dump(t)
	if _, err := f.store.ApplyConsent(ctx, p, consent.Change{Choices: []consent.Choice{grant(consent.Support)}, Method: consent.MethodUI, At: at}); !errors.Is(err, features.ErrInvalid) {
		t.Fatalf("ApplyConsent without notice version = %v, want ErrInvalid", err)
	}
	after := f.r.Dump(t)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("an invalid change modified %s", k)
		}
	}
	if len(after) != len(before) {
		t.Errorf("an invalid change created keys")
	}
}

func TestLedgerPaging(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	p := f.customer("customer-1")
	// Seven entries, each recognisable by its time.
	for i := range 7 {
		ch := grant(consent.Purpose(i % consent.NumPurposes))
		if i%2 == 1 {
			ch = revoke(ch.Purpose)
		}
		f.apply(t, p, t0.Add(time.Duration(i)*time.Minute), ch)
	}
	tests := []struct {
		offset, limit int64
		want          []int // entry numbers
	}{
		{0, 3, []int{0, 1, 2}},
		{3, 3, []int{3, 4, 5}},
		{6, 3, []int{6}},
		{7, 3, nil},
		{100, 3, nil},
		{0, 100, []int{0, 1, 2, 3, 4, 5, 6}},
		{2, 1, []int{2}},
		{0, 0, nil},
	}
	for _, tt := range tests {
		entries, total, err := f.store.Ledger(ctx, p, tt.offset, tt.limit)
		if err != nil {
			t.Fatalf("Ledger(%d, %d): %v", tt.offset, tt.limit, err)
		}
		if total != 7 {
			t.Errorf("Ledger(%d, %d) total = %d, want 7", tt.offset, tt.limit, total)
		}
		var got []int
		for _, e := range entries {
			got = append(got, int(e.RecordedAt.Sub(t0)/time.Minute))
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Ledger(%d, %d) = entries %v, want %v", tt.offset, tt.limit, got, tt.want)
		}
	}
	if entries, total, err := f.store.Ledger(ctx, f.customer("nobody"), 0, 10); err != nil || total != 0 || len(entries) != 0 {
		t.Errorf("Ledger of an unknown customer = %v, %d, %v", entries, total, err)
	}
}

func TestRevokeWithDeleteData(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.customer("customer-1")
	bystander := f.customer("customer-2")
	all := []consent.Choice{grant(consent.Personalization), grant(consent.Support), grant(consent.ModelTraining)}
	f.apply(t, p, t0.Add(-day), all...)
	f.apply(t, bystander, t0.Add(-day), all...)
	at := t0.Add(-time.Hour)
	res := f.track(t, p, t0,
		view("only-personalization", at, consent.Personalization),
		view("personalization-and-training", at, consent.Personalization, consent.ModelTraining),
		view("only-training", at, consent.ModelTraining),
		features.SignalInput{Type: "purchase", ItemID: "personalization-and-support", OccurredAt: at, Purposes: purposes(consent.Support, consent.Personalization)},
		view("only-personalization-2", at, consent.Personalization),
	)
	f.track(t, bystander, t0, view("bystander", at, consent.Personalization))
	byItem := map[string]string{}
	for i, r := range res {
		if !r.Stored {
			t.Fatalf("signal %d not stored: %+v", i, r)
		}
		byItem[[]string{"only-personalization", "personalization-and-training", "only-training", "personalization-and-support", "only-personalization-2"}[i]] = r.SignalID
	}

	cr := f.apply(t, p, t0, consent.Choice{Purpose: consent.Personalization, DeleteData: true})
	if cr.SignalsDeleted != 2 || cr.SignalsNarrowed != 2 {
		t.Errorf("deleted %d, narrowed %d; want 2 and 2", cr.SignalsDeleted, cr.SignalsNarrowed)
	}
	if cr.State.Decisions[consent.Personalization].Status != consent.StatusWithdrawn || !cr.State.Granted(consent.ModelTraining) {
		t.Errorf("state after revocation = %+v", cr.State)
	}
	if len(cr.Recorded) != 1 || !cr.Recorded[0].DeleteData || cr.Recorded[0].Granted {
		t.Errorf("recorded = %+v, want one delete_data revocation", cr.Recorded)
	}

	stored := f.signals(t, p)
	want := map[string]consent.PurposeSet{
		"personalization-and-training": consent.NewPurposeSet(consent.ModelTraining),
		"only-training":                consent.NewPurposeSet(consent.ModelTraining),
		"personalization-and-support":  consent.NewPurposeSet(consent.Support),
	}
	if len(stored) != len(want) {
		t.Errorf("%d signals left, want %d: %+v", len(stored), len(want), stored)
	}
	for item, ps := range want {
		s, ok := stored[byItem[item]]
		if !ok {
			t.Errorf("%s was deleted", item)
			continue
		}
		if s.Purposes != ps || s.ItemID != item {
			t.Errorf("%s: purposes %v, want %v", item, s.Purposes.Names(), ps.Names())
		}
	}
	for _, item := range []string{"only-personalization", "only-personalization-2"} {
		if _, ok := stored[byItem[item]]; ok {
			t.Errorf("%s is still stored", item)
		}
	}
	if n := len(f.signals(t, bystander)); n != 1 {
		t.Errorf("another customer's revocation deleted their signals: %d left", n)
	}

	// A revocation without DeleteData keeps the data.
	cr = f.apply(t, p, t0, revoke(consent.ModelTraining))
	if cr.SignalsDeleted != 0 || cr.SignalsNarrowed != 0 || len(f.signals(t, p)) != 3 {
		t.Errorf("a revocation without delete_data changed signals: %+v", cr)
	}
}
