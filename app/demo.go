package app

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
)

// The demo: a synthetic sports shop with shoppers whose consent choices
// differ, seeded through the domain's own calls (consent changes go to the
// ledger, signals are consent-gated), backdated so the shop has a history;
// the answer and token the tour opens come from the use cases, as the
// storefront asks for them.

// Demo describes what was seeded.
type Demo struct {
	Items, Customers, Signals int
	// WhyPath opens alice's first answer on the "why am I seeing this" page,
	// with a customer token valid for an hour; PrivacyPath opens her privacy
	// center with the same token.
	WhyPath, PrivacyPath string
}

var demoCatalog = []struct {
	category, code string
	sensitive      bool
	titles         []string
}{
	{"Trail running", "trail", false, []string{"Trail Runner 2 shoes", "Ridge GTX trail shoes", "Hydration vest 5L", "Trail socks (3 pairs)", "Running poles", "Waterproof trail jacket", "Head torch 400", "Gaiters", "Soft flask 500ml", "Trail shorts"}},
	{"Road running", "road", false, []string{"Tempo road shoes", "Carbon race shoes", "Running shorts", "Running cap", "Reflective vest", "GPS running watch", "Compression socks", "Running belt", "Lightweight running jacket", "Energy gels (12)"}},
	{"Hiking", "hike", false, []string{"Hiking boots", "Day pack 25L", "Trekking trousers", "Fleece mid-layer", "Map case", "Walking socks", "Water filter bottle", "Rain poncho", "Sun hat", "First-aid kit"}},
	{"Cycling", "bike", false, []string{"Road helmet", "Cycling gloves", "Bib shorts", "Bike lights set", "Saddle bag", "Cycling jersey", "Mini pump", "Bottle cage", "Clipless pedals", "Cycling glasses"}},
	{"Swimming", "swim", false, []string{"Swim goggles", "Swim cap", "Training fins", "Kickboard", "Pull buoy", "Swimsuit", "Microfibre towel", "Nose clip", "Waterproof bag", "Anti-fog spray"}},
	{"Yoga", "yoga", false, []string{"Yoga mat", "Yoga blocks (2)", "Yoga strap", "Meditation cushion", "Yoga towel", "Foam roller", "Resistance bands", "Yoga leggings", "Balance board", "Massage ball"}},
	{"Health", "health", true, []string{"Knee support brace", "Blood pressure monitor", "Ankle support", "Heart-rate chest strap", "Pregnancy support belt", "Posture corrector"}},
}

func demoItemID(code string, i int) string { return fmt.Sprintf("sku-%s-%02d", code, i+1) }

// SeedDemo fills the store with the demo catalogue and customers, then
// trains the model. It refuses a store that already holds a catalogue.
func (a *App) SeedDemo(ctx context.Context) (*Demo, error) {
	if cat, err := a.catalog.Current(ctx); err != nil {
		return nil, err
	} else if cat.Len() > 0 {
		return nil, fmt.Errorf("the store already holds a catalogue; the demo seeds an empty store only")
	}
	now := a.now()
	d := &Demo{}
	var items []features.Item
	var byCategory [][]string
	for ci, c := range demoCatalog {
		byCategory = append(byCategory, nil)
		for i, title := range c.titles {
			id := demoItemID(c.code, i)
			items = append(items, features.Item{
				ID: id, Title: title, Categories: []string{c.category},
				Sensitive: c.sensitive, Promotional: !c.sensitive && i%4 == 3,
			})
			byCategory[ci] = append(byCategory[ci], id)
		}
	}
	if err := a.catalog.Upsert(ctx, items, now.Add(-time.Hour)); err != nil {
		return nil, err
	}
	d.Items = len(items)

	rng := rand.New(rand.NewPCG(2026, 11))
	all := consent.Change{NoticeVersion: "2026-10", Method: consent.MethodUI, ActorRole: "demo", At: now.Add(-90 * 24 * time.Hour)}
	// 300 shoppers, each drawn to one or two categories (not Health), who
	// consented to personalisation and model training.
	for n := 0; n < 300; n++ {
		id := fmt.Sprintf("shopper-%04d", n+1)
		change := all
		change.Choices = []consent.Choice{{Purpose: consent.Personalization, Granted: true}, {Purpose: consent.ModelTraining, Granted: true}}
		if _, err := a.store.ApplyConsent(ctx, a.pseudonyms.Pseudonym(id), change); err != nil {
			return nil, err
		}
		favourites := []int{rng.IntN(len(demoCatalog) - 1)}
		if rng.IntN(3) == 0 {
			favourites = append(favourites, rng.IntN(len(demoCatalog)-1))
		}
		var inputs []features.SignalInput
		for k := 0; k < 8+rng.IntN(12); k++ {
			cat := byCategory[favourites[rng.IntN(len(favourites))]]
			if rng.IntN(10) == 0 {
				cat = byCategory[rng.IntN(len(byCategory)-1)]
			}
			inputs = append(inputs, features.SignalInput{
				Type:       []string{"view", "view", "view", "add_to_cart", "purchase", "search"}[rng.IntN(6)],
				ItemID:     cat[rng.IntN(len(cat))],
				Purposes:   []string{"personalization", "model_training"},
				OccurredAt: now.Add(-time.Duration(1+rng.IntN(60*24)) * time.Hour),
			})
		}
		if _, err := a.store.Track(ctx, a.pseudonyms.Pseudonym(id), inputs, now); err != nil {
			return nil, err
		}
		d.Customers++
		d.Signals += len(inputs)
	}

	for _, c := range demoCustomers(now) {
		p := a.pseudonyms.Pseudonym(c.id)
		if len(c.consents) > 0 {
			change := all
			change.At = now.Add(-30 * 24 * time.Hour)
			for _, purpose := range c.consents {
				change.Choices = append(change.Choices, consent.Choice{Purpose: purpose, Granted: true})
			}
			if _, err := a.store.ApplyConsent(ctx, p, change); err != nil {
				return nil, err
			}
		}
		if _, err := a.store.Track(ctx, p, c.signals, now); err != nil {
			return nil, err
		}
		d.Customers++
		d.Signals += len(c.signals)
	}
	if err := a.TrainNow(ctx); err != nil {
		return nil, err
	}
	// Train the ALS model as `candor train` would, so the tour shows the
	// main model at work.
	als, err := trainALS(ctx, a.store, a.alsModels, engine.ALSTrainOptions{
		ALS: engine.DefaultALSOptions(), Weights: a.cfg.Train.Weights, MinSupport: a.cfg.Train.MinSupport,
	}, 3, now)
	if err != nil {
		return nil, err
	}
	a.models.SwapALS(als)

	// An answer for alice, and a customer token to open it as she would.
	// Through the use cases, as the storefront would ask.
	shop := System(RoleStorefront)
	answer, err := a.GetRecommendations(ctx, shop, RecommendRequest{CustomerID: "alice", Surface: "storefront", Limit: 5})
	if err != nil {
		return nil, err
	}
	token, _, err := a.CreateCustomerToken(ctx, shop, "alice", MaxTokenTTL)
	if err != nil {
		return nil, err
	}
	d.WhyPath = "/why/" + answer.ID + "?token=" + token
	d.PrivacyPath = "/privacy?token=" + token
	return d, nil
}

type demoCustomer struct {
	id       string
	consents []consent.Purpose
	signals  []features.SignalInput
}

func demoCustomers(now time.Time) []demoCustomer {
	ago := func(days int) time.Time { return now.Add(-time.Duration(days) * 24 * time.Hour) }
	both := []string{"personalization", "model_training"}
	return []demoCustomer{
		{
			// alice trains for trail races and consented to everything but
			// marketing email.
			id:       "alice",
			consents: []consent.Purpose{consent.Personalization, consent.ModelTraining, consent.Support},
			signals: []features.SignalInput{
				{Type: "view", ItemID: "sku-trail-01", Purposes: both, OccurredAt: ago(12)},
				{Type: "view", ItemID: "sku-trail-02", Purposes: both, OccurredAt: ago(10)},
				{Type: "add_to_cart", ItemID: "sku-trail-01", Purposes: both, OccurredAt: ago(9)},
				{Type: "purchase", ItemID: "sku-trail-03", Purposes: both, OccurredAt: ago(20)},
				{Type: "rating", ItemID: "sku-trail-03", Purposes: both, OccurredAt: ago(15), Value: 5},
				{Type: "search", ItemID: "sku-trail-04", Purposes: []string{"personalization"}, OccurredAt: ago(3)},
				{Type: "view", ItemID: "sku-health-01", Purposes: both, OccurredAt: ago(5)},
				{Type: "support_ticket", ItemID: "sku-trail-03", Purposes: []string{"support"}, OccurredAt: ago(14)},
			},
		},
		{
			// bob never answered the consent notice: nothing of his is stored.
			id: "bob",
			signals: []features.SignalInput{
				{Type: "view", ItemID: "sku-road-01", Purposes: both, OccurredAt: ago(2)},
			},
		},
		{
			// carol lets her data train the model but not personalise her shop.
			id:       "carol",
			consents: []consent.Purpose{consent.ModelTraining},
			signals: []features.SignalInput{
				{Type: "view", ItemID: "sku-yoga-01", Purposes: both, OccurredAt: ago(4)},
				{Type: "view", ItemID: "sku-yoga-02", Purposes: both, OccurredAt: ago(4)},
				{Type: "purchase", ItemID: "sku-yoga-01", Purposes: both, OccurredAt: ago(3)},
			},
		},
	}
}
