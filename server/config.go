package server

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// Config is everything `candor serve` is configured with. Secrets (the
// master secret, API keys, a Redis password) redact themselves when printed
// or serialised; TestConfigDumpHoldsNoSecrets proves it.
type Config struct {
	GRPCAddr string `json:"grpc_addr"`
	HTTPAddr string `json:"http_addr"`
	// RedisURL is one redis:// URL, or a comma-separated list of cluster
	// node addresses; empty starts the embedded in-memory store.
	RedisURL RedisURL `json:"redis_url"`
	// RedisCluster forces cluster mode with a single seed address.
	RedisCluster bool   `json:"redis_cluster"`
	Namespace    string `json:"namespace"`

	Secret  features.Secret `json:"secret"`
	APIKeys []APIKey        `json:"api_keys"`

	Demo bool `json:"demo"`

	SignalRetention      *features.Retention `json:"-"`
	ExplanationRetention time.Duration       `json:"explanation_retention"`
	ModelRefresh         time.Duration       `json:"model_refresh"`
	// ModelPoll is how often servers look for a new ALS model version.
	ModelPoll time.Duration `json:"model_poll"`
	// ModelMaxAge is the oldest ALS model a server serves; older, the
	// co-occurrence model answers. It bounds how long a customer who
	// revoked model_training or was erased stays reflected in answers.
	ModelMaxAge     time.Duration       `json:"model_max_age"`
	Train           engine.TrainOptions `json:"train"`
	RequestTimeout  time.Duration       `json:"request_timeout"`
	ShutdownTimeout time.Duration       `json:"shutdown_timeout"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		GRPCAddr:             "127.0.0.1:9090",
		HTTPAddr:             "127.0.0.1:8080",
		Namespace:            "candor",
		SignalRetention:      features.DefaultRetention(),
		ExplanationRetention: explain.DefaultRetention,
		ModelRefresh:         time.Minute,
		ModelPoll:            2 * time.Second,
		ModelMaxAge:          24 * time.Hour,
		Train:                engine.DefaultTrainOptions(),
		RequestTimeout:       10 * time.Second,
		ShutdownTimeout:      15 * time.Second,
	}
}

// Validate fails closed: no secret, no API key or settings below the privacy
// minimums stop start-up.
func (c *Config) Validate() error {
	var errs []error
	if c.Secret.IsZero() {
		errs = append(errs, errors.New("no pseudonym key: set --pseudonym-key-file or CANDOR_PSEUDONYM_KEY (at least 32 bytes; `openssl rand -base64 48`), or use --demo"))
	}
	if len(c.APIKeys) == 0 {
		errs = append(errs, errors.New("no API keys: set --api-keys-file or CANDOR_API_KEYS (role:key,role:key)"))
	}
	if _, err := newAuthenticator(c.APIKeys); err != nil {
		errs = append(errs, err)
	}
	if err := features.ValidateNamespace(c.Namespace); err != nil {
		errs = append(errs, err)
	}
	if c.ExplanationRetention < time.Hour || c.ExplanationRetention > 365*24*time.Hour {
		errs = append(errs, fmt.Errorf("explanation retention must be between 1h and 8760h, got %s", c.ExplanationRetention))
	}
	if c.ModelRefresh < time.Second {
		errs = append(errs, fmt.Errorf("model refresh must be at least 1s, got %s", c.ModelRefresh))
	}
	if c.ModelMaxAge < time.Minute || c.ModelMaxAge > 30*24*time.Hour {
		errs = append(errs, fmt.Errorf("model max age must be between 1m and 720h, got %s", c.ModelMaxAge))
	}
	if c.ModelPoll < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("model poll must be at least 100ms, got %s", c.ModelPoll))
	}
	if c.RequestTimeout <= 0 || c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("request and shutdown timeouts must be positive"))
	}
	if c.SignalRetention == nil {
		errs = append(errs, errors.New("signal retention is not set"))
	}
	if err := c.Train.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// RedisURL is a Redis address that may hold a password; it redacts the
// password when printed or serialised.
type RedisURL string

// String redacts any password.
func (u RedisURL) String() string {
	if u == "" {
		return "(embedded)"
	}
	parts := strings.Split(string(u), ",")
	for i, part := range parts {
		parts[i] = redactURL(strings.TrimSpace(part))
	}
	return strings.Join(parts, ",")
}

func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s // a bare host:port holds no password
	}
	parsed, err := url.Parse(s)
	if err != nil {
		return "[unparseable, redacted]"
	}
	if parsed.User != nil {
		if _, has := parsed.User.Password(); has {
			parsed.User = url.UserPassword(parsed.User.Username(), "redacted")
		}
	}
	return parsed.String()
}

// GoString redacts any password from %#v.
func (u RedisURL) GoString() string { return "server.RedisURL(" + u.String() + ")" }

// MarshalText redacts any password.
func (u RedisURL) MarshalText() ([]byte, error) { return []byte(u.String()), nil }
