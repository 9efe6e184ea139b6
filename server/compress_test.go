package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"google.golang.org/grpc"

	"github.com/candorhq/candor/app"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestCompression: REST answers are gzipped for a client that asks, the
// export's stream included, and are not for one that does not; gRPC
// clients may ask for gzip too.
func TestCompression(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	const c = "compressed"
	f.shopper(t, c)
	path := "/v1/customers/" + c + "/recommendations?limit=10"

	// "identity": Go's client would otherwise ask for gzip itself and hide it.
	plain, plainBody := f.rest(t, http.MethodGet, path, keyOf(app.RoleStorefront), "", map[string]string{"Accept-Encoding": "identity"})
	if plain.StatusCode != http.StatusOK || plain.Header.Get("Content-Encoding") != "" {
		t.Fatalf("without Accept-Encoding: %d, Content-Encoding %q", plain.StatusCode, plain.Header.Get("Content-Encoding"))
	}
	for _, p := range []string{path, "/v1/customers/" + c + "/export"} {
		resp, body := f.rest(t, http.MethodGet, p, keyOf(app.RoleStorefront), "", map[string]string{"Accept-Encoding": "gzip"})
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("%s with Accept-Encoding gzip: %d, Content-Encoding %q, Vary %q", p, resp.StatusCode, resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: the gzipped answer is not JSON: %v", p, err)
		}
		t.Logf("%s: %d bytes gzipped, %d bytes of JSON", p, len(body), len(raw))
		if p == path && (len(raw) < len(plainBody)/2 || len(body) >= len(raw)) {
			t.Errorf("the gzipped answer holds %d bytes of JSON in %d; the plain one is %d bytes", len(raw), len(body), len(plainBody))
		}
	}

	resp, err := f.recs().GetRecommendations(callAs(keyOf(app.RoleStorefront)), &candorv1.GetRecommendationsRequest{CustomerId: c, Limit: 10},
		grpc.UseCompressor("gzip")) // registered by the server's package, not by this test

	if err != nil || len(resp.GetRecommendation().GetItems()) == 0 {
		t.Fatalf("a gRPC call asking for gzip: %v", err)
	}
}
