package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/engine"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/redisconn"
	"github.com/candorhq/candor/server"
	"github.com/candorhq/candor/server/grpcapi"
)

// serveOptions is the parsed command line of `candor serve`.
type serveOptions struct {
	cfg       server.Config
	logFormat string
	logLevel  string
	// generatedSecret is true when --demo generated the pseudonym key.
	generatedSecret bool
	// demoKeys is true when --demo supplied the well-known demo API keys.
	demoKeys bool
}

// envFlag is a flag whose default comes from an environment variable.
type envFlag struct {
	name string
	// kind names what the flag takes, for --help: "bool", "int", "uint",
	// "float", "duration", "list", "string", "file", "url", "host:port".
	// The value is kept as text either way and checked by the command's
	// parser, so that the environment is checked like the flags.
	kind string
	// env is the environment variable read when the flag is not given
	// ("": none); def is the built-in default.
	env, def, help string
}

// textValue is a flag's value kept as text. A bool one may be given alone
// ("--demo" means true).
type textValue struct {
	s      *string
	isBool bool
}

func (v textValue) String() string {
	if v.s == nil {
		return ""
	}
	return *v.s
}
func (v textValue) Set(s string) error { *v.s = s; return nil }
func (v textValue) IsBoolFlag() bool   { return v.isBool }

var serveFlags = []envFlag{
	{"grpc-addr", "host:port", "CANDOR_GRPC_ADDR", "127.0.0.1:9090", "gRPC listen address"},
	{"http-addr", "host:port", "CANDOR_HTTP_ADDR", "127.0.0.1:8080", "HTTP listen address (REST under /v1/, /healthz, /readyz, /metrics)"},
	{"redis-url", "url", "CANDOR_REDIS_URL", "", "redis://host:port/db, or a comma-separated list of cluster nodes; empty: embedded in-memory store"},
	{"redis-cluster", "bool", "CANDOR_REDIS_CLUSTER", "false", "treat a single --redis-url as a cluster seed"},
	{"namespace", "string", "CANDOR_NAMESPACE", "candor", "prefix of every Redis key"},
	{"pseudonym-key-file", "file", "CANDOR_PSEUDONYM_KEY_FILE", "", "file holding the master secret (at least 32 bytes, raw or base64); CANDOR_PSEUDONYM_KEY may hold it instead"},
	{"api-keys-file", "file", "CANDOR_API_KEYS_FILE", "", "file of role:key lines; CANDOR_API_KEYS may hold role:key,role:key instead"},
	{"demo", "bool", "CANDOR_DEMO", "false", "seed a synthetic storefront into the embedded store and print a tour"},
	{"explanation-retention", "duration", "CANDOR_EXPLANATION_RETENTION", "720h", "how long answers and their explanations are kept"},
	{"notice-version", "string", "CANDOR_NOTICE_VERSION", server.DefaultNoticeVersion, "version of your privacy notice, recorded with every consent choice made on the why page and the privacy center"},
	{"retention", "list", "CANDOR_RETENTION", "", "signal retention overrides, e.g. view=30d,search=7d"},
	{"signal-weights", "list", "CANDOR_SIGNAL_WEIGHTS", "", "signal weight overrides, e.g. view=1,purchase=5 (give train the same)"},
	{"weight-half-life", "duration", "CANDOR_WEIGHT_HALF_LIFE", "720h", "a signal's weight halves every this much age; 0 disables decay (give train the same)"},
	{"model-refresh", "duration", "CANDOR_MODEL_REFRESH", "1m", "how often the co-occurrence model is retrained and expired signals swept"},
	{"model-poll", "duration", "CANDOR_MODEL_POLL", "2s", "how often to look for a new ALS model written by candor train"},
	{"model-max-age", "duration", "CANDOR_MODEL_MAX_AGE", "24h", "oldest ALS model served; older, co-occurrence answers (bounds how long a revoked or erased customer stays in the model)"},
	{"min-support", "int", "CANDOR_MIN_SUPPORT", "3", "fewest distinct customers behind any statistic the model keeps (at least 2)"},
	{"log-format", "string", "CANDOR_LOG_FORMAT", "text", "text or json"},
	{"log-level", "string", "CANDOR_LOG_LEVEL", "info", "debug, info, warn or error"},
}

// parseServeFlags reads flags, falling back to environment variables, then
// to defaults. Secrets are read from files or the environment, never from
// flags (flags show up in process listings).
func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (serveOptions, error) {
	get, err := parseEnvFlags("serve", serveFlags, args, getenv, stderr)
	if err != nil {
		return serveOptions{}, err
	}
	o := serveOptions{cfg: server.DefaultConfig(), logFormat: get("log-format"), logLevel: get("log-level")}
	c := &o.cfg
	c.GRPCAddr, c.HTTPAddr, c.Namespace = get("grpc-addr"), get("http-addr"), get("namespace")
	c.NoticeVersion = get("notice-version")
	c.RedisURL = redisconn.URL(get("redis-url"))
	var errs []error
	boolFlag := func(name string) bool {
		b, err := strconv.ParseBool(get(name))
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: want true or false, got %q", name, get(name)))
		}
		return b
	}
	c.RedisCluster, c.Demo = boolFlag("redis-cluster"), boolFlag("demo")
	durationFlag := func(name string) time.Duration {
		d, err := parseDuration(get(name))
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", name, err))
		}
		return d
	}
	c.ExplanationRetention = durationFlag("explanation-retention")
	c.ModelRefresh = durationFlag("model-refresh")
	c.ModelPoll = durationFlag("model-poll")
	c.ModelMaxAge = durationFlag("model-max-age")
	if n, err := strconv.Atoi(get("min-support")); err != nil {
		errs = append(errs, fmt.Errorf("--min-support: want a whole number, got %q", get("min-support")))
	} else {
		c.Train.MinSupport = n
	}
	if err := parseRetention(get("retention"), c.SignalRetention); err != nil {
		errs = append(errs, fmt.Errorf("--retention: %w", err))
	}
	if err := parseWeights(get("signal-weights"), get("weight-half-life"), &c.Train.Weights); err != nil {
		errs = append(errs, err)
	}

	secret, err := readSecret(get("pseudonym-key-file"), getenv("CANDOR_PSEUDONYM_KEY"))
	if err != nil {
		errs = append(errs, err)
	}
	c.Secret = secret
	keys, err := readAPIKeys(get("api-keys-file"), getenv("CANDOR_API_KEYS"))
	if err != nil {
		errs = append(errs, err)
	}
	c.APIKeys = keys

	if c.Demo {
		if c.RedisURL != "" {
			errs = append(errs, errors.New("--demo seeds synthetic data and runs on the embedded store only: remove --redis-url"))
		}
		if c.Secret.IsZero() {
			c.Secret, o.generatedSecret = features.GenerateSecret(), true
		}
		if len(c.APIKeys) == 0 {
			c.APIKeys, o.demoKeys = demoAPIKeys(), true
			for _, addr := range []string{c.GRPCAddr, c.HTTPAddr} {
				if !isLoopback(addr) {
					errs = append(errs, fmt.Errorf("--demo with the well-known demo API keys listens on loopback only, not %q: give --api-keys-file to listen elsewhere", addr))
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return o, err
	}
	return o, c.Validate()
}

// parseEnvFlags parses a subcommand's flags, each defaulting to its
// environment variable, then to its built-in default; it returns a getter of
// the trimmed values. See parseFlags for --help and bad flags.
func parseEnvFlags(cmd string, flags []envFlag, args []string, getenv func(string) string, stderr io.Writer) (func(string) string, error) {
	fs := flag.NewFlagSet("candor "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	vals := map[string]*string{}
	for _, f := range flags {
		v := f.def
		if e := getenv(f.env); e != "" {
			v = e
		}
		vals[f.name] = &v
		fs.Var(textValue{&v, f.kind == "bool"}, f.name, f.help)
	}
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: candor %s [flags]\n\n", cmd)
		writeFlags(w, flags)
	}
	if err := parseFlags(fs, args, usage); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%s: unexpected argument %q", cmd, fs.Arg(0))
	}
	return func(name string) string { return strings.TrimSpace(*vals[name]) }, nil
}

// helpRequest is what a flag parser returns for --help or -h: not a
// failure, but a request for the usage, which run prints to stdout before
// exiting 0.
type helpRequest struct{ usage string }

func (h *helpRequest) Error() string { return "help requested" }

// printHelp prints the usage and returns nil if err is a help request, and
// returns err otherwise.
func printHelp(err error, stdout io.Writer) error {
	var h *helpRequest
	if errors.As(err, &h) {
		fmt.Fprint(stdout, h.usage)
		return nil
	}
	return err
}

// parseFlags parses args with fs. For --help or -h it returns a
// *helpRequest holding the usage. For a bad flag it writes the flag
// package's message and the usage to fs.Output() (stderr) and returns
// errUsage, which exits 2.
func parseFlags(fs *flag.FlagSet, args []string, usage func(io.Writer)) error {
	fs.Usage = func() {} // written below, to stdout or to stderr
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		var b strings.Builder
		usage(&b)
		return &helpRequest{b.String()}
	case err != nil:
		fmt.Fprintln(fs.Output())
		usage(fs.Output())
		return errUsage
	}
	return nil
}

// flagsOf describes the flags of a plain flag set for writeFlags. A flag's
// kind is the back-quoted word of its usage if any, else its Go type, as
// flag.PrintDefaults has it, and "bool" for a bool flag.
func flagsOf(fs *flag.FlagSet) []envFlag {
	var out []envFlag
	fs.VisitAll(func(f *flag.Flag) {
		kind, help := flag.UnquoteUsage(f)
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			kind = "bool"
		}
		out = append(out, envFlag{name: f.Name, kind: kind, def: f.DefValue, help: help})
	})
	return out
}

// writeFlags writes the flag list of a usage text: each flag with the kind
// of value it takes, what it does, its built-in default and its environment
// variable, then notes on the kinds used. The defaults shown are the
// built-in ones, never the environment's values, which may hold secrets
// (a Redis URL with a password).
func writeFlags(w io.Writer, flags []envFlag) {
	fmt.Fprintln(w, "Flags:")
	var env, bools, durations, lists bool
	for _, f := range flags {
		dash := "--"
		if len(f.name) == 1 {
			dash = "-"
		}
		if f.kind == "bool" {
			fmt.Fprintf(w, "  %s%s[=bool]\n", dash, f.name)
		} else {
			fmt.Fprintf(w, "  %s%s=%s\n", dash, f.name, f.kind)
		}
		writeWrapped(w, "        ", f.help)
		var where []string
		if f.def != "" {
			where = append(where, "default "+f.def)
		}
		if f.env != "" {
			where = append(where, "env "+f.env)
		}
		if len(where) > 0 {
			writeWrapped(w, "        ", "("+strings.Join(where, "; ")+")")
		}
		env = env || f.env != ""
		bools = bools || f.kind == "bool"
		durations = durations || f.kind == "duration"
		lists = lists || f.kind == "list"
	}
	fmt.Fprintln(w)
	notes := []string{"A value is given as --name=value or --name value."}
	if bools {
		notes = append(notes, "A bool flag given alone means true; it takes a value only as --name=false or --name=true.")
	}
	if env {
		notes = append(notes, "A flag not given is read from its environment variable if that is set, else it takes its default.")
	}
	if durations {
		notes = append(notes, "A duration is a number and a unit, such as 90s, 15m or 12h, or whole days, such as 30d.")
	}
	if lists {
		notes = append(notes, "A list is comma-separated.")
	}
	for _, n := range notes {
		writeWrapped(w, "", n)
	}
}

// writeWrapped writes text after indent, wrapped at 80 columns.
func writeWrapped(w io.Writer, indent, text string) {
	const width = 80
	line := indent
	for _, word := range strings.Fields(text) {
		if line != indent && len(line)+1+len(word) > width {
			fmt.Fprintln(w, line)
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += word
	}
	fmt.Fprintln(w, line)
}

// parseDuration accepts Go durations and whole days ("30d").
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("want a duration such as 720h or 30d, got %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as 720h or 30d, got %q", s)
	}
	return d, nil
}

// parseRetention applies "type=duration,type=duration" overrides.
func parseRetention(s string, r *features.Retention) error {
	if s == "" {
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		name, dur, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("want type=duration, got %q", part)
		}
		t, err := consent.ParseSignalType("retention", strings.TrimSpace(name))
		if err != nil {
			return err
		}
		d, err := parseDuration(strings.TrimSpace(dur))
		if err != nil {
			return err
		}
		if err := r.Set(t, d); err != nil {
			return err
		}
	}
	return nil
}

// parseWeights applies "type=weight,..." overrides and the half-life to w.
func parseWeights(overrides, halfLife string, w *engine.Weights) error {
	if overrides != "" {
		for _, part := range strings.Split(overrides, ",") {
			name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				return fmt.Errorf("--signal-weights: want type=weight, got %q", part)
			}
			t, err := consent.ParseSignalType("signal-weights", strings.TrimSpace(name))
			if err != nil {
				return err
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1000 {
				return fmt.Errorf("--signal-weights: %s: want a number from 0 to 1000, got %q", name, val)
			}
			w.PerType[t] = v
		}
	}
	d, err := parseDuration(halfLife)
	if halfLife == "0" {
		d, err = 0, nil
	}
	if err != nil || d < 0 {
		return fmt.Errorf("--weight-half-life: want a duration such as 720h or 30d, or 0, got %q", halfLife)
	}
	w.HalfLife = d
	return nil
}

// readSecret reads the master secret from a file or the environment. Raw
// bytes or standard base64 are accepted; either way at least 32 bytes.
func readSecret(path, env string) (features.Secret, error) {
	raw := env
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return features.Secret{}, fmt.Errorf("--pseudonym-key-file: %w", err)
		}
		raw = string(b)
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return features.Secret{}, nil
	}
	if decoded, err := base64.StdEncoding.DecodeString(raw); err == nil && len(decoded) >= features.MinSecretLen {
		return features.NewSecret(decoded)
	}
	s, err := features.NewSecret([]byte(raw))
	if err != nil {
		return features.Secret{}, fmt.Errorf("pseudonym key: need at least %d bytes (try: openssl rand -base64 48)", features.MinSecretLen)
	}
	return s, nil
}

// readAPIKeys reads role:key entries from a file or the environment.
func readAPIKeys(path, env string) ([]grpcapi.APIKey, error) {
	text := env
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--api-keys-file: %w", err)
		}
		text = string(b)
	}
	keys, err := grpcapi.ParseAPIKeys(text)
	if err != nil {
		return nil, fmt.Errorf("API keys: %w", err)
	}
	return keys, nil
}
