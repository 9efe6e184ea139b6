package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/keyspace"
	"github.com/candorhq/candor/internal/redistest"
)

// TestNonInterference checks invariant 3 of the architecture, randomised:
// the answer to a request of purpose P (items, scores, contributions) equals
// the answer for a customer whose store holds only the signals usable for P.
//
// Each case draws a policy, a customer's consent choices, a batch of signals
// (types, items, purposes, times, ratings), the customer's controls
// (suppressed signals, items and categories not interested), later consent
// changes (grants, revocations, revocations that delete data) and a request
// time that expires some signals. The answer for that customer is compared with the answer for
// a second customer holding only the first one's usable signals under the
// same consent. The item models (ALS and co-occurrence) are trained once and
// held fixed: what a training run may read is checked by
// TestTrainingNonInterference.
func TestNonInterference(t *testing.T) {
	t.Parallel()
	const cases = 2000
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(7, 2026))
	for c := 0; c < cases; c++ {
		f.checkCase(t, rng, c)
		if t.Failed() {
			return
		}
	}
	// The cases must reach both personal models, or they prove little.
	t.Logf("items placed by source: %v", f.placed)
	if f.placed[engine.SourceALS] == 0 || f.placed[engine.SourceCooccurrence] == 0 {
		t.Fatalf("the random cases never reached a personal model: %v", f.placed)
	}
}

// TestTrainingNonInterference checks the training side of invariant 3: a
// model (co-occurrence, and ALS bit for bit) trained on a store equals one
// trained on a store holding only the signals usable for model training (so
// a customer who revoked it is not reflected, and revocation with deletion
// leaves no trace).
func TestTrainingNonInterference(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(11, 2026))
	// The same secret, so customers have the same pseudonyms (and so the
	// same rows, in the same order) in both stores.
	secret := features.GenerateSecret()
	full := newFixtureWithSecret(t, secret)
	onlyUsable := newFixtureWithSecret(t, secret)
	now := full.now
	for n := 0; n < 60; n++ {
		id := fmt.Sprintf("cust-%d", n)
		initial := randomChoices(rng)
		signals := randomSignals(rng, full.items, now, 12)
		later := randomLaterChoices(rng)
		full.apply(t, id, initial, now.Add(-400*24*time.Hour))
		tracked, err := full.store.Track(ctx, full.pseudonyms.Pseudonym(id), signals, now)
		if err != nil {
			t.Fatal(err)
		}
		full.randomControls(t, rng, id, tracked, now)
		if len(later) > 0 {
			full.apply(t, id, later, now.Add(-time.Hour))
		}
		view, err := full.store.Load(ctx, full.pseudonyms.Pseudonym(id))
		if err != nil {
			t.Fatal(err)
		}
		u := full.store.UsableFor(view, consent.ModelTraining, now)
		onlyUsable.copyUsable(t, id, view, u.Signals, now)
	}
	opts := engine.DefaultTrainOptions()
	opts.MinSupport = 2
	a, err := engine.Train(ctx, full.store, now, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := engine.Train(ctx, onlyUsable.store, now, opts)
	if err != nil {
		t.Fatal(err)
	}
	if a.Version != b.Version || a.Customers != b.Customers || a.Signals != b.Signals {
		t.Fatalf("training differs: full store %s (%d customers, %d signals), usable only %s (%d customers, %d signals)",
			a.Version, a.Customers, a.Signals, b.Version, b.Customers, b.Signals)
	}
	if a.NumItems() == 0 {
		t.Fatal("the test trained an empty model; it proves nothing")
	}
	alsA, err := engine.TrainALS(ctx, full.store, now, alsTrainOptions())
	if err != nil {
		t.Fatal(err)
	}
	alsB, err := engine.TrainALS(ctx, onlyUsable.store, now, alsTrainOptions())
	if err != nil {
		t.Fatal(err)
	}
	if alsA.Info.Version != alsB.Info.Version || alsA.Info.DataFingerprint != alsB.Info.DataFingerprint {
		t.Fatalf("ALS training differs: full store %+v, usable only %+v", alsA.Info, alsB.Info)
	}
}

func alsTrainOptions() engine.ALSTrainOptions {
	o := engine.ALSTrainOptions{ALS: engine.DefaultALSOptions(), Weights: engine.DefaultWeights(), MinSupport: 2}
	o.ALS.Factors, o.ALS.Iterations, o.ALS.Lambda, o.ALS.Alpha = 8, 5, 1, 2
	return o
}

type fixture struct {
	redis      *redistest.Redis
	store      *features.Store
	policies   *consent.PolicyStore
	catalog    *features.Catalog
	pseudonyms *features.Pseudonymizer
	models     engine.Models
	placed     map[engine.Source]int
	weights    engine.Weights
	items      []string
	now        time.Time
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	return newFixtureWithSecret(tb, features.GenerateSecret())
}

func newFixtureWithSecret(tb testing.TB, secret features.Secret) *fixture {
	tb.Helper()
	ctx := context.Background()
	r := redistest.New(tb)
	ks, err := keyspace.New(r.Namespace)
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{
		redis:      r,
		policies:   consent.NewPolicyStore(r.Client, ks),
		catalog:    features.NewCatalog(r.Client, ks),
		pseudonyms: features.NewPseudonymizer(secret),
		weights:    engine.DefaultWeights(),
		// Far in the future, so that no key TTL (set from signal expiry
		// times) fires during the test, whatever the wall clock says.
		now: time.Date(2100, 1, 4, 12, 0, 0, 0, time.UTC),
	}
	f.store = features.NewStore(r.Client, features.StoreOptions{
		Keyspace: ks, Codec: features.NewCodec(secret), Policies: f.policies, Catalog: f.catalog,
	})
	var items []features.Item
	for i := 0; i < 40; i++ {
		it := features.Item{ID: fmt.Sprintf("item-%02d", i), Title: fmt.Sprintf("Item %d", i), Categories: []string{fmt.Sprintf("cat-%d", i%4)}}
		it.Sensitive = i%10 == 9
		it.Promotional = i%7 == 3
		items = append(items, it)
		f.items = append(f.items, it.ID)
	}
	// Two item ids the catalogue does not hold: signals may name them.
	f.items = append(f.items, "unknown-1", "unknown-2")
	if err := f.catalog.Upsert(ctx, items, f.now.Add(-500*24*time.Hour)); err != nil {
		tb.Fatal(err)
	}
	return f
}

// trainPopulation trains the fixed model from a synthetic population in
// which items cluster by category.
func (f *fixture) trainPopulation(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 3))
	for n := 0; n < 80; n++ {
		id := fmt.Sprintf("population-%d", n)
		f.apply(tb, id, []consent.Choice{{Purpose: consent.ModelTraining, Granted: true}}, f.now.Add(-400*24*time.Hour))
		cat := rng.IntN(4)
		var in []features.SignalInput
		for k := 0; k < 8; k++ {
			item := fmt.Sprintf("item-%02d", 4*rng.IntN(10)+cat)
			in = append(in, features.SignalInput{Type: "view", ItemID: item, Purposes: []string{"model_training"}, OccurredAt: f.now.Add(-time.Duration(1+rng.IntN(500)) * time.Hour)})
		}
		if _, err := f.store.Track(ctx, f.pseudonyms.Pseudonym(id), in, f.now); err != nil {
			tb.Fatal(err)
		}
	}
	opts := engine.DefaultTrainOptions()
	opts.MinSupport = 2
	m, err := engine.Train(ctx, f.store, f.now, opts)
	if err != nil {
		tb.Fatal(err)
	}
	if m.NumItems() < 30 {
		tb.Fatalf("population trained a model of %d items; the test needs a richer one", m.NumItems())
	}
	als, err := engine.TrainALS(ctx, f.store, f.now, alsTrainOptions())
	if err != nil {
		tb.Fatal(err)
	}
	f.models = engine.Models{ALS: als, Cooc: m}
}

func (f *fixture) apply(tb testing.TB, id string, choices []consent.Choice, at time.Time) {
	tb.Helper()
	if len(choices) == 0 {
		return
	}
	_, err := f.store.ApplyConsent(context.Background(), f.pseudonyms.Pseudonym(id), consent.Change{
		Choices: choices, NoticeVersion: "test", Method: consent.MethodAPI, ActorRole: "test", At: at,
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// copyUsable gives customer id (in f's store) exactly the consent state of
// view and the given signals.
// randomControls suppresses some of the tracked signals and marks some
// items and categories not interested.
func (f *fixture) randomControls(tb testing.TB, rng *rand.Rand, id string, tracked []features.TrackResult, now time.Time) {
	tb.Helper()
	ctx := context.Background()
	p := f.pseudonyms.Pseudonym(id)
	for _, r := range tracked {
		if r.Stored && rng.IntN(6) == 0 {
			if _, _, err := f.store.SetControl(ctx, p, features.ControlSignal, r.SignalID, "test", now); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if rng.IntN(3) == 0 {
		if _, _, err := f.store.SetControl(ctx, p, features.ControlItem, f.items[rng.IntN(len(f.items))], "test", now); err != nil {
			tb.Fatal(err)
		}
	}
	if rng.IntN(4) == 0 {
		if _, _, err := f.store.SetControl(ctx, p, features.ControlCategory, fmt.Sprintf("cat-%d", rng.IntN(4)), "test", now); err != nil {
			tb.Fatal(err)
		}
	}
}

func (f *fixture) copyUsable(tb testing.TB, id string, view *features.CustomerView, signals []features.Signal, now time.Time) {
	tb.Helper()
	var choices []consent.Choice
	for _, p := range consent.Purposes() {
		if view.Consent.Granted(p) {
			choices = append(choices, consent.Choice{Purpose: p, Granted: true, Sensitive: view.Consent.SensitiveGranted(p)})
		}
	}
	f.apply(tb, id, choices, now.Add(-400*24*time.Hour))
	for _, c := range view.Controls.List() {
		if c.Kind == features.ControlSignal {
			continue // suppressed signals are not usable, so not copied
		}
		if _, _, err := f.store.SetControl(context.Background(), f.pseudonyms.Pseudonym(id), c.Kind, c.Target, "test", now); err != nil {
			tb.Fatal(err)
		}
	}
	if len(signals) == 0 {
		return
	}
	in := make([]features.SignalInput, len(signals))
	for i, s := range signals {
		in[i] = features.SignalInput{Type: s.Type.String(), ItemID: s.ItemID, Purposes: s.Purposes.Names(), OccurredAt: s.OccurredAt, Value: s.Value}
	}
	res, err := f.store.Track(context.Background(), f.pseudonyms.Pseudonym(id), in, now)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range res {
		if !r.Stored {
			tb.Fatalf("copying a usable signal failed: %s", r.Reason)
		}
	}
}

var surfaceOf = map[consent.Purpose]bool{consent.Support: true}

func (f *fixture) checkCase(t *testing.T, rng *rand.Rand, c int) {
	t.Helper()
	if f.models.Cooc == nil {
		f.trainPopulation(t)
	}
	ctx := context.Background()
	writeNow := f.now
	var allowed [consent.NumPurposes]consent.SignalTypeSet
	for p := range allowed {
		allowed[p] = consent.SignalTypeSet(rng.Uint32N(1 << consent.NumSignalTypes))
	}
	if _, err := f.policies.Put(ctx, allowed, 0, "test", writeNow); err != nil {
		t.Fatal(err)
	}

	id, copyID := fmt.Sprintf("case-%d", c), fmt.Sprintf("case-%d-usable-only", c)
	f.apply(t, id, randomChoices(rng), writeNow.Add(-400*24*time.Hour))
	tracked, err := f.store.Track(ctx, f.pseudonyms.Pseudonym(id), randomSignals(rng, f.items, writeNow, 1+rng.IntN(25)), writeNow)
	if err != nil {
		t.Fatal(err)
	}
	f.randomControls(t, rng, id, tracked, writeNow)
	f.apply(t, id, randomLaterChoices(rng), writeNow.Add(-time.Hour))

	purpose := consent.Purpose(rng.IntN(consent.NumPurposes))
	now := writeNow.Add(time.Duration(rng.IntN(200*24)) * time.Hour)
	limit := 1 + rng.IntN(12)

	view, err := f.store.Load(ctx, f.pseudonyms.Pseudonym(id))
	if err != nil {
		t.Fatal(err)
	}
	// The usable set is also computed here, independently, from the rule
	// as the architecture states it, so a fault in the filter is caught too.
	want := usableOracle(view, purpose, now)
	f.copyUsable(t, copyID, view, want, writeNow)
	// Both ways of ranking: ALS first (with the fallbacks), and
	// co-occurrence alone.
	for _, models := range []engine.Models{f.models, {Cooc: f.models.Cooc}} {
		full, fullUsable := f.answer(t, models, id, purpose, now, limit)
		if got := signalIDs(fullUsable.Signals); got != signalIDs(want) {
			t.Fatalf("case %d (purpose %s): usable signals\n got %s\nwant %s", c, purpose, got, signalIDs(want))
		}
		only, onlyUsable := f.answer(t, models, copyID, purpose, now, limit)
		if len(onlyUsable.Excluded) != 0 {
			t.Fatalf("case %d: the copy holds %d unusable signals; the test is broken", c, len(onlyUsable.Excluded))
		}
		if a, b := describe(full, fullUsable), describe(only, onlyUsable); a != b {
			t.Fatalf("case %d (purpose %s, models %s, %d usable of %d signals): answers differ\nwith every signal:\n%s\nwith usable signals only:\n%s",
				c, purpose, models.Version(), len(fullUsable.Signals), len(view.Signals), a, b)
		}
	}
}

func (f *fixture) answer(t *testing.T, models engine.Models, id string, purpose consent.Purpose, now time.Time, limit int) (engine.Result, features.Usable) {
	t.Helper()
	view, err := f.store.Load(context.Background(), f.pseudonyms.Pseudonym(id))
	if err != nil {
		t.Fatal(err)
	}
	u := f.store.UsableFor(view, purpose, now)
	res := models.Recommend(u.Signals, view.Catalog, engine.Request{
		Purpose: purpose, Limit: limit, Now: now,
		ExcludePromotional: surfaceOf[purpose],
		AllowSensitive:     view.Consent.SensitiveGranted(purpose),
		Controls:           &view.Controls,
	}, &f.weights)
	if f.placed == nil {
		f.placed = map[engine.Source]int{}
	}
	for _, it := range res.Items {
		f.placed[it.Source]++
	}
	return res, u
}

// describe renders an answer with each contribution's signal by content
// (its id differs between the two customers), scores in full precision.
func describe(r engine.Result, u features.Usable) string {
	s := ""
	for _, it := range r.Items {
		s += fmt.Sprintf("%s %s %b\n", it.ItemID, it.Source, it.Score)
		for _, c := range it.Contributions {
			sig := u.Signals[c.Signal]
			s += fmt.Sprintf("  %s %s %s %g: %b\n", sig.Type, sig.ItemID, sig.OccurredAt.Format(time.RFC3339Nano), sig.Value, c.Value)
		}
	}
	return s
}

// usableOracle restates invariant 2: usable = fresh ∧ not suppressed by the
// customer ∧ consented now ∧ collected for the purpose ∧ allowed by the
// policy ∧ (sensitive item ⇒ explicit consent). Retention is the default
// one.
func usableOracle(v *features.CustomerView, p consent.Purpose, now time.Time) []features.Signal {
	var out []features.Signal
	for _, s := range v.Signals {
		fresh := now.Before(s.OccurredAt.Add(s.Type.Retention())) && now.Before(s.ExpiresAt)
		item := v.Catalog.Item(s.ItemID)
		sensitiveOK := item == nil || !item.Sensitive || v.Consent.SensitiveGranted(p)
		suppressed := v.Controls.SuppressedSignal(s.ID)
		if fresh && !suppressed && v.Consent.Granted(p) && s.Purposes.Has(p) && v.Policy.Allows(p, s.Type) && sensitiveOK {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OccurredAt.Before(out[j].OccurredAt) })
	return out
}

func signalIDs(signals []features.Signal) string {
	ids := make([]string, len(signals))
	for i, s := range signals {
		ids[i] = s.ID
	}
	return strings.Join(ids, ",")
}

func randomChoices(rng *rand.Rand) []consent.Choice {
	var out []consent.Choice
	for _, p := range consent.Purposes() {
		switch rng.IntN(4) {
		case 0: // never asked
		case 1:
			out = append(out, consent.Choice{Purpose: p, Granted: false})
		default:
			out = append(out, consent.Choice{Purpose: p, Granted: true, Sensitive: rng.IntN(2) == 0})
		}
	}
	return out
}

func randomLaterChoices(rng *rand.Rand) []consent.Choice {
	var out []consent.Choice
	for _, p := range consent.Purposes() {
		switch rng.IntN(6) {
		case 0:
			out = append(out, consent.Choice{Purpose: p, Granted: false})
		case 1:
			out = append(out, consent.Choice{Purpose: p, Granted: false, DeleteData: true})
		case 2:
			out = append(out, consent.Choice{Purpose: p, Granted: true, Sensitive: rng.IntN(2) == 0})
		}
	}
	return out
}

// randomSignals draws n signals with distinct times (up to 400 days old, so
// some are past their retention at write or read time).
func randomSignals(rng *rand.Rand, items []string, now time.Time, n int) []features.SignalInput {
	used := map[int64]bool{}
	out := make([]features.SignalInput, 0, n)
	for len(out) < n {
		ms := rng.Int64N(400 * 24 * 3600 * 1000)
		if used[ms] {
			continue
		}
		used[ms] = true
		t := consent.SignalType(rng.IntN(consent.NumSignalTypes))
		in := features.SignalInput{
			Type:       t.String(),
			ItemID:     items[rng.IntN(len(items))],
			OccurredAt: now.Add(-time.Duration(ms) * time.Millisecond),
		}
		for _, p := range consent.Purposes() {
			if rng.IntN(2) == 0 {
				in.Purposes = append(in.Purposes, p.String())
			}
		}
		if len(in.Purposes) == 0 {
			in.Purposes = []string{consent.Purpose(rng.IntN(consent.NumPurposes)).String()}
		}
		if t == consent.Rating {
			in.Value = float64(1 + rng.IntN(5))
		}
		out = append(out, in)
	}
	return out
}
