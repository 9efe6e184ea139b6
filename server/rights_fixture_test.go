package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/redistest"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
	"github.com/candorhq/candor/server/grpcapi"
)

// rightsFixture is a running Server (New, then Run on loopback listeners:
// gRPC and the REST gateway with every interceptor) over the test's Redis,
// with a catalogue, a population the item model learns from, one API key
// per role, and a clock the test moves. Customers are seeded through the
// store; the calls under test go over the wire.
type rightsFixture struct {
	s     *Server
	r     *redistest.Redis
	conn  *grpc.ClientConn
	base  string // http://127.0.0.1:port
	clock *rfClock
	logs  *syncBuffer // what the server logged, as JSON lines
}

// syncBuffer is a log sink the server's goroutines share with the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// rfKeys are the fixture's API keys, one per role.
var rfKeys = map[app.Role]string{
	app.RoleStorefront:     "rf-storefront-key-0123456789",
	app.RoleSupportAgent:   "rf-support-key-0123456789",
	app.RoleMarketer:       "rf-marketer-key-0123456789",
	app.RolePrivacyOfficer: "rf-privacy-officer-key-0123456789",
	app.RoleAdmin:          "rf-admin-key-0123456789",
}

// rfStart is the fixture clock's first reading.
var rfStart = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

type rfClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *rfClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *rfClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newRightsFixture(t *testing.T) *rightsFixture {
	t.Helper()
	r := redistest.New(t)
	var keys []grpcapi.APIKey
	for role, key := range rfKeys {
		k, err := grpcapi.NewAPIKey(role, key)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	cfg := DefaultConfig()
	cfg.Namespace, cfg.Secret, cfg.APIKeys = r.Namespace, features.GenerateSecret(), keys
	cfg.Train.MinSupport = 2
	cfg.ModelRefresh = time.Hour // no retraining while a test runs
	f := &rightsFixture{r: r, clock: &rfClock{t: rfStart}}
	f.logs = &syncBuffer{}
	s, err := New(cfg, r.Client, Options{Now: f.clock.Now, Logger: slog.New(slog.NewJSONHandler(f.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f.s = s
	ctx := context.Background()

	// Twelve items in three categories; nine customers each view every
	// item of one category, for model training.
	var items []features.Item
	for i := 0; i < 12; i++ {
		items = append(items, features.Item{ID: fmt.Sprintf("sku-%02d", i), Title: fmt.Sprintf("Item %d", i), Categories: []string{fmt.Sprintf("cat-%d", i%3)}})
	}
	if err := s.core.Catalog().Upsert(ctx, items, rfStart.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 9; c++ {
		id := fmt.Sprintf("population-%d", c)
		f.grant(t, id, consent.ModelTraining)
		var in []features.SignalInput
		for i := c % 3; i < 12; i += 3 {
			in = append(in, features.SignalInput{Type: "view", ItemID: fmt.Sprintf("sku-%02d", i), Purposes: []string{"model_training"}, OccurredAt: rfStart.Add(-time.Hour)})
		}
		f.track(t, id, in...)
	}
	if err := s.TrainNow(ctx); err != nil {
		t.Fatal(err)
	}

	grpcLis, httpLis := listen(t), listen(t)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx, grpcLis, httpLis) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	f.conn = dial(t, grpcLis.Addr().String())
	f.base = "http://" + httpLis.Addr().String()
	return f
}

// pseudonym is how the server names a customer.
func (f *rightsFixture) pseudonym(customer string) features.Pseudonym {
	return f.s.core.Pseudonym(customer)
}

// grant records consent to purposes for a customer, through the store.
func (f *rightsFixture) grant(t testing.TB, customer string, purposes ...consent.Purpose) {
	t.Helper()
	var choices []consent.Choice
	for _, p := range purposes {
		choices = append(choices, consent.Choice{Purpose: p, Granted: true})
	}
	if _, err := f.s.core.Store().ApplyConsent(context.Background(), f.pseudonym(customer), consent.Change{
		Choices: choices, NoticeVersion: "v1", Method: consent.MethodAPI, ActorRole: "storefront", At: f.clock.Now().Add(-48 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
}

// track stores signals for a customer through the store and returns their
// ids; every one must be stored.
func (f *rightsFixture) track(t testing.TB, customer string, in ...features.SignalInput) []string {
	t.Helper()
	res, err := f.s.core.Store().Track(context.Background(), f.pseudonym(customer), in, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(res))
	for i, r := range res {
		if !r.Stored {
			t.Fatalf("signal %d not stored: %s", i, r.Reason)
		}
		ids[i] = r.SignalID
	}
	return ids
}

// rfView is a personalisation view of item, hours ago.
func rfView(item string, hoursAgo int) features.SignalInput {
	return features.SignalInput{Type: "view", ItemID: item, Purposes: []string{"personalization"}, OccurredAt: rfStart.Add(-time.Duration(hoursAgo) * time.Hour)}
}

// shopper seeds a customer who consents to personalisation and viewed the
// items of category 0, and returns the signal ids.
func (f *rightsFixture) shopper(t testing.TB, customer string) []string {
	t.Helper()
	f.grant(t, customer, consent.Personalization)
	return f.track(t, customer, rfView("sku-00", 1), rfView("sku-03", 2), rfView("sku-06", 3))
}

// token mints a customer token, as CreateCustomerToken does.
func (f *rightsFixture) token(customer string) string {
	tok, _, err := f.s.core.CreateCustomerToken(context.Background(), storefront, customer, 10*time.Minute)
	if err != nil {
		panic(err)
	}
	return tok
}

// callAs returns a context carrying a credential (an API key or a customer
// token) and any further metadata pairs.
func callAs(credential string, kv ...string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), append([]string{"authorization", "Bearer " + credential}, kv...)...)
}

// keyOf is the credential of a role's API key.
func keyOf(r app.Role) string { return rfKeys[r] }

func (f *rightsFixture) rights() candorv1.RightsServiceClient {
	return candorv1.NewRightsServiceClient(f.conn)
}

func (f *rightsFixture) reviewsClient() candorv1.ReviewServiceClient {
	return candorv1.NewReviewServiceClient(f.conn)
}

func (f *rightsFixture) consents() candorv1.ConsentServiceClient {
	return candorv1.NewConsentServiceClient(f.conn)
}

func (f *rightsFixture) recs() candorv1.RecommendationServiceClient {
	return candorv1.NewRecommendationServiceClient(f.conn)
}

// recommend asks for a storefront answer over gRPC, as the storefront.
func (f *rightsFixture) recommend(t testing.TB, customer string) *candorv1.Recommendation {
	t.Helper()
	resp, err := f.recs().GetRecommendations(callAs(keyOf(app.RoleStorefront)), &candorv1.GetRecommendationsRequest{CustomerId: customer, Surface: "storefront", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetRecommendation()
}

// rest sends a REST request with a credential (empty for none), a JSON body
// (empty for none) and headers, and returns the response with its body.
func (f *rightsFixture) rest(t testing.TB, method, path, credential, body string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if credential != "" {
		req.Header.Set("Authorization", "Bearer "+credential)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	resp, err := testHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// ledger returns a customer's consent ledger, oldest first.
func (f *rightsFixture) ledger(t testing.TB, customer string) []consent.LedgerEntry {
	t.Helper()
	var out []consent.LedgerEntry
	if err := f.s.core.Store().EachLedgerEntry(context.Background(), f.pseudonym(customer), func(e consent.LedgerEntry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// consentOf returns a customer's consent state.
func (f *rightsFixture) consentOf(t testing.TB, customer string) consent.State {
	t.Helper()
	st, err := f.s.core.Store().Consent(context.Background(), f.pseudonym(customer))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// signals returns a customer's stored signals by id.
func (f *rightsFixture) signals(t testing.TB, customer string) map[string]features.Signal {
	t.Helper()
	out := map[string]features.Signal{}
	if err := f.s.core.Store().EachSignal(context.Background(), f.pseudonym(customer), func(s features.Signal) error {
		out[s.ID] = s
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantCode fails unless err has the gRPC code.
func wantCode(t testing.TB, what string, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

// customerKeys lists the Redis keys of one customer (in their hash tag).
func (f *rightsFixture) customerKeys(t testing.TB, customer string) []string {
	t.Helper()
	var out []string
	tag := "{u:" + string(f.pseudonym(customer)) + "}"
	for _, k := range f.r.Keys(t) {
		if strings.Contains(k, tag) {
			out = append(out, k)
		}
	}
	return out
}

// testHTTP is the tests' HTTP client: no request may hang a test.
var testHTTP = &http.Client{Timeout: 30 * time.Second}
