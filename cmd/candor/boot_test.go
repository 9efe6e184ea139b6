package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/candorhq/candor/internal/redistest"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// testServer is the real candor, booted through the same flag parsing and
// serve function as the binary, on free loopback ports, over the test's Redis
// (REDIS_URL in CI, the embedded server otherwise) or a store the test gives.
type testServer struct {
	// redis is the test's Redis when startServer made it; nil when the
	// test gave the store (startServerOn).
	redis *redistest.Redis
	// redisURL and namespace are the store the server runs on, as given to
	// its --redis-url and --namespace.
	redisURL  string
	namespace string
	grpcAddr  string
	httpURL   string
	keys      map[string]string // role -> API key
	env       map[string]string // the server's environment (secrets)
	logs      *syncBuffer
	conn      *grpc.ClientConn
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func randomKey(tb testing.TB) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// startServer boots the server over a fresh namespace of the test's Redis.
func startServer(tb testing.TB, extraArgs ...string) *testServer {
	tb.Helper()
	r := redistest.New(tb)
	ts := startServerOn(tb, r.URL, r.Namespace, extraArgs...)
	ts.redis = r
	return ts
}

// startServerOn boots the server over the given store: --redis-url (one
// redis:// URL, or a comma-separated list of cluster nodes) and --namespace.
// The server stops when the test ends, before any cleanup registered earlier
// (such as the store's) runs.
func startServerOn(tb testing.TB, redisURL, namespace string, extraArgs ...string) *testServer {
	tb.Helper()
	ts := &testServer{redisURL: redisURL, namespace: namespace, logs: &syncBuffer{}, keys: map[string]string{}}
	var apiKeys []string
	for _, role := range []string{"storefront", "support_agent", "marketer", "privacy_officer", "admin"} {
		ts.keys[role] = randomKey(tb)
		apiKeys = append(apiKeys, role+":"+ts.keys[role])
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		tb.Fatal(err)
	}
	env := map[string]string{
		"CANDOR_PSEUDONYM_KEY": base64.StdEncoding.EncodeToString(secret),
		"CANDOR_API_KEYS":      strings.Join(apiKeys, ","),
	}
	ts.env = env
	args := append([]string{
		"--grpc-addr=127.0.0.1:0", "--http-addr=127.0.0.1:0",
		"--redis-url=" + redisURL, "--namespace=" + namespace,
		"--log-format=json", "--log-level=debug",
	}, extraArgs...)
	opts, err := parseServeFlags(args, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		tb.Fatalf("flags: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, opts, io.Discard, ts.logs, func(g, h string) { addrs <- [2]string{g, h} })
	}()
	select {
	case a := <-addrs:
		ts.grpcAddr, ts.httpURL = a[0], "http://"+a[1]
	case err := <-done:
		cancel()
		tb.Fatalf("server did not start: %v\n%s", err, ts.logs)
	case <-time.After(30 * time.Second):
		cancel()
		tb.Fatal("server did not start within 30s")
	}
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("server stopped with %v", err)
			}
		case <-time.After(20 * time.Second):
			tb.Error("server did not stop within 20s of cancellation")
		}
	})
	conn, err := grpc.NewClient(ts.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	ts.conn = conn
	ts.waitReady(tb)
	return ts
}

func (ts *testServer) waitReady(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := testHTTP.Get(ts.httpURL + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatal("server not ready within 20s")
}

// ctx returns a context carrying the role's API key for gRPC calls.
func (ts *testServer) ctx(role string) context.Context {
	ctx := context.Background()
	if role == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+ts.keys[role])
}

func (ts *testServer) consent() candorv1.ConsentServiceClient {
	return candorv1.NewConsentServiceClient(ts.conn)
}
func (ts *testServer) signals() candorv1.SignalServiceClient {
	return candorv1.NewSignalServiceClient(ts.conn)
}
func (ts *testServer) recs() candorv1.RecommendationServiceClient {
	return candorv1.NewRecommendationServiceClient(ts.conn)
}

// testHTTP is the tests' HTTP client: no request may hang a test.
var testHTTP = &http.Client{Timeout: 30 * time.Second}

// rest sends a JSON request as role ("" for none) and returns the status and
// the decoded body.
func (ts *testServer) rest(tb testing.TB, role, method, path, body string) (int, map[string]any) {
	tb.Helper()
	code, raw := ts.restRaw(tb, role, method, path, body)
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			tb.Fatalf("%s %s: answer is not JSON (%v): %s", method, path, err, raw)
		}
	}
	return code, out
}

// restRaw is rest returning the body as sent.
func (ts *testServer) restRaw(tb testing.TB, role, method, path, body string) (int, []byte) {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.httpURL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+ts.keys[role])
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := testHTTP.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, raw
}

// mustREST is rest that requires a 200.
func (ts *testServer) mustREST(tb testing.TB, role, method, path, body string) map[string]any {
	tb.Helper()
	code, out := ts.rest(tb, role, method, path, body)
	if code != http.StatusOK {
		tb.Fatalf("%s %s: status %d: %v", method, path, code, out)
	}
	return out
}

// seedCatalog puts 30 items in three categories (every 7th promotional).
func (ts *testServer) seedCatalog(tb testing.TB) {
	tb.Helper()
	var items []string
	for i := 0; i < 30; i++ {
		items = append(items, fmt.Sprintf(`{"item_id":"sku-%02d","title":"Item %d","categories":["cat-%d"],"promotional":%t}`, i, i, i%3, i%7 == 6))
	}
	ts.mustREST(tb, "admin", "POST", "/v1/catalog/items:batchUpsert", `{"items":[`+strings.Join(items, ",")+`]}`)
}

// seedPopulation gives the model something to learn: customers who consent
// to model training and view items of one category each.
func (ts *testServer) seedPopulation(tb testing.TB, n int) {
	tb.Helper()
	for c := 0; c < n; c++ {
		id := fmt.Sprintf("population-%d", c)
		_, err := ts.consent().UpdateConsents(ts.ctx("storefront"), &candorv1.UpdateConsentsRequest{
			CustomerId: id, NoticeVersion: "v1", Method: "api",
			Choices: []*candorv1.ConsentChoice{{Purpose: "model_training", Granted: true}},
		})
		if err != nil {
			tb.Fatal(err)
		}
		var sigs []*candorv1.SignalInput
		for k := 0; k < 6; k++ {
			sigs = append(sigs, &candorv1.SignalInput{Type: "view", ItemId: fmt.Sprintf("sku-%02d", 3*((c+k)%10)+c%3), Purposes: []string{"model_training"}})
		}
		if _, err := ts.signals().TrackSignals(ts.ctx("storefront"), &candorv1.TrackSignalsRequest{CustomerId: id, Signals: sigs}); err != nil {
			tb.Fatal(err)
		}
	}
}
