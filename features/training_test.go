package features_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// TestScanUsable stores customers in every situation a training scan must
// handle. Item ids name their customer ("<customer>/<n>"), so the test can
// tell whose signals fn received without fn learning who anyone is.
func TestScanUsable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	// Another namespace on the same Redis, which the scan must not visit.
	neighbour := newFixture(t)
	if neighbour.r.URL == f.r.URL {
		np := neighbour.customer("neighbour")
		neighbour.apply(t, np, t0.Add(-day), grant(consent.ModelTraining))
		neighbour.track(t, np, t0, view("neighbour/0", t0.Add(-time.Hour), consent.ModelTraining))
	}

	at := t0.Add(-time.Hour)
	sig := func(customer string, n int, typ string, ps ...consent.Purpose) features.SignalInput {
		in := features.SignalInput{Type: typ, ItemID: fmt.Sprintf("%s/%d", customer, n), OccurredAt: at.Add(time.Duration(n) * time.Minute), Purposes: purposes(ps...)}
		if typ == "rating" {
			in.Value = 4
		}
		return in
	}
	type customer struct {
		grants  []consent.Choice
		signals []features.SignalInput
		revokes []consent.Choice
		usable  []string // item ids fn must receive, in order
	}
	mt, pers := consent.ModelTraining, consent.Personalization
	customers := map[string]customer{
		"trains": {
			grants: []consent.Choice{grant(mt), grant(pers)},
			signals: []features.SignalInput{
				sig("trains", 2, "purchase", mt),
				sig("trains", 0, "view", mt, pers),
				sig("trains", 1, "view", pers),       // not collected for training
				sig("trains", 3, "search", mt, pers), // search is not allowed for training
				sig("trains", 4, "rating", mt),
			},
			usable: []string{"trains/0", "trains/2", "trains/4"},
		},
		"also-trains": {
			grants:  []consent.Choice{grant(mt)},
			signals: []features.SignalInput{sig("also-trains", 0, "add_to_cart", mt)},
			usable:  []string{"also-trains/0"},
		},
		"never-consented": {
			grants:  []consent.Choice{grant(pers)},
			signals: []features.SignalInput{sig("never-consented", 0, "view", pers, mt)},
		},
		"withdrew": {
			grants:  []consent.Choice{grant(mt)},
			signals: []features.SignalInput{sig("withdrew", 0, "view", mt), sig("withdrew", 1, "purchase", mt)},
			revokes: []consent.Choice{revoke(mt)},
		},
		"nothing-usable": {
			grants:  []consent.Choice{grant(mt), grant(pers)},
			signals: []features.SignalInput{sig("nothing-usable", 0, "search", mt), sig("nothing-usable", 1, "view", pers)},
		},
		"sensitive": {
			grants:  []consent.Choice{grant(mt)},
			signals: []features.SignalInput{sig("sensitive", 0, "view", mt), {Type: "view", ItemID: "pills", OccurredAt: at, Purposes: purposes(mt)}},
			usable:  []string{"sensitive/0"},
		},
	}
	if err := f.catalog.Upsert(ctx, []features.Item{{ID: "pills", Title: "Pills", Sensitive: true}}, at); err != nil {
		t.Fatal(err)
	}
	pseudonymOf := map[features.Pseudonym]string{}
	for name, c := range customers {
		p := f.customer(name)
		pseudonymOf[p] = name
		f.apply(t, p, t0.Add(-day), c.grants...)
		for i, r := range f.track(t, p, t0, c.signals...) {
			if !r.Stored {
				t.Fatalf("%s: signal %d not stored: %+v", name, i, r)
			}
		}
		if len(c.revokes) > 0 {
			f.apply(t, p, t0.Add(-time.Minute), c.revokes...)
		}
	}

	// Expected: customers with usable signals, in pseudonym order.
	var pseudonyms []features.Pseudonym
	for p := range pseudonymOf {
		pseudonyms = append(pseudonyms, p)
	}
	sort.Slice(pseudonyms, func(i, j int) bool { return pseudonyms[i] < pseudonyms[j] })
	var want [][]string
	for _, p := range pseudonyms {
		if u := customers[pseudonymOf[p]].usable; len(u) > 0 {
			want = append(want, u)
		}
	}

	scan := func(s *features.Store, now time.Time) [][]string {
		t.Helper()
		var got [][]string
		err := s.ScanUsable(ctx, consent.ModelTraining, now, func(signals []features.Signal) error {
			var items []string
			for _, sg := range signals {
				if !sg.Purposes.Has(consent.ModelTraining) {
					t.Errorf("fn received %s, not collected for model training", sg.ItemID)
				}
				items = append(items, sg.ItemID)
			}
			got = append(got, items)
			return nil
		})
		if err != nil {
			t.Fatalf("ScanUsable: %v", err)
		}
		return got
	}
	got := scan(f.store, t0)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ScanUsable visited\n %v\nwant\n %v", got, want)
	}
	// Another server visits in the same order.
	if again := scan(f.otherServer(t).store, t0); fmt.Sprint(again) != fmt.Sprint(got) {
		t.Errorf("a second scan visited\n %v\nthe first\n %v", again, got)
	}
	// Later, the views (90 days) have expired; purchases (730 days) and ratings (365 days) have not.
	later := scan(f.store, at.Add(91*day))
	var laterItems []string
	for _, items := range later {
		laterItems = append(laterItems, items...)
	}
	if !slices.Equal(laterItems, []string{"trains/2", "trains/4"}) {
		t.Errorf("after 91 days ScanUsable visited %v, want [[trains/2 trains/4]]", later)
	}

	// An error from fn stops the scan and is returned.
	stop := errors.New("stop")
	calls := 0
	err := f.store.ScanUsable(ctx, consent.ModelTraining, t0, func([]features.Signal) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ScanUsable with a failing fn = %v after %d calls, want stop after 1", err, calls)
	}
	// A policy change is obeyed by the next scan.
	allowed := consent.DefaultPolicy().Allowed
	allowed[consent.ModelTraining] = consent.NewSignalTypeSet(consent.Rating)
	if _, err := f.policies.Put(ctx, allowed, 0, "marketer", t0); err != nil {
		t.Fatal(err)
	}
	if got := scan(f.otherServer(t).store, t0); fmt.Sprint(got) != "[[trains/4]]" {
		t.Errorf("after allowing only ratings, ScanUsable visited %v", got)
	}
	for _, items := range got {
		for _, it := range items {
			if strings.HasPrefix(it, "neighbour/") {
				t.Errorf("ScanUsable visited another namespace: %s", it)
			}
		}
	}
}
