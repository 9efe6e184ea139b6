package server

import (
	"errors"
	"time"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/internal/redisconn"
	"github.com/candorhq/candor/server/grpcapi"

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
	RedisURL redisconn.URL `json:"redis_url"`
	// RedisCluster forces cluster mode with a single seed address.
	RedisCluster bool   `json:"redis_cluster"`
	Namespace    string `json:"namespace"`

	Secret  features.Secret  `json:"secret"`
	APIKeys []grpcapi.APIKey `json:"api_keys"`

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
	// NoticeVersion is the version of the privacy notice in force, recorded
	// with every consent choice a customer makes on candor's own pages.
	NoticeVersion string `json:"notice_version"`
}

// DefaultNoticeVersion is recorded with choices made on candor's pages
// until the operator names their notice's version (--notice-version).
const DefaultNoticeVersion = "candor-pages-1"

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
		NoticeVersion:        DefaultNoticeVersion,
	}
}

// App is the configuration of the application core.
func (c *Config) App() app.Config {
	return app.Config{
		Namespace: c.Namespace, Secret: c.Secret, SignalRetention: c.SignalRetention,
		ExplanationRetention: c.ExplanationRetention, ModelRefresh: c.ModelRefresh, ModelPoll: c.ModelPoll,
		ModelMaxAge: c.ModelMaxAge, Train: c.Train, RequestTimeout: c.RequestTimeout, NoticeVersion: c.NoticeVersion,
	}
}

// Validate fails closed: no secret, no API key or settings below the privacy
// minimums stop start-up.
func (c *Config) Validate() error {
	var errs []error
	core := c.App()
	if err := core.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(c.APIKeys) == 0 {
		errs = append(errs, errors.New("no API keys: set --api-keys-file or CANDOR_API_KEYS (role:key,role:key)"))
	}
	if err := grpcapi.CheckAPIKeys(c.APIKeys); err != nil {
		errs = append(errs, err)
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("the shutdown timeout must be positive"))
	}
	return errors.Join(errs...)
}
