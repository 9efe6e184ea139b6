package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/status"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// trainOnce runs `candor train` against the server's store (whichever it
// is); later flags in extra override the defaults (e.g. "--keep=1").
func (ts *testServer) trainOnce(t *testing.T, extra ...string) map[string]any {
	t.Helper()
	args := append([]string{"--redis-url=" + ts.redisURL, "--namespace=" + ts.namespace, "--min-support=2", "--factors=8", "--iterations=5", "--keep=2"}, extra...)
	o, err := parseTrainFlags(args, func(k string) string { return ts.env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := train(context.Background(), o, &out, io.Discard); err != nil {
		t.Fatalf("train: %v", err)
	}
	info := map[string]any{}
	if err := json.Unmarshal([]byte(out.String()), &info); err != nil {
		t.Fatalf("train printed %q: %v", out.String(), err)
	}
	return info
}

// TestTrainAndHotSwap: `candor train` writes an ALS model; the running
// server picks it up within seconds and answers from it, with contributions
// that sum to the score; retraining under concurrent requests swaps models
// without failing one request, and old versions are removed.
func TestTrainAndHotSwap(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "--model-poll=100ms", "--min-support=2")
	ts.seedCatalog(t)
	ts.seedPopulation(t, 12)
	ts.mustREST(t, "storefront", "PATCH", "/v1/customers/"+subject+"/consents",
		`{"choices":[{"purpose":"personalization","granted":true}],"notice_version":"v1","method":"ui"}`)
	ts.mustREST(t, "storefront", "POST", "/v1/customers/"+subject+"/signals",
		`{"signals":[{"type":"view","item_id":"sku-00","purposes":["personalization"]},{"type":"add_to_cart","item_id":"sku-03","purposes":["personalization"]}]}`)

	info := ts.trainOnce(t)
	version := info["version"].(string)
	if !strings.HasPrefix(version, "als-") || info["customers"].(float64) != 12 {
		t.Fatalf("train: %v", info)
	}

	var rec map[string]any
	deadline := time.Now().Add(20 * time.Second)
	for {
		rec = ts.mustREST(t, "storefront", "GET", "/v1/customers/"+subject+"/recommendations?limit=5", "")
		if strings.Contains(rec["model_version"].(string), version) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(rec["model_version"].(string), version) {
		t.Fatalf("the server did not pick up %s within 20s: %v", version, rec["model_version"])
	}
	first := rec["items"].([]any)[0].(map[string]any)
	if first["model"] != "als" || rec["personalized"] != true {
		t.Fatalf("the answer is not from the ALS model: %v", rec)
	}
	checkEveryItemExplained(t, rec)

	// Retrain twice with other seeds while requests flow; none may fail.
	var failures atomic.Int64
	var served atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := ts.recs().GetRecommendations(ts.ctx("storefront"), &candorv1.GetRecommendationsRequest{CustomerId: subject, Limit: 5})
				if err != nil {
					failures.Add(1)
					t.Errorf("a request failed during a model swap: %v (%v)", err, status.Code(err))
				}
				served.Add(1)
			}
		})
	}
	var versions []string
	for seed := 2; seed <= 3; seed++ {
		versions = append(versions, ts.trainOnce(t, fmt.Sprintf("--seed=%d", seed))["version"].(string))
	}
	waitFor(t, func() bool {
		resp, err := ts.recs().GetRecommendations(ts.ctx("storefront"), &candorv1.GetRecommendationsRequest{CustomerId: subject, Limit: 5})
		return err == nil && strings.Contains(resp.GetRecommendation().GetModelVersion(), versions[1])
	})
	close(stop)
	wg.Wait()
	if failures.Load() != 0 || served.Load() == 0 {
		t.Fatalf("%d of %d requests failed during swaps", failures.Load(), served.Load())
	}
	// --keep=2: the first version is gone from the store.
	stored, err := ts.redis.Client.ZRange(context.Background(), ts.redis.Keyspace().ModelVersions(), 0, -1).Result()
	if err != nil || len(stored) != 2 || strings.Contains(strings.Join(stored, ","), version) {
		t.Fatalf("stored versions %v (%v); want the two newest only", stored, err)
	}
	if n, _ := ts.redis.Client.Exists(context.Background(), ts.redis.Keyspace().Model(version)).Result(); n != 0 {
		t.Fatal("the pruned version's data is still stored")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTrainFlags(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		env  map[string]string
		err  string
	}{
		{nil, map[string]string{"CANDOR_PSEUDONYM_KEY": testKey}, "--redis-url is required"},
		{[]string{"--redis-url=redis://127.0.0.1:6379"}, nil, "no pseudonym key"},
		{[]string{"--redis-url=redis://127.0.0.1:6379", "--min-support=1"}, map[string]string{"CANDOR_PSEUDONYM_KEY": testKey}, "--min-support must be at least 2"},
		{[]string{"--redis-url=redis://127.0.0.1:6379", "--factors=0"}, map[string]string{"CANDOR_PSEUDONYM_KEY": testKey}, "factors must be 1 to 1024"},
		{[]string{"--redis-url=redis://127.0.0.1:6379", "--lambda=x"}, map[string]string{"CANDOR_PSEUDONYM_KEY": testKey}, "--lambda: want a number"},
	} {
		_, err := parseTrainFlags(c.args, envOf(c.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%v: %v; want an error containing %q", c.args, err, c.err)
		}
	}
}
