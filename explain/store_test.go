package explain_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
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

type storeFixture struct {
	r     *redistest.Redis
	keys  keyspace.Keyspace
	codec *features.Codec
	store *explain.Store
}

func newStore(tb testing.TB) *storeFixture {
	tb.Helper()
	r := redistest.New(tb)
	ks, err := keyspace.New(r.Namespace)
	if err != nil {
		tb.Fatal(err)
	}
	codec := features.NewCodec(features.GenerateSecret())
	return &storeFixture{r: r, keys: ks, codec: codec, store: explain.NewStore(r.Client, ks, codec)}
}

// sampleAnswer is a personalised answer with signal reasons and not-used
// notes, under a fresh id.
func sampleAnswer(tb testing.TB, createdAt time.Time, retention time.Duration) *explain.Answer {
	tb.Helper()
	cat := shopCatalog(tb)
	usable := features.Usable{
		Purpose: consent.Personalization,
		Signals: []features.Signal{
			signal("sig_purchase_kettle", consent.Purchase, "kettle", day(1, 10)),
			rated("sig_rating_mugs", "mugs", 1, day(2, 1)),
		},
		Excluded: excludedN(consent.View, features.ReasonExpired, 2),
	}
	view := &features.CustomerView{Consent: decided(consent.Personalization, consent.StatusGiven, false), Catalog: cat}
	res := engine.Result{ModelVersion: goldenModel, Items: []engine.Scored{
		{ItemID: "teapot", Score: 0.5, Source: engine.SourceCooccurrence, Contributions: []engine.Contribution{
			{Signal: 0, Value: 0.75}, {Signal: 1, Value: -0.25},
		}},
		{ItemID: "scale", Score: 0.75, Source: engine.SourcePopularity},
	}}
	in := input(view, consent.Personalization, "storefront", &usable, &res)
	in.ID = explain.NewID()
	in.CreatedAt, in.ExpiresAt = createdAt, createdAt.Add(retention)
	return explain.Build(in)
}

func TestStoreSaveGet(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	ctx := context.Background()
	a := sampleAnswer(t, now, time.Hour)
	if err := f.store.Save(ctx, goldenPseudonym, a); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		at    time.Time
		found bool
	}{
		{"at creation", now, true},
		{"just before expiry", a.ExpiresAt.Add(-time.Millisecond), true},
		{"at expiry", a.ExpiresAt, false},
		{"after expiry", a.ExpiresAt.Add(24 * time.Hour), false},
	}
	for _, tt := range tests {
		p, got, err := f.store.Get(ctx, a.ID, tt.at)
		if !tt.found {
			if !errors.Is(err, features.ErrNotFound) || got != nil || p != "" {
				t.Errorf("%s: Get = %q, %v, %v; want features.ErrNotFound", tt.name, p, got, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: Get: %v", tt.name, err)
		}
		if p != goldenPseudonym {
			t.Errorf("%s: Get says the answer is %q's, want %q's", tt.name, p, goldenPseudonym)
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("%s: Get returned different facts:\n got %+v\nwant %+v", tt.name, got, a)
		}
		// The explanation read back says, word for word, what the original said.
		if want, have := a.Render(), got.Render(); !reflect.DeepEqual(want, have) {
			t.Errorf("%s: the stored answer renders differently:\n%s", tt.name,
				lineDiff(string(indentedJSON(t, want)), string(indentedJSON(t, have))))
		}
	}
	if _, _, err := f.store.Get(ctx, explain.NewID(), now); !errors.Is(err, features.ErrNotFound) {
		t.Errorf("Get of an unknown id: %v, want features.ErrNotFound", err)
	}
}

func TestStoreSealsAtRest(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	ctx := context.Background()
	a := sampleAnswer(t, now, explain.DefaultRetention)
	if err := f.store.Save(ctx, goldenPseudonym, a); err != nil {
		t.Fatal(err)
	}
	raw, err := f.r.Client.Get(ctx, f.keys.Recommendation(a.ID)).Result()
	if err != nil {
		t.Fatalf("raw value: %v", err)
	}
	secrets := []string{
		"Blue Kettle", "Stoneware Teapot", "Set of Four Mugs", "Kitchen Scale", // titles
		"sig_purchase_kettle", "sig_rating_mugs", // signal ids
		"kettle", "teapot", "mugs", // item ids
		string(goldenPseudonym), "storefront", "2026-02", goldenModel,
	}
	for key, val := range f.r.Dump(t) {
		for _, s := range secrets {
			if strings.Contains(val, s) {
				t.Errorf("key %s holds %q in clear text", key, s)
			}
		}
	}
	if len(raw) < 100 {
		t.Errorf("stored value is %d bytes, too short to hold the answer", len(raw))
	}

	// The value is bound to its key: moved under another id it does not open.
	other := explain.NewID()
	if err := f.r.Client.Set(ctx, f.keys.Recommendation(other), raw, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if _, got, err := f.store.Get(ctx, other, now); !errors.Is(err, features.ErrCorrupt) || got != nil {
		t.Errorf("Get of a value moved to another key = %v, %v; want features.ErrCorrupt", got, err)
	}
	// A different secret cannot open it either.
	foreign := explain.NewStore(f.r.Client, f.keys, features.NewCodec(features.GenerateSecret()))
	if _, _, err := foreign.Get(ctx, a.ID, now); !errors.Is(err, features.ErrCorrupt) {
		t.Errorf("Get with another secret: %v, want features.ErrCorrupt", err)
	}
}

// TestStoreRejectsDamagedRecords seals damaged encodings of a real answer
// with the store's own codec: every one must read as features.ErrCorrupt.
func TestStoreRejectsDamagedRecords(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	ctx := context.Background()
	a := sampleAnswer(t, now, time.Hour)
	if err := f.store.Save(ctx, goldenPseudonym, a); err != nil {
		t.Fatal(err)
	}
	key := f.keys.Recommendation(a.ID)
	sealed, err := f.r.Client.Get(ctx, key).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	plain, err := f.codec.Open(sealed, key, "")
	if err != nil {
		t.Fatal(err)
	}
	damaged := map[string][]byte{
		"empty":           {},
		"unknown format":  append([]byte{99}, plain[1:]...),
		"trailing byte":   append(append([]byte(nil), plain...), 0),
		"not an encoding": []byte(`{"id":"rec_x"}`),
	}
	for n := 1; n < len(plain); n++ {
		damaged[fmt.Sprintf("truncated to %d of %d bytes", n, len(plain))] = plain[:n]
	}
	for name, b := range damaged {
		if err := f.r.Client.Set(ctx, key, f.codec.Seal(b, key, ""), time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		if p, got, err := f.store.Get(ctx, a.ID, now); !errors.Is(err, features.ErrCorrupt) || got != nil || p != "" {
			t.Errorf("%s: Get = %q, %v, %v; want features.ErrCorrupt", name, p, got, err)
		}
	}
}

func TestStoreIndexesByCustomer(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	ctx := context.Background()
	index := f.keys.Customer(goldenPseudonym).Recommendations

	first := sampleAnswer(t, now, time.Hour)
	if err := f.store.Save(ctx, goldenPseudonym, first); err != nil {
		t.Fatal(err)
	}
	zs, err := f.r.Client.ZRangeWithScores(ctx, index, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	// Scores and TTLs are rounded up to a whole day (they must not give away
	// when the customer was served).
	dayEnd := features.CeilDay(first.ExpiresAt)
	if len(zs) != 1 || zs[0].Member != first.ID || int64(zs[0].Score) != dayEnd.UnixMilli() {
		t.Fatalf("index %s = %v, want %s scored by its expiry rounded up to a day %d", index, zs, first.ID, dayEnd.UnixMilli())
	}
	for _, key := range []string{index, f.keys.Recommendation(first.ID)} {
		ttl, err := f.r.Client.PTTL(ctx, key).Result()
		if err != nil || ttl <= 0 || ttl > dayEnd.Sub(first.CreatedAt) {
			t.Errorf("%s has TTL %v (%v), want a retention limit of at most %s", key, ttl, err, dayEnd.Sub(first.CreatedAt))
		}
	}

	// An answer saved after the day the first expired in prunes it from the
	// index (entries expire with day granularity, like their scores), but
	// not the second, which is still live.
	second := sampleAnswer(t, dayEnd.Add(-time.Minute), 48*time.Hour)
	third := sampleAnswer(t, dayEnd.Add(time.Minute), time.Hour)
	for _, a := range []*explain.Answer{second, third} {
		if err := f.store.Save(ctx, goldenPseudonym, a); err != nil {
			t.Fatal(err)
		}
	}
	members, err := f.r.Client.ZRange(ctx, index, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{second.ID, third.ID}
	sort.Strings(members)
	sort.Strings(want)
	if !reflect.DeepEqual(members, want) {
		t.Errorf("index holds %v, want %v (the first answer expired the day before the third)", members, want)
	}
	// Another customer's answers go to their own index.
	other := features.Pseudonym("ffeeddccbbaa99887766554433221100")
	if err := f.store.Save(ctx, other, sampleAnswer(t, now, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := f.r.Client.ZCard(ctx, index).Result(); err != nil || n != 2 {
		t.Errorf("first customer's index holds %d answers (%v), want 2", n, err)
	}
	if n, err := f.r.Client.ZCard(ctx, f.keys.Customer(other).Recommendations).Result(); err != nil || n != 1 {
		t.Errorf("second customer's index holds %d answers (%v), want 1", n, err)
	}
}

func TestStoreSaveRejectsNoRetention(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	ctx := context.Background()
	for _, retention := range []time.Duration{0, -time.Hour} {
		a := sampleAnswer(t, now, time.Hour)
		a.ExpiresAt = a.CreatedAt.Add(retention)
		if err := f.store.Save(ctx, goldenPseudonym, a); err == nil {
			t.Errorf("Save with expiry %v after creation succeeded", retention)
		}
		if n, err := f.r.Client.Exists(ctx, f.keys.Recommendation(a.ID), f.keys.Customer(goldenPseudonym).Recommendations).Result(); err != nil || n != 0 {
			t.Errorf("a refused Save wrote %d keys (%v)", n, err)
		}
	}
}

func TestValidID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		id := explain.NewID()
		if !explain.ValidID(id) || !strings.HasPrefix(id, explain.IDPrefix) || seen[id] {
			t.Fatalf("NewID() = %q: valid %v, seen before %v", id, explain.ValidID(id), seen[id])
		}
		seen[id] = true
	}
	valid := explain.NewID()
	tests := []struct {
		id   string
		want bool
	}{
		{goldenID, true},
		{valid, true},
		{"", false},
		{"rec_", false},
		{"rec", false},
		{valid[:len(valid)-1], false},
		{valid + "a", false},
		{"sig_" + valid[4:], false},
		{"REC_" + valid[4:], false},
		{"rec_" + strings.ToUpper(valid[4:]), false},
		{"rec_aaaaaaaaaaaaaaaaaaaaaaa1", false}, // 1 is not in the alphabet
		{"rec_aaaaaaaaaaaaaaaaaaaaaa8a", false},
		{"rec_aaaaaaaaaaaaaaaaaaaaaaa=", false},
		{"rec_aaaaaaaaaaaa:aaaaaaaaaaa", false},
		{"rec_aaaaaaaaaaaaaaaaaaaaaa*", false},
		{" " + valid, false},
		{valid + "\n", false},
		{"rec_aaaaaaaaaaaaaaaaaaaaaaa\u00e9", false},
	}
	for _, tt := range tests {
		if got := explain.ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

// TestStoreEachAndDeleteForReadInBatches: a customer with more answers than
// one read batch gets every one of them, once; an answer already removed by
// Redis is skipped; DeleteFor deletes them all with their index.
func TestStoreEachAndDeleteForReadInBatches(t *testing.T) {
	t.Parallel()
	f := newStore(t)
	ctx := context.Background()
	const n = 250
	var ids []string
	for i := 0; i < n; i++ {
		a := sampleAnswer(t, now, time.Hour)
		if err := f.store.Save(ctx, goldenPseudonym, a); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	if err := f.r.Client.Del(ctx, f.keys.Recommendation(ids[7])).Err(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	if err := f.store.Each(ctx, goldenPseudonym, now, func(a *explain.Answer) error {
		if seen[a.ID] {
			t.Errorf("%s seen twice", a.ID)
		}
		seen[a.ID] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n-1 || seen[ids[7]] {
		t.Fatalf("Each saw %d answers, want %d (all but the removed one)", len(seen), n-1)
	}
	deleted, err := f.store.DeleteFor(ctx, goldenPseudonym, consent.NewPurposeSet(consent.Personalization))
	if err != nil || deleted != n-1 {
		t.Fatalf("DeleteFor deleted %d (%v), want %d", deleted, err, n-1)
	}
	// What is left is the index entry of the answer Redis removed (pruned
	// by the next Save, with day granularity, like every expired entry).
	index := f.keys.Customer(goldenPseudonym).Recommendations
	if left := f.r.Keys(t); len(left) != 1 || left[0] != index {
		t.Errorf("keys left after DeleteFor: %v", left)
	}
	if members, err := f.r.Client.ZRange(ctx, index, 0, -1).Result(); err != nil || len(members) != 1 || members[0] != ids[7] {
		t.Errorf("index after DeleteFor: %v %v", members, err)
	}
}
