package engine

import (
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
)

// Models are the models a server ranks with.
type Models struct {
	// ALS is the item model written by `candor train`; nil until one exists.
	ALS *ALSModel
	// Cooc is the co-occurrence and popularity model every server retrains
	// from the store; it is never nil once a Holder holds it.
	Cooc *Model
}

// Version names the models in use, e.g. "als-1a2b3c+cooc-4d5e6f".
func (ms Models) Version() string {
	v := ""
	if ms.ALS != nil {
		v = ms.ALS.Info.Version + "+"
	}
	if ms.Cooc != nil {
		v += ms.Cooc.Version
	}
	return v
}

// Recommend ranks items for one customer from their usable signals only.
// Personal items come from the ALS model when it places any (the customer
// has usable signals on items it knows), else from co-occurrence; then
// popularity and the newest catalogue items fill the rest (cold start, no
// consent, no model yet). Items the customer bought (according to usable
// signals: an unusable purchase must not change the answer), items missing
// from the catalogue, items or categories the customer is not interested in,
// and items the rules exclude are skipped.
func (ms Models) Recommend(usable []features.Signal, catalog *features.CatalogSnapshot, req Request, w *Weights) Result {
	res := Result{ModelVersion: ms.Version()}
	if req.Limit <= 0 {
		return res
	}
	r := newRules(usable, catalog, req)
	if ms.ALS != nil {
		res.Items = ms.ALS.score(usable, req, w, r.eligible)
	}
	if len(res.Items) == 0 && ms.Cooc != nil {
		res.Items = ms.Cooc.scoreCooccurrence(usable, req, w, r.eligible)
	}
	for i := range res.Items {
		r.chosen[res.Items[i].ItemID] = true
	}
	if ms.Cooc != nil {
		for _, i := range ms.Cooc.popular {
			if len(res.Items) >= req.Limit {
				break
			}
			if id := ms.Cooc.items[i]; r.eligible(id, false) {
				r.chosen[id] = true
				res.Items = append(res.Items, Scored{ItemID: id, Score: ms.Cooc.popularity[i], Source: SourcePopularity})
			}
		}
	}
	for _, it := range catalog.Newest() {
		if len(res.Items) >= req.Limit {
			break
		}
		if r.eligible(it.ID, false) {
			r.chosen[it.ID] = true
			res.Items = append(res.Items, Scored{ItemID: it.ID, Source: SourceCatalog})
		}
	}
	return res
}

// rules are the business rules one answer obeys.
type rules struct {
	req     Request
	catalog *features.CatalogSnapshot
	bought  map[string]bool
	chosen  map[string]bool
}

func newRules(usable []features.Signal, catalog *features.CatalogSnapshot, req Request) *rules {
	r := &rules{req: req, catalog: catalog, bought: map[string]bool{}, chosen: map[string]bool{}}
	for i := range usable {
		if usable[i].Type == consent.Purchase {
			r.bought[usable[i].ItemID] = true
		}
	}
	return r
}

// eligible reports whether an item may be placed; personal says whether it
// would be placed from the customer's own data.
func (r *rules) eligible(id string, personal bool) bool {
	if r.bought[id] || r.chosen[id] {
		return false
	}
	it := r.catalog.Item(id)
	switch {
	case it == nil:
		return false
	case r.req.ExcludePromotional && it.Promotional:
		return false
	case it.Sensitive && !(personal && r.req.AllowSensitive):
		return false
	}
	if c := r.req.Controls; c != nil {
		if c.NotInterestedItem(id) {
			return false
		}
		for _, cat := range it.Categories {
			if c.NotInterestedCategory(cat) {
				return false
			}
		}
	}
	return true
}
