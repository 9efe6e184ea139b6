package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features/redistest"
)

func TestTmpProbe(t *testing.T) {
	ctx := context.Background()
	r := redistest.New(t)
	s := benchServer(t, r)
	seedBenchData(t, s, 10000, 2000, 50)
	if err := s.TrainNow(ctx); err != nil {
		t.Fatal(err)
	}
	const N = 1000
	var tl, tu, tr, tb, trn, ts, tp time.Duration
	size, contribs := 0, 0
	for i := 0; i < N; i++ {
		t0 := time.Now()
		p := s.pseudonyms.Pseudonym(fmt.Sprintf("bench-%d", i%2000))
		view, err := s.store.Load(ctx, p)
		if err != nil { t.Fatal(err) }
		t1 := time.Now()
		u := s.store.UsableFor(view, consent.Personalization, time.Now())
		t2 := time.Now()
		res := s.models.Model().Recommend(u.Signals, view.Catalog, engine.Request{Purpose: consent.Personalization, Limit: 10, Now: time.Now()}, &s.cfg.Train.Weights)
		t3 := time.Now()
		a := explain.Build(explain.Input{ID: explain.NewID(), Surface: "storefront", View: view, Usable: &u, Result: &res, SignalRetention: s.store.Retention(), CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
		t4 := time.Now()
		rec := a.Render()
		t5 := time.Now()
		if err := s.explanations.Save(ctx, p, a); err != nil { t.Fatal(err) }
		t6 := time.Now()
		b, _ := proto.Marshal(rec)
		size += len(b)
		for _, it := range res.Items { contribs += len(it.Contributions) }
		t7 := time.Now()
		tl += t1.Sub(t0); tu += t2.Sub(t1); tr += t3.Sub(t2); tb += t4.Sub(t3); trn += t5.Sub(t4); ts += t6.Sub(t5); tp += t7.Sub(t6)
	}
	t.Logf("per request: load %v usable %v recommend %v build %v render %v save %v proto %v; response %d bytes, %d contributions", tl/N, tu/N, tr/N, tb/N, trn/N, ts/N, tp/N, size/N, contribs/N)
}
