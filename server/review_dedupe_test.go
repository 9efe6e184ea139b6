package server

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/explain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// createOutcome is what one CreateReview call came back with: the case it
// opened, or the code and the case it was refused with.
type createOutcome struct {
	door    string
	created string // the case opened
	code    codes.Code
	pending string // the case an AlreadyExists names
	err     error  // anything else
}

// createConcurrently sends n CreateReview calls of one kind about one answer
// at once, over gRPC (as the customer and as the storefront relaying them)
// and REST (as the customer).
func (f *rightsFixture) createConcurrently(t *testing.T, customer, recID, kind string, n int) []createOutcome {
	t.Helper()
	tok := f.token(customer)
	start := make(chan struct{})
	out := make([]createOutcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			msg := fmt.Sprintf("request %d", i)
			switch i % 3 {
			case 0, 1:
				cred, door := tok, "gRPC as the customer"
				if i%3 == 1 {
					cred, door = keyOf(app.RoleStorefront), "gRPC as the storefront"
				}
				resp, err := f.reviewsClient().CreateReview(callAs(cred), &candorv1.CreateReviewRequest{RecommendationId: recID, Kind: kind, Message: msg})
				o := createOutcome{door: door, code: status.Code(err)}
				switch {
				case err == nil:
					o.created = resp.GetCase().GetCaseId()
				case o.code == codes.AlreadyExists:
					if d := status.Convert(err).Details(); len(d) == 1 {
						if c, ok := d[0].(*candorv1.ReviewCase); ok {
							o.pending = c.GetCaseId()
						}
					}
				default:
					o.err = err
				}
				out[i] = o
			default:
				out[i] = f.restCreate(recID, tok, kind, msg)
			}
		})
	}
	close(start)
	wg.Wait()
	return out
}

// restCreate is CreateReview over REST, safe to call from any goroutine.
func (f *rightsFixture) restCreate(recID, tok, kind, msg string) createOutcome {
	o := createOutcome{door: "REST as the customer"}
	req, err := http.NewRequest(http.MethodPost, f.base+"/v1/recommendations/"+recID+"/reviews",
		strings.NewReader(fmt.Sprintf(`{"kind":%q,"message":%q}`, kind, msg)))
	if err != nil {
		o.err = err
		return o
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := testHTTP.Do(req)
	if err != nil {
		o.err = err
		return o
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		o.err = err
		return o
	}
	// The body names case ids as "case_id":"case_..."; a created case is
	// the only one in its body, a refusal's detail the only one in its.
	id := ""
	if _, rest, ok := strings.Cut(string(body), `"case_id":"`); ok {
		id, _, _ = strings.Cut(rest, `"`)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		o.code, o.created = codes.OK, id
	case http.StatusConflict:
		o.code, o.pending = codes.AlreadyExists, id
	default:
		o.code, o.err = codes.Unknown, fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return o
}

// checkOneCreated: exactly one call opened a case, every other was refused
// with AlreadyExists carrying that case; it returns the case.
func checkOneCreated(t *testing.T, what string, out []createOutcome) string {
	t.Helper()
	var created []string
	for _, o := range out {
		if o.err != nil {
			t.Fatalf("%s: %s: %v", what, o.door, o.err)
		}
		if o.created != "" {
			created = append(created, o.created)
		}
	}
	if len(created) != 1 {
		t.Fatalf("%s: %d of %d concurrent requests opened a case (%v), want exactly 1", what, len(created), len(out), created)
	}
	for _, o := range out {
		if o.created == "" && (o.code != codes.AlreadyExists || o.pending != created[0]) {
			t.Errorf("%s: %s answered %s naming case %q, want AlreadyExists naming %s", what, o.door, o.code, o.pending, created[0])
		}
	}
	return created[0]
}

// TestReviewCreateConcurrent: sixteen requests of one kind about one answer
// at once, over every door, open exactly one case; the fifteen others are
// refused with AlreadyExists carrying it. A request of the other kind is
// its own; once the case is answered, the same kind may be asked again.
func TestReviewCreateConcurrent(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	f.shopper(t, "review-frank")
	rec := f.recommend(t, "review-frank").GetRecommendationId()
	const n = 16

	contest := checkOneCreated(t, "contest", f.createConcurrently(t, "review-frank", rec, explain.ReviewContest, n))
	human := checkOneCreated(t, "human_review", f.createConcurrently(t, "review-frank", rec, explain.ReviewHumanReview, n))
	if human == contest {
		t.Fatalf("the human review request got the contest's case %s", contest)
	}
	cases, err := f.reviewsClient().ListCustomerReviews(callAs(keyOf(app.RoleStorefront)), &candorv1.ListCustomerReviewsRequest{CustomerId: "review-frank"})
	if err != nil || len(cases.GetCases()) != 2 {
		t.Fatalf("the customer's cases after %d concurrent requests of each kind: %v (%v), want 2", n, cases.GetCases(), err)
	}

	// While the contest is in review it still counts; once resolved, a new
	// contest may be opened (again exactly one of many).
	officer := callAs(keyOf(app.RolePrivacyOfficer))
	if _, err := f.reviewsClient().UpdateReview(officer, &candorv1.UpdateReviewRequest{CaseId: contest, Status: explain.ReviewInReview}); err != nil {
		t.Fatal(err)
	}
	_, err = f.reviewsClient().CreateReview(callAs(f.token("review-frank")), &candorv1.CreateReviewRequest{RecommendationId: rec, Kind: explain.ReviewContest, Message: "still?"})
	wantCode(t, "a contest while the first is in review", err, codes.AlreadyExists)
	if _, err := f.reviewsClient().UpdateReview(officer, &candorv1.UpdateReviewRequest{CaseId: contest, Status: explain.ReviewResolved, Reply: "Checked."}); err != nil {
		t.Fatal(err)
	}
	again := checkOneCreated(t, "contest after the first was resolved", f.createConcurrently(t, "review-frank", rec, explain.ReviewContest, n))
	if again == contest {
		t.Fatalf("the new contest is the resolved case %s", contest)
	}
	cases, err = f.reviewsClient().ListCustomerReviews(callAs(keyOf(app.RoleStorefront)), &candorv1.ListCustomerReviewsRequest{CustomerId: "review-frank"})
	if err != nil || len(cases.GetCases()) != 3 {
		t.Fatalf("the customer's cases: %v (%v), want 3", cases.GetCases(), err)
	}
}
