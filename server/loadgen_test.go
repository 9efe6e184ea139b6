package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/redistest"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
	"github.com/candorhq/candor/server/grpcapi"
)

// BenchmarkRecommendVsFloors is the load generator: GetRecommendations over
// gRPC at concurrency 16, with a 10,000-item catalogue and 50 signals per
// customer, answered by the co-occurrence model and then by an ALS model
// trained on the same data, measured in the same run as two floors: a bare gRPC unary call (a health check on a server with no
// interceptors) and a bare go-redis pipeline of five commands. It reports
// throughput, p50 and p99 of each and the ratio of Recommend's p50 to the sum
// of the floors' p50s (the aim is at most 3 at concurrency 16), first one
// request at a time and then at concurrency 16.
//
// Run it against a real Redis (it writes a few hundred thousand keys in its
// own namespace and deletes them after):
//
//	REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench RecommendVsFloors -benchtime 1x ./server/
//
// Each phase sends a fixed number of requests on loopback and stops by itself.
func BenchmarkRecommendVsFloors(b *testing.B) {
	const (
		items       = 10000
		customers   = 2000
		perCustomer = 50
		concurrency = 16
		requests    = 20000
	)
	ctx := context.Background()
	r := redistest.New(b)
	s := benchServer(b, r)
	seedBenchData(b, s, items, customers, perCustomer)
	if err := s.TrainNow(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("model %s: %d items, %d customers, %d signals", s.core.Models().Model().Version, s.core.Models().Model().NumItems(), s.core.Models().Model().Customers, s.core.Models().Model().Signals)

	grpcLis, httpLis := listen(b), listen(b)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx, grpcLis, httpLis) }()
	defer func() { stop(); <-done }()
	conn := dial(b, grpcLis.Addr().String())
	recs := candorv1.NewRecommendationServiceClient(conn)
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+benchKey)

	// Floor 1: a bare gRPC server with only the health service.
	bare := grpc.NewServer()
	healthpb.RegisterHealthServer(bare, health.NewServer())
	bareLis := listen(b)
	go func() { _ = bare.Serve(bareLis) }()
	defer bare.Stop()
	echo := healthpb.NewHealthClient(dial(b, bareLis.Addr().String()))

	// Floor 2: a bare pipeline of five reads on the same Redis.
	pipeKeys := []string{r.Namespace + ":bench:a", r.Namespace + ":bench:b"}
	r.Client.Set(ctx, pipeKeys[0], "x", 0)

	echoCall := func(int) error {
		_, err := echo.Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	pipelineCall := func(int) error {
		_, err := r.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Get(ctx, pipeKeys[0])
			p.HGetAll(ctx, pipeKeys[1])
			p.HGetAll(ctx, pipeKeys[1])
			p.Get(ctx, pipeKeys[0])
			p.Get(ctx, pipeKeys[0])
			return nil
		})
		if err == redis.Nil {
			err = nil
		}
		return err
	}
	recommendCall := func(model string) func(int) error {
		return func(n int) error {
			resp, err := recs.GetRecommendations(authed, &candorv1.GetRecommendationsRequest{
				CustomerId: fmt.Sprintf("bench-%d", n%customers), Surface: "storefront", Limit: 10,
			})
			if err == nil && resp.GetRecommendation().GetItems()[0].GetModel() != model {
				err = fmt.Errorf("answer from %q, want %q", resp.GetRecommendation().GetItems()[0].GetModel(), model)
			}
			return err
		}
	}
	// The ALS model `candor train` would write, trained on the same data and
	// swapped in for the second series of runs.
	als, err := engine.TrainALS(ctx, s.core.Store(), time.Now(), engine.ALSTrainOptions{
		ALS: engine.DefaultALSOptions(), Weights: engine.DefaultWeights(), MinSupport: 3,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("ALS model %s: %d items, %d customers, trained in %s", als.Info.Version, als.Info.Items, als.Info.Customers, als.Info.Duration)

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Sequential first (latency without queueing), then at concurrency
		// 16 (the figure the aim is about).
		for _, c := range []int{1, concurrency} {
			n := requests
			if c == 1 {
				n = requests / 10
			}
			echoStats := load(b, "grpc echo", c, n, echoCall)
			pipeStats := load(b, "redis pipeline x5", c, n, pipelineCall)
			s.core.Models().SwapALS(nil)
			coocStats := load(b, "recommend (cooc)", c, n, recommendCall("cooccurrence"))
			s.core.Models().SwapALS(als)
			alsStats := load(b, "recommend (als)", c, n, recommendCall("als"))
			tag := fmt.Sprintf("c%d-", c)
			for _, r := range []struct {
				name string
				st   loadStats
			}{{"cooc", coocStats}, {"als", alsStats}} {
				b.ReportMetric(r.st.p50.Seconds()*1e3, tag+r.name+"-p50-ms")
				b.ReportMetric(r.st.p99.Seconds()*1e3, tag+r.name+"-p99-ms")
				b.ReportMetric(r.st.throughput, tag+r.name+"-req/s")
				b.ReportMetric(float64(r.st.p50)/float64(echoStats.p50+pipeStats.p50), tag+r.name+"-ratio-p50-to-floors")
			}
			b.ReportMetric(echoStats.p50.Seconds()*1e3, tag+"echo-p50-ms")
			b.ReportMetric(pipeStats.p50.Seconds()*1e3, tag+"pipeline-p50-ms")
		}
	}
}

const benchKey = "bench-storefront-key-0123456789"

func benchServer(tb testing.TB, r *redistest.Redis) *Server {
	tb.Helper()
	k, err := grpcapi.NewAPIKey(app.RoleStorefront, benchKey)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Namespace, cfg.Secret, cfg.APIKeys = r.Namespace, features.GenerateSecret(), []grpcapi.APIKey{k}
	cfg.ModelRefresh = time.Hour
	s, err := New(cfg, r.Client, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// seedBenchData writes the catalogue and customers whose signals cluster in
// 50 groups of 200 items, so the model has real neighbourhoods.
func seedBenchData(tb testing.TB, s *Server, items, customers, perCustomer int) {
	tb.Helper()
	ctx := context.Background()
	now := time.Now()
	batch := make([]features.Item, 0, 1000)
	for i := 0; i < items; i++ {
		batch = append(batch, features.Item{ID: fmt.Sprintf("sku-%05d", i), Title: fmt.Sprintf("Item %d", i), Categories: []string{fmt.Sprintf("group-%d", i%50)}})
		if len(batch) == cap(batch) {
			if err := s.core.Catalog().Upsert(ctx, batch, now); err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	change := consent.Change{
		Choices:       []consent.Choice{{Purpose: consent.Personalization, Granted: true}, {Purpose: consent.ModelTraining, Granted: true}},
		NoticeVersion: "bench", Method: consent.MethodAPI, ActorRole: "bench", At: now,
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for c := w; c < customers; c += 8 {
				p := s.core.Pseudonym(fmt.Sprintf("bench-%d", c))
				if _, err := s.core.Store().ApplyConsent(ctx, p, change); err != nil {
					errs <- err
					return
				}
				group := c % 50
				in := make([]features.SignalInput, perCustomer)
				for k := range in {
					in[k] = features.SignalInput{
						Type:       "view",
						ItemID:     fmt.Sprintf("sku-%05d", 50*rng.IntN(items/50)+group),
						Purposes:   []string{"personalization", "model_training"},
						OccurredAt: now.Add(-time.Duration(1+k) * time.Hour),
					}
				}
				if _, err := s.core.Store().Track(ctx, p, in, now); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
}

type loadStats struct {
	p50, p99   time.Duration
	throughput float64
}

// load sends requests calls of fn from concurrency goroutines and reports
// latency percentiles and throughput.
func load(tb testing.TB, name string, concurrency, requests int, fn func(n int) error) loadStats {
	tb.Helper()
	lat := make([]time.Duration, requests)
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	start := time.Now()
	for g := 0; g < concurrency; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				n := next
				next++
				mu.Unlock()
				if n >= requests {
					return
				}
				t0 := time.Now()
				err := fn(n)
				lat[n] = time.Since(t0)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		tb.Fatalf("%s: %v", name, firstErr)
	}
	slices.Sort(lat)
	st := loadStats{p50: lat[requests/2], p99: lat[requests*99/100], throughput: float64(requests) / elapsed.Seconds()}
	tb.Logf("%-18s %6d requests at concurrency %d: %8.0f req/s  p50 %7.3f ms  p99 %7.3f ms",
		name, requests, concurrency, st.throughput, st.p50.Seconds()*1e3, st.p99.Seconds()*1e3)
	return st
}

func listen(tb testing.TB) net.Listener {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

func dial(tb testing.TB, addr string) *grpc.ClientConn {
	tb.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}
