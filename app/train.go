package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/keyspace"
)

// TrainConfig is what `candor train` runs with: the servers' store, as
// they see it, and the options of the ALS model.
type TrainConfig struct {
	Namespace       string
	Secret          features.Secret
	SignalRetention *features.Retention
	ALS             engine.ALSTrainOptions
	// Keep is how many model versions the store keeps (the current one and
	// those before it, for rollback).
	Keep int
}

// Validate checks a training configuration.
func (c *TrainConfig) Validate() error {
	var errs []error
	if c.Secret.IsZero() {
		errs = append(errs, errors.New("no pseudonym key: give the servers' key with --pseudonym-key-file or CANDOR_PSEUDONYM_KEY"))
	}
	if err := keyspace.ValidateNamespace(c.Namespace); err != nil {
		errs = append(errs, err)
	}
	if c.SignalRetention == nil {
		errs = append(errs, errors.New("signal retention is not set"))
	}
	if c.ALS.MinSupport < 2 {
		errs = append(errs, fmt.Errorf("--min-support must be at least 2, got %d", c.ALS.MinSupport))
	}
	if c.Keep < 1 {
		errs = append(errs, fmt.Errorf("--keep must be at least 1, got %d", c.Keep))
	}
	if err := c.ALS.ALS.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// TrainALS is `candor train`'s use case: it trains the ALS item model on
// the signals usable for model training now (consent, policy, retention and
// the customers' controls, as the servers read them) and writes it as the
// store's current version, keeping cfg.Keep versions. Servers pick it up
// within their model poll interval.
func TrainALS(ctx context.Context, rdb redis.UniversalClient, cfg *TrainConfig, now time.Time) (*engine.ALSModel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d, err := openData(rdb, cfg.Namespace, cfg.Secret, cfg.SignalRetention)
	if err != nil {
		return nil, err
	}
	return trainALS(ctx, d.store, engine.NewALSStore(rdb, d.keys), cfg.ALS, cfg.Keep, now)
}

// trainALS trains on store and saves the model in models.
func trainALS(ctx context.Context, store *features.Store, models *engine.ALSStore, o engine.ALSTrainOptions, keep int, now time.Time) (*engine.ALSModel, error) {
	m, err := engine.TrainALS(ctx, store, now, o)
	if err != nil {
		return nil, err
	}
	if err := models.Save(ctx, m, keep); err != nil {
		return nil, err
	}
	return m, nil
}
