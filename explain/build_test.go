package explain_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/keyspace"
	"github.com/candorhq/candor/internal/redistest"
)

// population is an engine.TrainingSource over customers held in memory.
type population [][]features.Signal

func (p population) ScanUsable(ctx context.Context, _ consent.Purpose, _ time.Time, fn func([]features.Signal) error) error {
	for _, c := range p {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// shopModel is trained on groups of customers with overlapping baskets of
// shopItems.
func shopModel(tb testing.TB) *engine.Model {
	tb.Helper()
	var pop population
	for _, g := range []struct {
		n     int
		items []string
	}{
		{4, []string{"kettle", "teapot", "mugs"}},
		{3, []string{"grinder", "beans", "scale"}},
		{3, []string{"teapot", "cookbook", "kettle"}},
		{3, []string{"vitamins", "beans"}},
		{3, []string{"mugs", "cookbook", "scale"}},
	} {
		for range g.n {
			var sigs []features.Signal
			for k, it := range g.items {
				sigs = append(sigs, signal(fmt.Sprintf("t%d", k), consent.View, it, now.Add(-time.Duration(k)*time.Hour)))
			}
			pop = append(pop, sigs)
		}
	}
	m, err := engine.Train(context.Background(), pop, now, engine.DefaultTrainOptions())
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestBuildIsFaithful explains real engine answers for random customers and
// checks that every stated contribution is the engine's, and that only
// usable signals are cited.
func TestBuildIsFaithful(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	ks, err := keyspace.New(r.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	catalog := features.NewCatalog(r.Client, ks)
	if err := catalog.Upsert(context.Background(), append([]features.Item(nil), shopItems...), now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	store := features.NewStore(r.Client, features.StoreOptions{
		Keyspace: ks, Codec: features.NewCodec(features.GenerateSecret()),
		Policies: consent.NewPolicyStore(r.Client, ks), Catalog: catalog,
	})
	policy := consent.DefaultPolicy()
	model := shopModel(t)
	w := engine.DefaultWeights()
	rng := rand.New(rand.NewPCG(42, 1))

	var personal, cited, excluded int
	for c := range 150 {
		purpose := []consent.Purpose{consent.Personalization, consent.Personalization, consent.Support, consent.MarketingEmail}[rng.IntN(4)]
		status := consent.StatusGiven
		if rng.IntN(6) == 0 {
			status = []consent.Status{consent.StatusUnknown, consent.StatusRefused, consent.StatusWithdrawn}[rng.IntN(3)]
		}
		view := &features.CustomerView{Consent: decided(purpose, status, rng.IntN(2) == 0), Policy: &policy, Catalog: cat}
		for k := range 1 + rng.IntN(12) {
			typ := consent.SignalType(rng.IntN(consent.NumSignalTypes))
			s := signal(fmt.Sprintf("sig_%03d_%02d", c, k), typ, shopItems[rng.IntN(len(shopItems))].ID,
				now.Add(-time.Duration(rng.Int64N(int64(120*24*time.Hour)))))
			s.Purposes = consent.PurposeSet(1 + rng.IntN(15))
			if typ == consent.Rating {
				s.Value = float64(1 + rng.IntN(5))
			}
			view.Signals = append(view.Signals, s)
		}
		usable := store.UsableFor(view, purpose, now)
		res := model.Recommend(usable.Signals, cat, engine.Request{
			Purpose: purpose, Limit: 5, Now: now,
			ExcludePromotional: purpose == consent.Support, AllowSensitive: view.Consent.SensitiveGranted(purpose),
		}, &w)
		in := input(view, purpose, "storefront", &usable, &res)
		answer := explain.Build(in)
		rec := answer.Render()

		usableIDs, excludedIDs := map[string]bool{}, map[string]bool{}
		for _, s := range usable.Signals {
			usableIDs[s.ID] = true
		}
		for _, ex := range usable.Excluded {
			excludedIDs[ex.Signal.ID] = true
		}
		excluded += len(usable.Excluded)
		for _, s := range answer.Signals {
			if !usableIDs[s.ID] || excludedIDs[s.ID] {
				t.Errorf("customer %d: the answer keeps signal %s, usable %v, excluded %v", c, s.ID, usableIDs[s.ID], excludedIDs[s.ID])
			}
		}

		if rec.Personalized != res.Personalized() || len(rec.Items) != len(res.Items) || len(answer.Items) != len(res.Items) ||
			rec.ModelVersion != model.Version {
			t.Fatalf("customer %d: personalised %v, %d items, model %s; engine said %v, %d, %s",
				c, rec.Personalized, len(rec.Items), rec.ModelVersion, res.Personalized(), len(res.Items), model.Version)
		}
		for i, it := range rec.Items {
			scored := res.Items[i]
			if it.ItemID != scored.ItemID || it.Score != scored.Score || it.Model != scored.Source.String() {
				t.Errorf("customer %d item %d: %s/%v/%s, engine ranked %s/%v/%s", c, i, it.ItemID, it.Score, it.Model, scored.ItemID, scored.Score, scored.Source)
			}
			notUsed := 0
			for _, n := range it.Explanation.NotUsed {
				notUsed += int(n.Count)
			}
			if notUsed != len(usable.Excluded) {
				t.Errorf("customer %d item %s: notes count %d signals not used, %d were left out", c, it.ItemID, notUsed, len(usable.Excluded))
			}
			if scored.Source != engine.SourceCooccurrence {
				if len(it.Contributions) != 0 || len(answer.Items[i].Contributions) != 0 {
					t.Errorf("customer %d: non-personalised item %s carries contributions", c, it.ItemID)
				}
				for _, reason := range it.Explanation.Reasons {
					if reason.SignalID != "" || reason.Contribution != 0 || reason.Kind == explain.KindSignal {
						t.Errorf("customer %d: non-personalised item %s cites %v", c, it.ItemID, reason)
					}
				}
				continue
			}
			personal++
			n := len(scored.Contributions)
			facts := answer.Items[i].Contributions
			contributions := it.Contributions
			reasons := it.Explanation.Reasons
			if len(facts) != n || len(contributions) != n || len(reasons) != min(n, explain.MaxReasons) ||
				int(it.Explanation.MoreReasons) != max(0, n-explain.MaxReasons) {
				t.Fatalf("customer %d item %s: %d contributions kept, %d listed, %d reasons + %d more; engine computed %d",
					c, it.ItemID, len(facts), len(contributions), len(reasons), it.Explanation.MoreReasons, n)
			}
			var sum float64
			for k, contrib := range scored.Contributions {
				sig := usable.Signals[contrib.Signal]
				kept := answer.Signals[facts[k].Signal]
				switch {
				case facts[k].Value != contrib.Value || contributions[k].Contribution != contrib.Value:
					t.Errorf("customer %d item %s contribution %d: kept %v, listed %v, engine computed %v",
						c, it.ItemID, k, facts[k].Value, contributions[k].Contribution, contrib.Value)
				case kept.ID != sig.ID || kept.Type != sig.Type || kept.ItemID != sig.ItemID || !kept.OccurredAt.Equal(sig.OccurredAt) || kept.Value != sig.Value:
					t.Errorf("customer %d item %s contribution %d: kept signal %+v, engine used %+v", c, it.ItemID, k, kept, sig)
				case contributions[k].SignalID != sig.ID:
					t.Errorf("customer %d item %s contribution %d: listed for %s, engine used %s", c, it.ItemID, k, contributions[k].SignalID, sig.ID)
				}
				sum += contributions[k].Contribution
				if k >= len(reasons) {
					continue
				}
				reason := reasons[k]
				cited++
				switch {
				case reason.Kind != explain.KindSignal:
					t.Errorf("customer %d item %s reason %d: kind %s", c, it.ItemID, k, reason.Kind)
				case reason.Contribution != contrib.Value:
					t.Errorf("customer %d item %s reason %d: states %v, engine computed %v", c, it.ItemID, k, reason.Contribution, contrib.Value)
				case reason.Share != contrib.Value/scored.Score:
					t.Errorf("customer %d item %s reason %d: share %v, want %v", c, it.ItemID, k, reason.Share, contrib.Value/scored.Score)
				case reason.SignalID != sig.ID || reason.SignalType != sig.Type.String() || reason.ItemID != sig.ItemID ||
					!reason.OccurredAt.Equal(sig.OccurredAt):
					t.Errorf("customer %d item %s reason %d: cites %s %s %s %v, the contribution is signal %+v", c, it.ItemID, k,
						reason.SignalID, reason.SignalType, reason.ItemID, reason.OccurredAt, sig)
				case !usableIDs[reason.SignalID] || excludedIDs[reason.SignalID]:
					t.Errorf("customer %d item %s: cites signal %s, usable %v, excluded %v", c, it.ItemID, reason.SignalID,
						usableIDs[reason.SignalID], excludedIDs[reason.SignalID])
				case reason.Purpose != purpose.String():
					t.Errorf("customer %d item %s: reason under purpose %s, request was %s", c, it.ItemID, reason.Purpose, purpose)
				}
			}
			if math.Abs(sum-it.Score) > 1e-9 {
				t.Errorf("customer %d item %s: contributions sum to %v, score %v", c, it.ItemID, sum, it.Score)
			}
		}
	}
	if personal < 50 || cited < 100 || excluded < 100 {
		t.Errorf("fixture too weak: %d personalised items, %d cited signals, %d exclusions", personal, cited, excluded)
	}
}

func TestHeadlineNamesLargestPositiveContribution(t *testing.T) {
	t.Parallel()
	cat := shopCatalog(t)
	signals := []features.Signal{
		signal("sig_0", consent.Purchase, "kettle", day(1, 10)),
		rated("sig_1", "mugs", 1, day(2, 1)),
		signal("sig_2", consent.View, "grinder", day(2, 20)),
		rated("sig_3", "beans", 5, day(2, 25)),
		signal("sig_4", consent.AddToCart, "scale", day(2, 26)),
		rated("sig_5", "cookbook", 2, day(2, 27)),
	}
	c := func(signal int, v float64) engine.Contribution { return engine.Contribution{Signal: signal, Value: v} }
	tests := []struct {
		name     string
		contribs []engine.Contribution // largest magnitude first, as the engine gives them
		want     string
	}{
		{"largest is positive", []engine.Contribution{c(2, 0.6), c(1, -0.3)}, "Because you viewed Hand Coffee Grinder on 20 February 2026."},
		{"largest is negative", []engine.Contribution{c(1, -0.9), c(0, 0.7), c(2, 0.4)}, "Because you bought Blue Kettle on 10 January 2026."},
		{"two negatives first", []engine.Contribution{c(1, -0.5), c(5, -0.45), c(3, 0.4), c(4, 0.4), c(2, 0.3)}, "Because you rated Ethiopian Coffee Beans 5 out of 5 on 25 February 2026."},
		{"single", []engine.Contribution{c(4, 0.5)}, "Because you added Kitchen Scale to your cart on 26 February 2026."},
		{"equal magnitudes", []engine.Contribution{c(2, 0.5), c(0, 0.5)}, "Because you viewed Hand Coffee Grinder on 20 February 2026."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var score float64
			for _, c := range tt.contribs {
				score += c.Value
			}
			if score <= 0 {
				t.Fatalf("fixture: score %v, the engine only ranks positive scores", score)
			}
			res := engine.Result{ModelVersion: goldenModel, Items: []engine.Scored{
				{ItemID: "teapot", Score: score, Source: engine.SourceCooccurrence, Contributions: tt.contribs},
			}}
			usable := features.Usable{Purpose: consent.Personalization, Signals: signals}
			view := &features.CustomerView{Consent: decided(consent.Personalization, consent.StatusGiven, false), Catalog: cat}
			rec := explain.Build(input(view, consent.Personalization, "storefront", &usable, &res)).Render()
			ex := rec.Items[0].Explanation
			if ex.Headline != tt.want {
				t.Errorf("headline %q, want %q", ex.Headline, tt.want)
			}
			if len(ex.Reasons) != min(len(tt.contribs), explain.MaxReasons) {
				t.Errorf("%d reasons for %d contributions", len(ex.Reasons), len(tt.contribs))
			}
		})
	}
}

func TestBuildCopiesAnswerMetadata(t *testing.T) {
	t.Parallel()
	cat := shopCatalog(t)
	policy := consent.DefaultPolicy()
	policy.Version = 7
	view := &features.CustomerView{Consent: decided(consent.Personalization, consent.StatusGiven, true), Policy: &policy, Catalog: cat}
	usable := features.Usable{Purpose: consent.Personalization}
	res := engine.Result{ModelVersion: goldenModel, Items: []engine.Scored{{ItemID: "gone", Source: engine.SourceCatalog}}}
	in := input(view, consent.Personalization, "storefront", &usable, &res)
	in.CreatedAt = time.Date(2026, 3, 1, 13, 0, 0, 0, time.FixedZone("CET", 3600))
	in.ExpiresAt = in.CreatedAt.Add(time.Hour)
	a := explain.Build(in)
	switch {
	case a.ID != goldenID || a.Surface != "storefront" || a.Purpose != consent.Personalization:
		t.Errorf("identity fields %q %q %v", a.ID, a.Surface, a.Purpose)
	case a.PolicyVersion != 7 || a.ModelVersion != goldenModel:
		t.Errorf("policy %d model %s, want 7 %s", a.PolicyVersion, a.ModelVersion, goldenModel)
	case !a.CreatedAt.Equal(now) || !a.ExpiresAt.Equal(now.Add(time.Hour)) || a.CreatedAt.Location() != time.UTC || a.ExpiresAt.Location() != time.UTC:
		t.Errorf("times %v %v, want %v %v in UTC", a.CreatedAt, a.ExpiresAt, now, now.Add(time.Hour))
	case a.Consent != view.Consent.Decisions[consent.Personalization]:
		t.Errorf("answer rests on consent %+v, want %+v", a.Consent, view.Consent.Decisions[consent.Personalization])
	case len(a.Items) != 1 || a.Items[0].Title != "gone" || len(a.NotUsed) != 0 || len(a.Signals) != 0:
		t.Errorf("an item missing from the catalogue: %+v; signals %v, notes %v", a.Items, a.Signals, a.NotUsed)
	}
	rec := a.Render()
	if h := rec.Items[0].Explanation.Headline; !strings.Contains(h, "Not based on your personal data") {
		t.Errorf("headline %q", h)
	}
	if rec.PolicyVersion != 7 || !rec.CreatedAt.Equal(now) || !rec.ExpiresAt.Equal(now.Add(time.Hour)) || rec.RecommendationID != goldenID {
		t.Errorf("rendered metadata %v", rec)
	}
}
