package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/redisconn"
	"github.com/candorhq/candor/server/grpcapi"
)

// TestConfigDumpHoldsNoSecrets: however the configuration is printed or
// serialised, the master secret, the API keys and a Redis password stay out.
func TestConfigDumpHoldsNoSecrets(t *testing.T) {
	t.Parallel()
	const secret = "SECRET-MASTER-KEY-0123456789abcdef"
	const apiKey = "APIKEY-0123456789-abcdef"
	const password = "REDISPASSWORD42"
	s, err := features.NewSecret([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	k, err := grpcapi.NewAPIKey(app.RoleAdmin, apiKey)
	if err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Secret, c.APIKeys = s, []grpcapi.APIKey{k}
	c.RedisURL = redisconn.URL("redis://candor:" + password + "@db.internal:6379/0")
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, dump := range []string{string(js), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), c.RedisURL.String()} {
		for _, leaked := range []string{secret, apiKey, password} {
			if strings.Contains(dump, leaked) {
				t.Errorf("a config dump holds %q: %s", leaked, dump)
			}
		}
	}
	if !strings.Contains(string(js), "db.internal") {
		t.Errorf("the dump lost the Redis host, so it proves little: %s", js)
	}
	cluster := redisconn.URL("10.0.0.1:7000,redis://:" + password + "@10.0.0.2:7001")
	if strings.Contains(cluster.String(), password) || !strings.Contains(cluster.String(), "10.0.0.1:7000") {
		t.Errorf("cluster list redaction: %s", cluster)
	}
}

func TestValidateFailsClosed(t *testing.T) {
	t.Parallel()
	k, _ := grpcapi.NewAPIKey(app.RoleAdmin, "a-long-enough-key-123")
	good := DefaultConfig()
	good.Secret, good.APIKeys = features.GenerateSecret(), []grpcapi.APIKey{k}
	if err := good.Validate(); err != nil {
		t.Fatalf("a good config is refused: %v", err)
	}
	cases := map[string]func(c *Config){
		"no pseudonym key":      func(c *Config) { c.Secret = features.Secret{} },
		"no API keys":           func(c *Config) { c.APIKeys = nil },
		"bad namespace":         func(c *Config) { c.Namespace = "{x}" },
		"min support 1":         func(c *Config) { c.Train.MinSupport = 1 },
		"explanations kept 10m": func(c *Config) { c.ExplanationRetention = 600e9 },
		"model refresh 0":       func(c *Config) { c.ModelRefresh = 0 },
		"no notice version":     func(c *Config) { c.NoticeVersion = "" },
		"notice with a newline": func(c *Config) { c.NoticeVersion = "v1\nforged" },
		"notice too long":       func(c *Config) { c.NoticeVersion = strings.Repeat("n", consent.MaxNoticeVersionLen+1) },
		"no request timeout":    func(c *Config) { c.RequestTimeout = 0 },
		"no shutdown timeout":   func(c *Config) { c.ShutdownTimeout = 0 },
	}
	for name, mutate := range cases {
		c := good
		c.Train = good.Train
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
