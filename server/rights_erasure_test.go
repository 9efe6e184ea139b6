package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/keyspace"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestEraseCustomer: erasure removes every key and record of the customer,
// answers with a receipt that names no one, and is idempotent; only the
// privacy officer lists receipts.
func TestEraseCustomer(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	ctx := context.Background()
	const c = "rights-erase-alice"
	p := f.pseudonym(c)
	ids := f.shopper(t, c)
	f.grant(t, c, consent.ModelTraining)
	if _, _, err := f.s.core.Store().SetControl(ctx, p, features.ControlItem, "sku-11", "customer", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	rec := f.recommend(t, c)
	f.recommend(t, c)
	review, err := f.reviewsClient().CreateReview(callAs(f.token(c)), &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "contest", Message: "m"})
	if err != nil {
		t.Fatal(err)
	}
	f.shopper(t, "rights-erase-bob") // a neighbour, untouched
	bobKeys := f.customerKeys(t, "rights-erase-bob")
	if len(f.customerKeys(t, c)) == 0 {
		t.Fatal("alice has no keys to erase")
	}

	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{
		{"another customer's token", callAs(f.token("rights-erase-bob"))},
		{"the support chat", keyOfCtx(app.RoleSupportAgent)},
		{"the privacy officer", keyOfCtx(app.RolePrivacyOfficer)},
		{"the marketer", keyOfCtx(app.RoleMarketer)},
	} {
		_, err := f.rights().EraseCustomer(tc.ctx, &candorv1.EraseCustomerRequest{CustomerId: c})
		wantCode(t, tc.name, err, codes.PermissionDenied)
	}

	f.clock.Advance(time.Minute)
	resp, err := f.rights().EraseCustomer(callAs(f.token(c)), &candorv1.EraseCustomerRequest{CustomerId: c})
	if err != nil {
		t.Fatal(err)
	}
	receipt := resp.GetReceipt()
	want := map[string]int64{
		"signals": int64(len(ids)), "consent_decisions": 2, "ledger_entries": 2, "controls": 1, "control_changes": 1,
		"recommendations": 2, "review_cases": 1,
	}
	for kind, n := range want {
		if receipt.GetCounts()[kind] != n {
			t.Errorf("receipt counts %d %s, want %d", receipt.GetCounts()[kind], kind, n)
		}
	}
	if len(receipt.GetCounts()) != len(want) {
		t.Errorf("receipt counts %v", receipt.GetCounts())
	}
	if !strings.HasPrefix(receipt.GetReceiptId(), "erasure_") || !receipt.GetErasedAt().AsTime().Equal(f.clock.Now()) {
		t.Errorf("receipt %v", receipt)
	}
	// The model was trained before the erasure: pending until every
	// server has rebuilt it, a refresh interval later at most.
	if !receipt.GetModelPending() || !receipt.GetModelTrainedAt().AsTime().Before(receipt.GetErasedAt().AsTime()) ||
		!receipt.GetReflectedAtMostUntil().AsTime().Equal(f.clock.Now().Add(f.s.cfg.ModelRefresh)) {
		t.Errorf("receipt model state %v", receipt)
	}

	// Everything is gone; the neighbour is not.
	if keys := f.customerKeys(t, c); len(keys) != 0 {
		t.Errorf("left behind: %v", keys)
	}
	for _, k := range f.r.Keys(t) {
		if strings.Contains(k, rec.GetRecommendationId()) || strings.Contains(k, review.GetCase().GetCaseId()) {
			t.Errorf("left behind: %s", k)
		}
	}
	if got := f.customerKeys(t, "rights-erase-bob"); !slices.Equal(got, bobKeys) {
		t.Errorf("bob's keys %v, were %v", got, bobKeys)
	}
	_, err = f.recs().GetRecommendation(keyOfCtx(app.RolePrivacyOfficer), &candorv1.GetRecommendationRequest{RecommendationId: rec.GetRecommendationId()})
	wantCode(t, "the erased customer's answer", err, codes.NotFound)
	_, err = f.reviewsClient().GetReview(keyOfCtx(app.RolePrivacyOfficer), &candorv1.GetReviewRequest{CaseId: review.GetCase().GetCaseId()})
	wantCode(t, "the erased customer's review case", err, codes.NotFound)
	queue, err := f.reviewsClient().ListReviews(keyOfCtx(app.RolePrivacyOfficer), &candorv1.ListReviewsRequest{})
	if err != nil || len(queue.GetCases()) != 0 {
		t.Errorf("review queue %v (%v)", queue, err)
	}

	// Again, by the storefront over REST: zero counts.
	r, body := f.rest(t, http.MethodDelete, "/v1/customers/"+c, keyOf(app.RoleStorefront), "", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("second erasure: %d %s", r.StatusCode, body)
	}
	var second struct {
		ReceiptID string            `json:"receipt_id"`
		Counts    map[string]string `json:"counts"` // int64 values are JSON strings
	}
	if err := json.Unmarshal(body, &second); err != nil {
		t.Fatal(err)
	}
	for kind, n := range second.Counts {
		if n != "0" {
			t.Errorf("second erasure counts %s %s", n, kind)
		}
	}
	if len(second.Counts) != len(want) || second.ReceiptID == receipt.GetReceiptId() {
		t.Errorf("second receipt %s", body)
	}

	// Receipts name no one: the receipts list is stored as plain JSON (every
	// other value is sealed, and customerKeys above covers key names), so
	// it is searched for the id and the pseudonym as stored.
	keys, err := keyspace.New(f.r.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := f.r.Client.LRange(ctx, keys.ErasureReceipts(), 0, -1).Result()
	if err != nil || len(stored) != 2 {
		t.Fatalf("stored receipts: %d %v", len(stored), err)
	}
	for _, v := range stored {
		for _, personal := range []string{c, string(p)} {
			if strings.Contains(v, personal) {
				t.Errorf("a stored receipt holds %q: %s", personal, v)
			}
		}
	}
	list, err := f.rights().ListErasureReceipts(keyOfCtx(app.RolePrivacyOfficer), &candorv1.ListErasureReceiptsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetReceipts()) != 2 || list.GetReceipts()[0].GetReceiptId() != second.ReceiptID || list.GetReceipts()[1].GetReceiptId() != receipt.GetReceiptId() {
		t.Errorf("receipts %v", list.GetReceipts())
	}
	if js, _ := protojson.Marshal(list); strings.Contains(string(js), c) || strings.Contains(string(js), string(p)) {
		t.Errorf("receipts name the customer: %s", js)
	}
	if list.GetLongestPendingSeconds() != 0 {
		// Erased "now" on the fixture's clock: pending for no time yet.
		t.Errorf("longest pending %d s", list.GetLongestPendingSeconds())
	}
	f.clock.Advance(10 * time.Minute)
	if list, err := f.rights().ListErasureReceipts(keyOfCtx(app.RolePrivacyOfficer), &candorv1.ListErasureReceiptsRequest{}); err != nil || list.GetLongestPendingSeconds() != 600 {
		t.Errorf("longest pending %d s, want 600 (%v)", list.GetLongestPendingSeconds(), err)
	}
	// After a retraining the erasures are no longer pending.
	if err := f.s.TrainNow(ctx); err != nil {
		t.Fatal(err)
	}
	if list, err := f.rights().ListErasureReceipts(keyOfCtx(app.RolePrivacyOfficer), &candorv1.ListErasureReceiptsRequest{}); err != nil || list.GetLongestPendingSeconds() != 0 || len(list.GetReceipts()) == 0 || list.GetReceipts()[0].GetModelPending() {
		t.Errorf("after retraining: %v (%v)", list, err)
	}
	for _, cred := range []string{keyOf(app.RoleStorefront), keyOf(app.RoleSupportAgent), keyOf(app.RoleMarketer), keyOf(app.RoleAdmin), f.token(c)} {
		_, err := f.rights().ListErasureReceipts(callAs(cred), &candorv1.ListErasureReceiptsRequest{})
		wantCode(t, "ListErasureReceipts by "+cred[:8], err, codes.PermissionDenied)
	}
	if r, _ := f.rest(t, http.MethodGet, "/v1/erasures", keyOf(app.RoleStorefront), "", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("storefront GET /v1/erasures: %d", r.StatusCode)
	}
}

// TestLongestPendingSpansEveryPage: the privacy officer's longest-pending
// figure is over every receipt, not only the page asked for.
func TestLongestPendingSpansEveryPage(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	for i, c := range []string{"pending-a", "pending-b", "pending-c"} {
		if i > 0 {
			f.clock.Advance(5 * time.Minute)
		}
		if _, err := f.rights().EraseCustomer(keyOfCtx(app.RoleStorefront), &candorv1.EraseCustomerRequest{CustomerId: c}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(time.Minute)
	// The first page holds the newest receipt only, erased a minute ago;
	// the oldest pending one was erased eleven minutes ago.
	list, err := f.rights().ListErasureReceipts(keyOfCtx(app.RolePrivacyOfficer), &candorv1.ListErasureReceiptsRequest{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetReceipts()) != 1 || !list.GetReceipts()[0].GetModelPending() || list.GetLongestPendingSeconds() != 660 {
		t.Errorf("page of one: %d receipts, longest pending %d s, want 660", len(list.GetReceipts()), list.GetLongestPendingSeconds())
	}
}
