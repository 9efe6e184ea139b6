package redisconn

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/internal/redistest"
)

const password = "REDISPASSWORD42"

// TestURLRedactsThePassword: however a URL is printed or serialised, its
// password stays out and the rest of it stays in.
func TestURLRedactsThePassword(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  URL
		keep []string // what the redacted form must still show
	}{
		{URL("redis://candor:" + password + "@db.internal:6379/0"), []string{"redis://candor:redacted@db.internal:6379/0"}},
		{URL("rediss://:" + password + "@db.internal:6380"), []string{"rediss://:redacted@db.internal:6380"}},
		{URL("10.0.0.1:7000, redis://:" + password + "@10.0.0.2:7001"), []string{"10.0.0.1:7000", "10.0.0.2:7001"}},
		{URL("redis://candor:" + password + "@db.internal:port%zz/0"), []string{"[unparseable, redacted]"}},
		{URL("redis://db.internal:6379/0"), []string{"redis://db.internal:6379/0"}},
		{URL(""), []string{"(embedded)"}},
	} {
		js, err := json.Marshal(struct{ U URL }{tc.url})
		if err != nil {
			t.Fatal(err)
		}
		text, err := tc.url.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		dumps := []string{tc.url.String(), string(text), string(js), fmt.Sprint(tc.url), fmt.Sprintf("%+v", tc.url), fmt.Sprintf("%#v", tc.url), fmt.Sprintf("%#v", struct{ U URL }{tc.url})}
		for _, dump := range dumps {
			if strings.Contains(dump, password) {
				t.Errorf("%s: a dump holds the password: %s", tc.url.String(), dump)
			}
			for _, k := range tc.keep {
				if !strings.Contains(dump, k) {
					t.Errorf("%s: a dump lost %q: %s", tc.url.String(), k, dump)
				}
			}
		}
	}
}

// TestOpenErrorsHoldNoPassword: a URL that does not parse, or a server that
// does not answer, is an error that names the URL redacted.
func TestOpenErrorsHoldNoPassword(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, raw := range []URL{
		URL("redis://candor:" + password + "@db.internal:port%zz/0"),
		URL("redis://candor:" + password + "@db.internal:6379/notadb"),
		URL("127.0.0.1:7000,redis://candor:" + password + "@db.internal:port%zz"),
		// Port 1 on loopback: nothing listens, the PING fails at once.
		URL("redis://candor:" + password + "@127.0.0.1:1/0"),
	} {
		st, err := Open(ctx, raw, false)
		if err == nil {
			st.Close()
			t.Errorf("%s: opened", raw)
			continue
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("an error holds the password: %v", err)
		}
		if !strings.Contains(err.Error(), "redis") {
			t.Errorf("an error does not say it is about the store: %v", err)
		}
	}
}

func TestUniversalOptions(t *testing.T) {
	t.Parallel()
	one, err := universalOptions("redis://candor:"+password+"@db.internal:6379/2", false)
	if err != nil {
		t.Fatal(err)
	}
	if one.IsClusterMode || !slices.Equal(one.Addrs, []string{"db.internal:6379"}) || one.DB != 2 || one.Username != "candor" || one.Password != password {
		t.Errorf("one server: %+v", one)
	}
	cluster, err := universalOptions("10.0.0.1:7000, redis://:"+password+"@10.0.0.2:7001", false)
	if err != nil {
		t.Fatal(err)
	}
	if !cluster.IsClusterMode || !slices.Equal(cluster.Addrs, []string{"10.0.0.1:7000", "10.0.0.2:7001"}) || cluster.Password != password {
		t.Errorf("a cluster list: %+v", cluster)
	}
	seed, err := universalOptions("redis://10.0.0.1:7000/3", true)
	if err != nil {
		t.Fatal(err)
	}
	if !seed.IsClusterMode || seed.DB != 0 {
		t.Errorf("a cluster seed (no database in a cluster): %+v", seed)
	}
	tls, err := universalOptions("rediss://db.internal:6380", false)
	if err != nil {
		t.Fatal(err)
	}
	if tls.TLSConfig == nil || tls.TLSConfig.ServerName != "db.internal" {
		t.Errorf("rediss: TLS config %+v", tls.TLSConfig)
	}
}

// TestOpenEmbedded: no URL starts the in-process server, which answers and
// stops with Close.
func TestOpenEmbedded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := Open(ctx, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Embedded {
		t.Error("an empty URL did not start the embedded store")
	}
	if err := st.Client.Set(ctx, "redisconn-test:k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Client.Get(ctx, "redisconn-test:k").Result(); err != nil || got != "v" {
		t.Errorf("get: %q, %v", got, err)
	}
	st.Close()
	if err := st.Client.Ping(ctx).Err(); err == nil {
		t.Error("the client still answers after Close")
	}
}

// TestOpenRedis: a URL opens that Redis (the test Redis: REDIS_URL when
// set, else an embedded server on a loopback port, reached over TCP as any
// other), which answers a PING; nothing is written.
func TestOpenRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := Open(ctx, URL(redistest.New(t).URL), false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Embedded {
		t.Error("a URL opened the embedded store")
	}
	if err := st.Client.Ping(ctx).Err(); err != nil {
		t.Error(err)
	}
}
