package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/keyspace"
)

// Config is what the use cases are configured with (server.Config holds it
// with the listeners' settings).
type Config struct {
	Namespace       string
	Secret          features.Secret
	SignalRetention *features.Retention
	// ExplanationRetention is how long stored answers are kept.
	ExplanationRetention time.Duration
	// ModelRefresh is how often the co-occurrence model is rebuilt (and
	// the retention sweep runs).
	ModelRefresh time.Duration
	// ModelPoll is how often a new ALS model version is looked for.
	ModelPoll time.Duration
	// ModelMaxAge is the oldest ALS model served.
	ModelMaxAge time.Duration
	Train       engine.TrainOptions
	// RequestTimeout bounds a request; the erasure follow-up waits for it.
	RequestTimeout time.Duration
	// NoticeVersion is the version of the privacy notice in force, recorded
	// with the consent choices a customer makes on candor's own pages.
	NoticeVersion string
}

// Validate checks the settings the use cases rely on.
func (c *Config) Validate() error {
	var errs []error
	if c.Secret.IsZero() {
		errs = append(errs, errors.New("no pseudonym key: set --pseudonym-key-file or CANDOR_PSEUDONYM_KEY (at least 32 bytes; `openssl rand -base64 48`), or use --demo"))
	}
	if err := keyspace.ValidateNamespace(c.Namespace); err != nil {
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
	if c.RequestTimeout <= 0 {
		errs = append(errs, errors.New("the request timeout must be positive"))
	}
	if c.SignalRetention == nil {
		errs = append(errs, errors.New("signal retention is not set"))
	}
	if err := consent.ValidateNoticeVersion("notice version", c.NoticeVersion); err != nil {
		errs = append(errs, err)
	}
	if err := c.Train.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Options are an App's optional dependencies.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
	// After waits on the clock (the erasure follow-up); nil uses time.After.
	After func(time.Duration) <-chan time.Time
	// Records encodes the export's records in the API's shapes; the gRPC
	// adapter provides it. Without it, Export refuses.
	Records ExportRecords
}

// App is the application core over one store.
type App struct {
	cfg          Config
	log          *slog.Logger
	now          func() time.Time
	after        func(time.Duration) <-chan time.Time
	rdb          redis.UniversalClient
	pseudonyms   *features.Pseudonymizer
	codec        *features.Codec
	tokens       *tokens
	store        *features.Store
	catalog      *features.Catalog
	policies     *consent.PolicyStore
	explanations *explain.Store
	reviews      *explain.Reviews
	models       *engine.Holder
	trainer      *engine.Trainer
	alsModels    *engine.ALSStore
	records      ExportRecords
	// followUps are erasures waiting for their follow-up (followup.go).
	followUps chan erasureFollowUp
}

// data are the stores of one namespace, as the servers and `candor train`
// both open them.
type data struct {
	keys     keyspace.Keyspace
	codec    *features.Codec
	store    *features.Store
	catalog  *features.Catalog
	policies *consent.PolicyStore
}

func openData(rdb redis.UniversalClient, namespace string, secret features.Secret, retention *features.Retention) (data, error) {
	keys, err := keyspace.New(namespace)
	if err != nil {
		return data{}, err
	}
	d := data{keys: keys, codec: features.NewCodec(secret), policies: consent.NewPolicyStore(rdb, keys), catalog: features.NewCatalog(rdb, keys)}
	d.store = features.NewStore(rdb, features.StoreOptions{
		Keyspace: keys, Codec: d.codec, Retention: retention, Policies: d.policies, Catalog: d.catalog,
	})
	return d, nil
}

// New builds the core over an open Redis client. cfg must be valid.
func New(cfg Config, rdb redis.UniversalClient, o Options) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	d, err := openData(rdb, cfg.Namespace, cfg.Secret, cfg.SignalRetention)
	if err != nil {
		return nil, err
	}
	keys, codec, store, catalog, policies := d.keys, d.codec, d.store, d.catalog, d.policies
	models := engine.NewHolder()
	return &App{
		cfg:          cfg,
		log:          o.Logger,
		now:          o.Now,
		after:        o.After,
		rdb:          rdb,
		pseudonyms:   features.NewPseudonymizer(cfg.Secret),
		codec:        codec,
		tokens:       &tokens{codec: codec, now: o.Now},
		store:        store,
		catalog:      catalog,
		policies:     policies,
		explanations: explain.NewStore(rdb, keys, codec),
		reviews:      explain.NewReviews(rdb, keys, codec),
		models:       models,
		alsModels:    engine.NewALSStore(rdb, keys),
		trainer: &engine.Trainer{
			Source: store, Holder: models, Options: cfg.Train, Interval: cfg.ModelRefresh,
			Logger: o.Logger, Now: o.Now,
		},
		records:   o.Records,
		followUps: make(chan erasureFollowUp, maxPendingFollowUps),
	}, nil
}

// Now is the core's clock.
func (a *App) Now() time.Time { return a.now() }

// Pseudonym is how candor names a customer everywhere: a keyed HMAC of
// their id.
func (a *App) Pseudonym(customerID string) features.Pseudonym {
	return a.pseudonyms.Pseudonym(customerID)
}

// Codec is the at-rest codec, which the pages also use to seal their
// cookies under their own labels.
func (a *App) Codec() *features.Codec { return a.codec }

// Store, Catalog, Explanations and Reviews give tests and the demo's
// seeding the domain stores. Doors call use cases, never these.
func (a *App) Store() *features.Store { return a.store }

// Catalog is the item catalogue (see Store).
func (a *App) Catalog() *features.Catalog { return a.catalog }

// Explanations are the stored answers (see Store).
func (a *App) Explanations() *explain.Store { return a.explanations }

// Reviews are the review cases (see Store).
func (a *App) Reviews() *explain.Reviews { return a.reviews }

// Why the core is not ready.
var (
	ErrStoreUnreachable = errors.New("store not reachable")
	ErrNotTrained       = errors.New("model not trained yet")
)

// Ready reports whether the store answers and a model has been trained:
// nil, ErrStoreUnreachable or ErrNotTrained.
func (a *App) Ready(ctx context.Context) error {
	if err := a.rdb.Ping(ctx).Err(); err != nil {
		return ErrStoreUnreachable
	}
	if !a.models.Trained() {
		return ErrNotTrained
	}
	return nil
}

// TrainNow rebuilds the co-occurrence item model from the store at once.
func (a *App) TrainNow(ctx context.Context) error {
	_, err := a.trainer.TrainOnce(ctx)
	return err
}

// rankingFacts are the parameters the ranking description states.
func (a *App) rankingFacts(policy *consent.Policy) explain.RankingFacts {
	return explain.RankingFacts{
		Policy: policy, Retention: a.store.Retention(),
		PerType: a.cfg.Train.Weights.PerType, HalfLife: a.cfg.Train.Weights.HalfLife,
		MinSupport: a.cfg.Train.MinSupport, ExplanationRetention: a.cfg.ExplanationRetention,
	}
}

// Models is the holder of the item models in use (for `candor train`'s
// tests and benchmarks that swap models).
func (a *App) Models() *engine.Holder { return a.models }
