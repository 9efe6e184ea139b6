package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/redisconn"
)

// trainOptions is the parsed command line of `candor train`.
type trainOptions struct {
	redisURL  redisconn.URL
	cluster   bool
	namespace string
	secret    features.Secret
	retention *features.Retention
	train     engine.ALSTrainOptions
	keep      int
	logFormat string
	logLevel  string
}

var trainFlags = []envFlag{
	{"redis-url", "url", "CANDOR_REDIS_URL", "", "the store the servers use (required: training reads every customer's signals there)"},
	{"redis-cluster", "bool", "CANDOR_REDIS_CLUSTER", "false", "treat a single --redis-url as a cluster seed"},
	{"namespace", "string", "CANDOR_NAMESPACE", "candor", "prefix of every Redis key"},
	{"pseudonym-key-file", "file", "CANDOR_PSEUDONYM_KEY_FILE", "", "the servers' master secret (CANDOR_PSEUDONYM_KEY may hold it instead)"},
	{"retention", "list", "CANDOR_RETENTION", "", "signal retention overrides, as for serve"},
	{"min-support", "int", "CANDOR_MIN_SUPPORT", "3", "fewest distinct customers an item needs to be in the model (at least 2)"},
	{"signal-weights", "list", "CANDOR_SIGNAL_WEIGHTS", "", "signal weight overrides, as for serve"},
	{"weight-half-life", "duration", "CANDOR_WEIGHT_HALF_LIFE", "720h", "weight half-life, as for serve"},
	{"factors", "int", "CANDOR_ALS_FACTORS", strconv.Itoa(engine.DefaultALSOptions().Factors), "ALS factors (k)"},
	{"iterations", "int", "CANDOR_ALS_ITERATIONS", strconv.Itoa(engine.DefaultALSOptions().Iterations), "ALS sweeps"},
	{"lambda", "float", "CANDOR_ALS_LAMBDA", strconv.FormatFloat(engine.DefaultALSOptions().Lambda, 'g', -1, 64), "ALS regularisation"},
	{"alpha", "float", "CANDOR_ALS_ALPHA", strconv.FormatFloat(engine.DefaultALSOptions().Alpha, 'g', -1, 64), "ALS confidence per unit of signal weight"},
	{"cg-steps", "int", "CANDOR_ALS_CG_STEPS", strconv.Itoa(engine.DefaultALSOptions().CGSteps), "conjugate-gradient steps per row and sweep"},
	{"seed", "uint", "CANDOR_ALS_SEED", strconv.FormatUint(engine.DefaultALSOptions().Seed, 10), "random seed of the initial factors"},
	{"keep", "int", "CANDOR_ALS_KEEP", "2", "model versions to keep in the store (the current one and the one before, for rollback)"},
	{"log-format", "string", "CANDOR_LOG_FORMAT", "text", "text or json"},
	{"log-level", "string", "CANDOR_LOG_LEVEL", "info", "debug, info, warn or error"},
}

func parseTrainFlags(args []string, getenv func(string) string, stderr io.Writer) (trainOptions, error) {
	get, err := parseEnvFlags("train", trainFlags, args, getenv, stderr)
	if err != nil {
		return trainOptions{}, err
	}
	o := trainOptions{
		redisURL: redisconn.URL(get("redis-url")), namespace: get("namespace"),
		retention: features.DefaultRetention(), logFormat: get("log-format"), logLevel: get("log-level"),
	}
	o.train.ALS = engine.DefaultALSOptions()
	o.train.Weights = engine.DefaultWeights()
	var errs []error
	atoi := func(name string) int {
		n, err := strconv.Atoi(get(name))
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: want a whole number, got %q", name, get(name)))
		}
		return n
	}
	float := func(name string) float64 {
		f, err := strconv.ParseFloat(get(name), 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: want a number, got %q", name, get(name)))
		}
		return f
	}
	o.cluster, err = strconv.ParseBool(get("redis-cluster"))
	if err != nil {
		errs = append(errs, fmt.Errorf("--redis-cluster: want true or false, got %q", get("redis-cluster")))
	}
	o.train.MinSupport = atoi("min-support")
	o.train.ALS.Factors, o.train.ALS.Iterations, o.train.ALS.CGSteps = atoi("factors"), atoi("iterations"), atoi("cg-steps")
	o.train.ALS.Lambda, o.train.ALS.Alpha = float("lambda"), float("alpha")
	seed, err := strconv.ParseUint(get("seed"), 10, 64)
	if err != nil {
		errs = append(errs, fmt.Errorf("--seed: want a whole number, got %q", get("seed")))
	}
	o.train.ALS.Seed = seed
	o.keep = atoi("keep")
	if err := parseRetention(get("retention"), o.retention); err != nil {
		errs = append(errs, fmt.Errorf("--retention: %w", err))
	}
	if err := parseWeights(get("signal-weights"), get("weight-half-life"), &o.train.Weights); err != nil {
		errs = append(errs, err)
	}
	if o.secret, err = readSecret(get("pseudonym-key-file"), getenv("CANDOR_PSEUDONYM_KEY")); err != nil {
		errs = append(errs, err)
	}
	if o.redisURL == "" {
		errs = append(errs, errors.New("--redis-url is required: training reads the servers' store (the embedded store lives inside one server)"))
	}
	errs = append(errs, o.config().Validate())
	return o, errors.Join(errs...)
}

// config is the training use case's configuration.
func (o *trainOptions) config() *app.TrainConfig {
	return &app.TrainConfig{Namespace: o.namespace, Secret: o.secret, SignalRetention: o.retention, ALS: o.train, Keep: o.keep}
}

// train reads the signals consented for model training from the store,
// trains an ALS model, writes it as the new current version and prints its
// description as JSON.
func train(ctx context.Context, o trainOptions, stdout, stderr io.Writer) error {
	log, err := newLogger(stderr, o.logFormat, o.logLevel)
	if err != nil {
		return err
	}
	st, err := redisconn.Open(ctx, o.redisURL, o.cluster)
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("training", "store", o.redisURL.String(), "namespace", o.namespace, "options", fmt.Sprintf("%+v", o.train.ALS))
	m, err := app.TrainALS(ctx, st.Client, o.config(), time.Now())
	if err != nil {
		return err
	}
	log.Info("model written", "version", m.Info.Version, "customers", m.Info.Customers, "items", m.Info.Items, "signals", m.Info.Signals, "duration", m.Info.Duration)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(m.Info)
}
