package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/keyspace"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestReviewCreate: a customer contests their own recommendation (or the
// storefront does on their behalf); nobody else can, and bad input is
// refused with InvalidArgument.
func TestReviewCreate(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	f.shopper(t, "review-alice")
	f.shopper(t, "review-bob")
	rec := f.recommend(t, "review-alice")
	if !rec.GetPersonalized() {
		t.Fatalf("alice's answer is not personalised: %v", rec)
	}
	rc := f.reviewsClient()
	alice := callAs(f.token("review-alice"))

	created, err := rc.CreateReview(alice, &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "contest", Message: "I never looked at these.\nPlease check."})
	if err != nil {
		t.Fatal(err)
	}
	c := created.GetCase()
	if !explain.ValidCaseID(c.GetCaseId()) || c.GetRecommendationId() != rec.GetRecommendationId() || c.GetKind() != "contest" ||
		c.GetStatus() != "open" || c.GetReply() != "" || !c.GetCreatedAt().AsTime().Equal(rfStart) || c.GetMessage() != "I never looked at these.\nPlease check." {
		t.Errorf("case %v", c)
	}
	// The case carries the recommendation as explained, every reason.
	if got := c.GetRecommendation(); got.GetRecommendationId() != rec.GetRecommendationId() || len(got.GetItems()) != len(rec.GetItems()) || len(got.GetItems()[0].GetExplanation().GetReasons()) == 0 {
		t.Errorf("case recommendation %v", got)
	}
	// It names no one.
	if js, _ := protojson.Marshal(c); strings.Contains(string(js), string(f.pseudonym("review-alice"))) || strings.Contains(string(js), "review-alice") {
		t.Errorf("the case names its customer: %s", js)
	}

	// The storefront relays a request for a human review; so does REST.
	if _, err := rc.CreateReview(callAs(keyOf(app.RoleStorefront)), &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "human_review", Message: "Please have a person look."}); err != nil {
		t.Fatal(err)
	}
	// A second request of the same kind while the first is pending is
	// refused, over REST as over gRPC, with the pending case.
	resp, body := f.rest(t, http.MethodPost, "/v1/recommendations/"+rec.GetRecommendationId()+"/reviews", f.token("review-alice"), `{"kind":"human_review","message":"again"}`, nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), `"code":6`) || !strings.Contains(string(body), `"message":"Please have a person look."`) {
		t.Errorf("REST create of a pending kind: %d %s; want 409 AlreadyExists with the pending case", resp.StatusCode, body)
	}
	_, err = rc.CreateReview(alice, &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "contest", Message: "once more"})
	wantCode(t, "a second contest", err, codes.AlreadyExists)
	if st, _ := status.FromError(err); len(st.Details()) != 1 {
		t.Errorf("AlreadyExists carries %d details, want the pending case", len(st.Details()))
	} else if pending, ok := st.Details()[0].(*candorv1.ReviewCase); !ok || pending.GetCaseId() != c.GetCaseId() {
		t.Errorf("AlreadyExists carries %v, want case %s", st.Details()[0], c.GetCaseId())
	}

	unknown := explain.NewID()
	long := strings.Repeat("x", explain.MaxReviewMessage+1)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		req  *candorv1.CreateReviewRequest
		code codes.Code
	}{
		{"another customer's token", callAs(f.token("review-bob")), &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "contest", Message: "m"}, codes.PermissionDenied},
		{"the support chat, about a storefront answer", callAs(keyOf(app.RoleSupportAgent)), &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "contest", Message: "m"}, codes.NotFound},
		{"the marketer", callAs(keyOf(app.RoleMarketer)), &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "contest", Message: "m"}, codes.PermissionDenied},
		{"the privacy officer", callAs(keyOf(app.RolePrivacyOfficer)), &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "contest", Message: "m"}, codes.PermissionDenied},
		{"unknown recommendation", alice, &candorv1.CreateReviewRequest{RecommendationId: unknown, Kind: "contest", Message: "m"}, codes.NotFound},
		{"malformed recommendation id", alice, &candorv1.CreateReviewRequest{RecommendationId: "rec_1", Kind: "contest", Message: "m"}, codes.InvalidArgument},
		{"no kind", alice, &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Message: "m"}, codes.InvalidArgument},
		{"unknown kind", alice, &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "complaint", Message: "m"}, codes.InvalidArgument},
		{"no message", alice, &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "contest", Message: " \n "}, codes.InvalidArgument},
		{"message too long", alice, &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "contest", Message: long}, codes.InvalidArgument},
		{"control characters", alice, &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "contest", Message: "a\x00b"}, codes.InvalidArgument},
	} {
		_, err := rc.CreateReview(tc.ctx, tc.req)
		wantCode(t, tc.name, err, tc.code)
	}
	// An expired recommendation can no longer be contested.
	f.clock.Advance(f.s.cfg.ExplanationRetention)
	_, err = rc.CreateReview(callAs(f.token("review-alice")), &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "contest", Message: "late"})
	wantCode(t, "expired recommendation", err, codes.NotFound)

	cases, err := f.s.core.Reviews().Customer(context.Background(), f.pseudonym("review-alice"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 2 {
		t.Errorf("alice has %d cases, want 2 (refused calls must write nothing)", len(cases))
	}
	if cases, _ := f.s.core.Reviews().Customer(context.Background(), f.pseudonym("review-bob")); len(cases) != 0 {
		t.Errorf("bob has %d cases", len(cases))
	}
}

// TestReviewWorkflow: the privacy officer works the queue (open, then
// in_review, then resolved or rejected with a reply the customer sees).
func TestReviewWorkflow(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	f.shopper(t, "review-carol")
	f.grant(t, "review-carol", consent.Support)
	rec := f.recommend(t, "review-carol")
	rc := f.reviewsClient()
	carol := callAs(f.token("review-carol"))
	officer := callAs(keyOf(app.RolePrivacyOfficer))

	// Two requests about the first answer, one about a second (a second
	// contest of the same answer would wait for the first).
	later := f.recommend(t, "review-carol")
	var ids []string
	for i, kind := range []string{"contest", "human_review", "contest"} {
		f.clock.Advance(time.Second) // distinct creation times, so the queue order is defined
		about := rec.GetRecommendationId()
		if i == 2 {
			about = later.GetRecommendationId()
		}
		resp, err := rc.CreateReview(carol, &candorv1.CreateReviewRequest{RecommendationId: about, Kind: kind, Message: fmt.Sprintf("case %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.GetCase().GetCaseId())
	}
	queue := func(status string) []string {
		t.Helper()
		resp, err := rc.ListReviews(officer, &candorv1.ListReviewsRequest{Status: status})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range resp.GetCases() {
			if status != "" && c.GetStatus() != status {
				t.Errorf("the %s queue holds a case of status %s", status, c.GetStatus())
			}
			out = append(out, c.GetCaseId())
		}
		return out
	}
	// The default queue is "open", oldest first.
	if got := queue(""); !slices.Equal(got, ids) {
		t.Errorf("open queue %v, want %v", got, ids)
	}
	// Paging.
	page, err := rc.ListReviews(officer, &candorv1.ListReviewsRequest{PageSize: 2})
	if err != nil || len(page.GetCases()) != 2 || page.GetNextPageToken() == "" {
		t.Fatalf("first page %v (%v)", page, err)
	}
	page, err = rc.ListReviews(officer, &candorv1.ListReviewsRequest{PageSize: 2, PageToken: page.GetNextPageToken()})
	if err != nil || len(page.GetCases()) != 1 || page.GetCases()[0].GetCaseId() != ids[2] || page.GetNextPageToken() != "" {
		t.Fatalf("second page %v (%v)", page, err)
	}

	// The officer reads a case with its explanation attached.
	got, err := rc.GetReview(officer, &candorv1.GetReviewRequest{CaseId: ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	if r := got.GetCase().GetRecommendation(); r.GetRecommendationId() != rec.GetRecommendationId() || len(r.GetItems()) == 0 || len(r.GetItems()[0].GetExplanation().GetReasons()) == 0 {
		t.Errorf("case without its explanation: %v", got.GetCase())
	}

	update := func(id, status, reply string) (*candorv1.ReviewCase, error) {
		resp, err := rc.UpdateReview(officer, &candorv1.UpdateReviewRequest{CaseId: id, Status: status, Reply: reply})
		return resp.GetCase(), err
	}
	f.clock.Advance(time.Minute)
	c, err := update(ids[0], "in_review", "")
	if err != nil || c.GetStatus() != "in_review" || !c.GetUpdatedAt().AsTime().Equal(f.clock.Now()) || c.GetCreatedAt().AsTime().Equal(f.clock.Now()) {
		t.Fatalf("to in_review: %v (%v)", c, err)
	}
	if got := queue("in_review"); !slices.Equal(got, ids[:1]) {
		t.Errorf("in_review queue %v", got)
	}
	if got := queue("open"); !slices.Equal(got, ids[1:]) {
		t.Errorf("open queue %v", got)
	}
	// Resolving or rejecting needs a reply the customer can read.
	for _, st := range []string{"resolved", "rejected"} {
		_, err := update(ids[0], st, "")
		wantCode(t, st+" without a reply", err, codes.InvalidArgument)
		_, err = update(ids[0], st, "  ")
		wantCode(t, st+" with a blank reply", err, codes.InvalidArgument)
	}
	for _, bad := range []struct{ name, status, reply string }{
		{"unknown status", "closed", "r"},
		{"no status", "", "r"},
		{"reply too long", "resolved", strings.Repeat("r", explain.MaxReviewReply+1)},
		{"control characters in the reply", "resolved", "ok\x07"},
	} {
		_, err := update(ids[0], bad.status, bad.reply)
		wantCode(t, bad.name, err, codes.InvalidArgument)
	}
	if c, err := update(ids[0], "resolved", "We checked: these came from your views of cat-0 items."); err != nil || c.GetStatus() != "resolved" {
		t.Fatalf("resolve: %v (%v)", c, err)
	}
	if c, err := update(ids[1], "rejected", "A person looked and the answer stands."); err != nil || c.GetStatus() != "rejected" {
		t.Fatalf("reject: %v (%v)", c, err)
	}
	if got := queue("in_review"); len(got) != 0 {
		t.Errorf("in_review queue %v after resolving", got)
	}
	if got := queue("resolved"); !slices.Equal(got, ids[:1]) {
		t.Errorf("resolved queue %v", got)
	}
	_, err = update(explain.NewID(), "resolved", "r")
	wantCode(t, "a recommendation id as case id", err, codes.InvalidArgument)
	_, err = update("case_"+strings.Repeat("a", 24), "resolved", "r")
	wantCode(t, "unknown case", err, codes.NotFound)
	_, err = rc.GetReview(officer, &candorv1.GetReviewRequest{CaseId: "case_" + strings.Repeat("a", 24)})
	wantCode(t, "GetReview of an unknown case", err, codes.NotFound)
	_, err = rc.ListReviews(officer, &candorv1.ListReviewsRequest{Status: "closed"})
	wantCode(t, "ListReviews of an unknown status", err, codes.InvalidArgument)

	// The customer sees status and reply, newest first, over gRPC and REST.
	mine, err := rc.ListCustomerReviews(carol, &candorv1.ListCustomerReviewsRequest{CustomerId: "review-carol"})
	if err != nil {
		t.Fatal(err)
	}
	var statuses, replies []string
	for _, c := range mine.GetCases() {
		statuses = append(statuses, c.GetStatus())
		replies = append(replies, c.GetReply())
	}
	if !slices.Equal(statuses, []string{"open", "rejected", "resolved"}) || replies[1] != "A person looked and the answer stands." || !strings.HasPrefix(replies[2], "We checked") {
		t.Errorf("customer sees %v %q", statuses, replies)
	}
	resp, body := f.rest(t, http.MethodGet, "/v1/customers/review-carol/reviews", f.token("review-carol"), "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "A person looked") {
		t.Errorf("REST list: %d %s", resp.StatusCode, body)
	}
	// The storefront and the officer read the list too; the support chat,
	// which may not read storefront answers, sees none of these cases
	// (they are all about storefront answers).
	for r, want := range map[app.Role]int{app.RoleStorefront: 3, app.RolePrivacyOfficer: 3, app.RoleSupportAgent: 0} {
		if resp, err := rc.ListCustomerReviews(callAs(keyOf(r)), &candorv1.ListCustomerReviewsRequest{CustomerId: "review-carol"}); err != nil || len(resp.GetCases()) != want {
			t.Errorf("%s lists %d cases, want %d (%v)", r, len(resp.GetCases()), want, err)
		}
	}
}

// TestReviewAccess: who may call what.
func TestReviewAccess(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	f.shopper(t, "review-dan")
	rec := f.recommend(t, "review-dan")
	rc := f.reviewsClient()
	created, err := rc.CreateReview(callAs(f.token("review-dan")), &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "contest", Message: "m"})
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetCase().GetCaseId()
	officerOnly := func(ctx context.Context) []error {
		_, e1 := rc.ListReviews(ctx, &candorv1.ListReviewsRequest{})
		_, e2 := rc.GetReview(ctx, &candorv1.GetReviewRequest{CaseId: id})
		_, e3 := rc.UpdateReview(ctx, &candorv1.UpdateReviewRequest{CaseId: id, Status: "rejected", Reply: "no"})
		return []error{e1, e2, e3}
	}
	for _, cred := range []string{f.token("review-dan"), keyOf(app.RoleStorefront), keyOf(app.RoleSupportAgent), keyOf(app.RoleMarketer), keyOf(app.RoleAdmin)} {
		for i, err := range officerOnly(callAs(cred)) {
			wantCode(t, fmt.Sprintf("officer method %d with %.12s", i, cred), err, codes.PermissionDenied)
		}
	}
	for _, cred := range []string{f.token("someone-else"), keyOf(app.RoleMarketer), keyOf(app.RoleAdmin)} {
		_, err := rc.ListCustomerReviews(callAs(cred), &candorv1.ListCustomerReviewsRequest{CustomerId: "review-dan"})
		wantCode(t, fmt.Sprintf("ListCustomerReviews with %.12s", cred), err, codes.PermissionDenied)
	}
	resp, _ := f.rest(t, http.MethodGet, "/v1/reviews", keyOf(app.RoleMarketer), "", nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("marketer GET /v1/reviews: %d", resp.StatusCode)
	}
	resp, body := f.rest(t, http.MethodGet, "/v1/reviews/"+id, keyOf(app.RolePrivacyOfficer), "", nil)
	var got struct {
		Case struct {
			Status string `json:"status"`
		} `json:"case"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &got) != nil || got.Case.Status != "open" {
		t.Errorf("officer GET /v1/reviews/{id}: %d %s", resp.StatusCode, body)
	}
	if c, _ := f.s.core.Reviews().Get(context.Background(), id); c.Status != "open" {
		t.Errorf("a refused update changed the case to %s", c.Status)
	}
}

// TestReviewConcurrentUpdates: whatever order updates land in, a case is
// in exactly one queue, the one of its status.
func TestReviewConcurrentUpdates(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	f.shopper(t, "review-erin")
	rec := f.recommend(t, "review-erin")
	created, err := f.reviewsClient().CreateReview(callAs(f.token("review-erin")), &candorv1.CreateReviewRequest{RecommendationId: rec.GetRecommendationId(), Kind: "contest", Message: "m"})
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetCase().GetCaseId()
	// Eight writers on one case: an update either lands or, when the case
	// kept changing under it, is refused as Aborted (retryable) having
	// changed nothing; either way the case is filed in exactly one queue.
	var wg sync.WaitGroup
	var landed atomic.Int64
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			for i := 0; i < 40; i++ {
				st := explain.ReviewStatuses[(w+i)%len(explain.ReviewStatuses)]
				_, err := f.reviewsClient().UpdateReview(callAs(keyOf(app.RolePrivacyOfficer)), &candorv1.UpdateReviewRequest{CaseId: id, Status: st, Reply: "r"})
				switch status.Code(err) {
				case codes.OK:
					landed.Add(1)
				case codes.Aborted:
				default:
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if landed.Load() == 0 {
		t.Fatal("no update landed")
	}
	c, err := f.s.core.Reviews().Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyspace.New(f.r.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range explain.ReviewStatuses {
		resp, err := f.reviewsClient().ListReviews(callAs(keyOf(app.RolePrivacyOfficer)), &candorv1.ListReviewsRequest{Status: st})
		if err != nil {
			t.Fatal(err)
		}
		if listed := len(resp.GetCases()) == 1; listed != (st == c.Status) {
			t.Errorf("case of status %s: listed as %s: %v", c.Status, st, listed)
		}
		// And the queues themselves hold it once (under its handle).
		err = f.r.Client.ZScore(context.Background(), keys.ReviewQueue(st), explain.CaseHandle(features.NewCodec(f.s.cfg.Secret), id)).Err()
		if in := err == nil; in != (st == c.Status) {
			t.Errorf("case of status %s: in the %s queue: %v", c.Status, st, in)
		}
	}
}
