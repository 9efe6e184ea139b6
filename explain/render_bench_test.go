package explain_test

import (
	"fmt"
	"testing"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// BenchmarkRender renders a ten-item answer, each item moved by five of the
// customer's signals: what every GetRecommendations does after scoring.
func BenchmarkRender(b *testing.B) {
	cat := shopCatalog(b)
	var usable features.Usable
	usable.Purpose = consent.Personalization
	for k := range 20 {
		usable.Signals = append(usable.Signals, signal(fmt.Sprintf("sig_%02d", k), consent.SignalType(k%consent.NumSignalTypes), shopItems[k%len(shopItems)].ID, day(2, 1+k)))
	}
	usable.Excluded = excludedN(consent.View, features.ReasonExpired, 3)
	view := &features.CustomerView{Consent: decided(consent.Personalization, consent.StatusGiven, false), Catalog: cat}
	var res engine.Result
	res.ModelVersion = goldenModel
	for i := range 10 {
		it := engine.Scored{ItemID: shopItems[i%len(shopItems)].ID, Score: 1, Source: engine.SourceCooccurrence}
		for k := range 5 {
			it.Contributions = append(it.Contributions, engine.Contribution{Signal: (i + 3*k) % len(usable.Signals), Value: 0.2})
		}
		res.Items = append(res.Items, it)
	}
	a := explain.Build(input(view, consent.Personalization, "storefront", &usable, &res))
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Render()
	}
}
