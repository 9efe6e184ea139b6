package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/keyspace"
	"github.com/candorhq/candor/internal/redistest"
)

// The benchmarks of the customer-rights issue: erasing a customer who holds
// 10,000 signals, and exporting a customer who holds 100,000 (time and peak
// heap). Each reports the median and p99 of a fixed number of runs and the
// ratio to a floor measured in the same run on the same Redis. Run them
// against a real Redis:
//
//	REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench 'EraseCustomer|ExportCustomer' -benchtime 1x ./server/

// seedHeavyCustomer gives one customer consent and n view signals, a minute
// apart, written 500 at a time (the most one call takes).
func seedHeavyCustomer(tb testing.TB, s *Server, p features.Pseudonym, n int, now time.Time) {
	tb.Helper()
	ctx := context.Background()
	change := consent.Change{
		Choices:       []consent.Choice{{Purpose: consent.Personalization, Granted: true}, {Purpose: consent.ModelTraining, Granted: true}},
		NoticeVersion: "bench", Method: consent.MethodAPI, ActorRole: "bench", At: now,
	}
	if _, err := s.core.Store().ApplyConsent(ctx, p, change); err != nil {
		tb.Fatal(err)
	}
	batch := make([]features.SignalInput, 0, features.MaxSignalsPerCall)
	for i := 0; i < n; i++ {
		batch = append(batch, features.SignalInput{
			Type:       "view",
			ItemID:     fmt.Sprintf("sku-%05d", i%10000),
			Purposes:   []string{"personalization", "model_training"},
			OccurredAt: now.Add(-time.Duration(i+1) * time.Minute),
		})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := s.core.Store().Track(ctx, p, batch, now); err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// percentiles returns the median and the 99th percentile of ds.
func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[(len(s)*99)/100]
}

// BenchmarkEraseCustomer erases a customer holding 10,000 signals, a
// consent ledger and stored recommendations, through the same path as
// RightsService/EraseCustomer (find the global records, delete them, delete
// the customer's slot in one transaction, write the receipt). The floor is a
// bare DEL of a hash of 10,000 fields of the same size on the same Redis.
func BenchmarkEraseCustomer(b *testing.B) {
	const (
		signals = 10000
		runs    = 20
	)
	ctx := context.Background()
	r := redistest.New(b)
	s := benchServer(b, r)
	now := time.Now()

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var erase, floor []time.Duration
		for run := 0; run < runs; run++ {
			b.StopTimer()
			p := s.core.Pseudonym(fmt.Sprintf("erase-bench-%d-%d", i, run))
			seedHeavyCustomer(b, s, p, signals, now)
			for k := 0; k < 3; k++ {
				if _, err := s.recommend(ctx, fmt.Sprintf("erase-bench-%d-%d", i, run)); err != nil {
					b.Fatal(err)
				}
			}
			// The floor's hash: as many fields, values as long as sealed signals.
			floorKey := r.Namespace + ":bench:floor"
			sample, err := r.Client.HRandField(ctx, signalsKey(b, r, p), 1).Result()
			if err != nil || len(sample) != 1 {
				b.Fatalf("sample signal: %v", err)
			}
			value, err := r.Client.HGet(ctx, signalsKey(b, r, p), sample[0]).Result()
			if err != nil {
				b.Fatal(err)
			}
			fields := make([]any, 0, 2*signals)
			for f := 0; f < signals; f++ {
				fields = append(fields, fmt.Sprintf("sig_%026d", f), value)
			}
			if err := r.Client.HSet(ctx, floorKey, fields...).Err(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()

			t0 := time.Now()
			if err := r.Client.Del(ctx, floorKey).Err(); err != nil {
				b.Fatal(err)
			}
			floor = append(floor, time.Since(t0))

			t0 = time.Now()
			receipt, err := s.core.EraseCustomer(ctx, storefront, fmt.Sprintf("erase-bench-%d-%d", i, run))
			erase = append(erase, time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
			if receipt.Counts["signals"] != signals {
				b.Fatalf("receipt counts %d signals, want %d", receipt.Counts["signals"], signals)
			}
		}
		e50, e99 := percentiles(erase)
		f50, f99 := percentiles(floor)
		b.Logf("erase (%d signals) x%d: p50 %.2f ms p99 %.2f ms; floor DEL of a %d-field hash: p50 %.2f ms p99 %.2f ms; ratio p50 %.2f",
			signals, runs, ms(e50), ms(e99), signals, ms(f50), ms(f99), float64(e50)/float64(f50))
		b.ReportMetric(ms(e50), "erase-p50-ms")
		b.ReportMetric(ms(e99), "erase-p99-ms")
		b.ReportMetric(ms(f50), "floor-del-p50-ms")
		b.ReportMetric(float64(e50)/float64(f50), "ratio-p50-to-floor")
	}
}

// recommend asks for one storefront recommendation, so the customer has a
// stored explanation.
func (s *Server) recommend(ctx context.Context, customerID string) (string, error) {
	rec, err := s.recommendAs(ctx, app.RoleStorefront, app.RecommendRequest{CustomerID: customerID, Surface: "storefront", Limit: 10})
	if err != nil {
		return "", err
	}
	return rec.GetRecommendationId(), nil
}

// BenchmarkExportCustomer downloads the export of a customer holding
// 10,000 and then 100,000 signals over REST (the privacy center's and the
// API's path: gateway, gRPC stream, Redis HSCAN), discarding the body as it
// arrives. It reports the time (default collector settings), the
// document's size and, from one more download, the peak growth of the
// process's heap over its level before it (server and client share the
// process; sampled every millisecond with the collector set to GOGC=10 for
// that download, so the peak is close to what is live rather than garbage
// waiting for a collection). Streaming shows as a peak that
// does not grow with the document. The floor is reading the same signals
// hash with HSCAN and nothing else.
func BenchmarkExportCustomer(b *testing.B) {
	for _, signals := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("signals=%d", signals), func(b *testing.B) { benchExport(b, signals) })
	}
}

func benchExport(b *testing.B, signals int) {
	const runs = 5
	ctx := context.Background()
	r := redistest.New(b)
	s := benchServer(b, r)
	now := time.Now()
	const customer = "export-bench"
	p := s.core.Pseudonym(customer)
	seedHeavyCustomer(b, s, p, signals, now)

	grpcLis, httpLis := listen(b), listen(b)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx, grpcLis, httpLis) }()
	defer func() { stop(); <-done }()
	url := "http://" + httpLis.Addr().String() + "/v1/customers/" + customer + "/export"

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var took, floor []time.Duration
		var peak, size int64
		for run := 0; run < runs; run++ {
			t0 := time.Now()
			var cursor uint64
			n := 0
			for {
				batch, next, err := r.Client.HScan(ctx, signalsKey(b, r, p), cursor, "", 1000).Result()
				if err != nil {
					b.Fatal(err)
				}
				n += len(batch) / 2
				if cursor = next; cursor == 0 {
					break
				}
			}
			floor = append(floor, time.Since(t0))
			if n < signals {
				b.Fatalf("floor read %d signals, want %d", n, signals)
			}

			t0 = time.Now()
			n64, err := download(url)
			took = append(took, time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
			size = n64
		}
		// One more download for the memory figure, with the collector
		// keeping garbage low.
		old := debug.SetGCPercent(10)
		runtime.GC()
		sampler := startHeapSampler()
		_, err := download(url)
		peak = sampler.stop()
		debug.SetGCPercent(old)
		if err != nil {
			b.Fatal(err)
		}
		t50, t99 := percentiles(took)
		f50, _ := percentiles(floor)
		b.Logf("export (%d signals, %.1f MiB) x%d: p50 %.0f ms p99 %.0f ms; peak heap growth %.1f MiB; floor HSCAN of the signals: p50 %.0f ms; ratio p50 %.2f",
			signals, mib(size), runs, ms(t50), ms(t99), mib(peak), ms(f50), float64(t50)/float64(f50))
		b.ReportMetric(ms(t50), "export-p50-ms")
		b.ReportMetric(ms(t99), "export-p99-ms")
		b.ReportMetric(mib(size), "document-MiB")
		b.ReportMetric(mib(peak), "peak-heap-growth-MiB")
		b.ReportMetric(float64(t50)/float64(f50), "ratio-p50-to-hscan")
	}
}

// download GETs the export as the storefront and counts its bytes.
func download(url string) (int64, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+benchKey)
	// The document as sent uncompressed, as the README's figures are (Go's
	// client would otherwise ask for gzip and unpack it).
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := testHTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("export: HTTP %d", resp.StatusCode)
	}
	return io.Copy(io.Discard, resp.Body)
}

// heapSampler records the highest heap size seen (live and not yet
// collected objects) above the level when it started.
type heapSampler struct {
	base, peak atomic.Int64
	done       chan struct{}
	stopped    chan struct{}
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func readHeap() int64 {
	sample := []rtmetrics.Sample{{Name: heapMetric}}
	rtmetrics.Read(sample)
	return int64(sample[0].Value.Uint64())
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{done: make(chan struct{}), stopped: make(chan struct{})}
	h.base.Store(readHeap())
	go func() {
		defer close(h.stopped)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if v := readHeap(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.done:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

// stop ends the sampling and returns the peak growth in bytes.
func (h *heapSampler) stop() int64 {
	close(h.done)
	<-h.stopped
	return max(0, h.peak.Load()-h.base.Load())
}

func ms(d time.Duration) float64 { return d.Seconds() * 1e3 }
func mib(n int64) float64        { return float64(n) / (1 << 20) }

// signalsKey is the Redis key of a customer's signals.
func signalsKey(tb testing.TB, r *redistest.Redis, p features.Pseudonym) string {
	tb.Helper()
	keys, err := keyspace.New(r.Namespace)
	if err != nil {
		tb.Fatal(err)
	}
	return keys.Customer(p).Signals
}
