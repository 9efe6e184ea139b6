package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/candorhq/candor/consent"
)

const testKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm" // base64 of 48 bytes

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestServeFlags(t *testing.T) {
	t.Parallel()
	keys := "storefront:a-key-of-sufficient-length"
	cases := []struct {
		name string
		args []string
		env  map[string]string
		err  string // empty: must succeed
	}{
		{"no pseudonym key outside demo", nil, map[string]string{"CANDOR_API_KEYS": keys}, "no pseudonym key"},
		{"no API keys outside demo", nil, map[string]string{"CANDOR_PSEUDONYM_KEY": testKey}, "no API keys"},
		{"short pseudonym key", nil, map[string]string{"CANDOR_PSEUDONYM_KEY": "short", "CANDOR_API_KEYS": keys}, "at least 32 bytes"},
		{"configured", nil, map[string]string{"CANDOR_PSEUDONYM_KEY": testKey, "CANDOR_API_KEYS": keys}, ""},
		{"demo alone", []string{"--demo"}, nil, ""},
		{"demo from the environment", nil, map[string]string{"CANDOR_DEMO": "true"}, ""},
		{"demo with a redis url", []string{"--demo", "--redis-url=redis://127.0.0.1:6379"}, nil, "embedded store only"},
		{"demo keys off loopback", []string{"--demo", "--http-addr=0.0.0.0:8080"}, nil, "loopback only"},
		{"demo off loopback with real keys", []string{"--demo", "--http-addr=0.0.0.0:8080"}, map[string]string{"CANDOR_API_KEYS": keys}, ""},
		{"bad retention type", []string{"--demo", "--retention=clicks=3d"}, nil, `unknown signal type "clicks"`},
		{"retention too short", []string{"--demo", "--retention=view=1m"}, nil, "between"},
		{"bad duration", []string{"--demo", "--model-refresh=soon"}, nil, "--model-refresh"},
		{"min support below the privacy minimum", []string{"--demo", "--min-support=1"}, nil, "min support must be at least 2"},
		{"stray argument", []string{"--demo", "extra"}, nil, "unexpected argument"},
		{"unknown weighted type", []string{"--demo", "--signal-weights=clicks=2"}, nil, `unknown signal type "clicks"`},
		{"negative weight", []string{"--demo", "--signal-weights=view=-1"}, nil, "want a number from 0 to 1000"},
		{"bad half-life", []string{"--demo", "--weight-half-life=soon"}, nil, "--weight-half-life"},
	}
	for _, c := range cases {
		_, err := parseServeFlags(c.args, envOf(c.env), io.Discard)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v; want one containing %q", c.name, err, c.err)
		}
	}
}

func TestServeFlagsValues(t *testing.T) {
	t.Parallel()
	o, err := parseServeFlags([]string{"--demo", "--retention=view=30d,search=12h", "--explanation-retention=7d", "--namespace=shop1", "--signal-weights=purchase=6", "--weight-half-life=0"},
		envOf(map[string]string{"CANDOR_MODEL_REFRESH": "5s", "CANDOR_NAMESPACE": "ignored-by-flag"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if c.SignalRetention.For(consent.View) != 30*24*time.Hour || c.SignalRetention.For(consent.Search) != 12*time.Hour {
		t.Errorf("retention: view %s, search %s", c.SignalRetention.For(consent.View), c.SignalRetention.For(consent.Search))
	}
	if c.SignalRetention.For(consent.Purchase) != consent.Purchase.Retention() {
		t.Errorf("purchase retention changed: %s", c.SignalRetention.For(consent.Purchase))
	}
	if c.ExplanationRetention != 7*24*time.Hour || c.ModelRefresh != 5*time.Second || c.Namespace != "shop1" {
		t.Errorf("explanation retention %s, model refresh %s, namespace %s", c.ExplanationRetention, c.ModelRefresh, c.Namespace)
	}
	if c.Train.Weights.PerType[consent.Purchase] != 6 || c.Train.Weights.PerType[consent.View] != 1 || c.Train.Weights.HalfLife != 0 {
		t.Errorf("weights: %+v", c.Train.Weights)
	}
	if !o.generatedSecret || !o.demoKeys || len(c.APIKeys) != 5 {
		t.Errorf("demo defaults: generated secret %t, demo keys %t, %d keys", o.generatedSecret, o.demoKeys, len(c.APIKeys))
	}
}

// TestHelpExitsZero: --help and -h print the usage to stdout and succeed
// (run returns nil, so main exits 0), even with a bad environment.
func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"serve", "train", "eval"} {
		for _, flag := range []string{"--help", "-h", "-help"} {
			var stdout, stderr strings.Builder
			err := run(context.Background(), []string{cmd, flag}, envOf(map[string]string{"CANDOR_MIN_SUPPORT": "many"}), &stdout, &stderr)
			if err != nil {
				t.Errorf("candor %s %s: %v; want success (exit 0)", cmd, flag, err)
			}
			if !strings.HasPrefix(stdout.String(), "Usage: candor "+cmd) {
				t.Errorf("candor %s %s: stdout %q; want the usage", cmd, flag, stdout.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("candor %s %s: stderr %q; want nothing", cmd, flag, stderr.String())
			}
		}
	}
}

// TestBadFlagIsAnError: an unknown or malformed flag is still an error
// (errUsage: exit 2), explained on stderr, with nothing on stdout.
func TestBadFlagIsAnError(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"serve", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"train", "--factors"}, "flag needs an argument: -factors"},
		{[]string{"eval", "--folds=five"}, `invalid value "five" for flag -folds`},
		{[]string{"serve", "--bogus", "--help"}, "flag provided but not defined: -bogus"},
	} {
		var stdout, stderr strings.Builder
		err := run(context.Background(), c.args, envOf(nil), &stdout, &stderr)
		if !errors.Is(err, errUsage) {
			t.Errorf("%v: %v; want errUsage (exit 2)", c.args, err)
		}
		if !strings.Contains(stderr.String(), c.msg) || !strings.Contains(stderr.String(), "Usage: candor "+c.args[0]) {
			t.Errorf("%v: stderr %q; want %q and the usage", c.args, stderr.String(), c.msg)
		}
		if stdout.Len() > 0 {
			t.Errorf("%v: stdout %q; want nothing", c.args, stdout.String())
		}
	}
}

// TestHelpText: the usage names each flag's kind, default and environment
// variable.
func TestHelpText(t *testing.T) {
	t.Parallel()
	help := func(cmd string, env map[string]string) string {
		var stdout strings.Builder
		if err := run(context.Background(), []string{cmd, "--help"}, envOf(env), &stdout, io.Discard); err != nil {
			t.Fatalf("candor %s --help: %v", cmd, err)
		}
		return stdout.String()
	}
	for cmd, want := range map[string][]string{
		"serve": {
			"--model-poll=duration\n", "(default 2s; env CANDOR_MODEL_POLL)\n",
			"--min-support=int\n", "(default 3; env CANDOR_MIN_SUPPORT)\n",
			"--demo[=bool]\n", "(default false; env CANDOR_DEMO)\n",
			"--retention=list\n", "--grpc-addr=host:port\n", "--pseudonym-key-file=file\n",
			"A duration is a number and a unit", "30d",
		},
		"train": {"--lambda=float\n", "--factors=int\n", "(default 64; env CANDOR_ALS_FACTORS)\n", "--seed=uint\n", "--weight-half-life=duration\n", "--redis-cluster[=bool]\n"},
		"eval":  {"--folds=int\n", "(default 5)\n", "--models=list\n", "--consent-rate=list\n", "--audit[=bool]\n", "-v[=bool]\n", "--dataset=directory\n"},
	} {
		text := help(cmd, nil)
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("candor %s --help lacks %q:\n%s", cmd, w, text)
			}
		}
		for _, line := range strings.Split(text, "\n") {
			if len(line) > 80 {
				t.Errorf("candor %s --help: line longer than 80 columns: %q", cmd, line)
			}
		}
	}

	// The defaults shown are the built-in ones: the environment's values can
	// hold secrets.
	text := help("serve", map[string]string{"CANDOR_REDIS_URL": "redis://:hunter2hunter2@db:6379/0", "CANDOR_MODEL_POLL": "9s"})
	if strings.Contains(text, "hunter2") || strings.Contains(text, "9s") || !strings.Contains(text, "(default 2s; env CANDOR_MODEL_POLL)") {
		t.Errorf("help shows values of the environment:\n%s", text)
	}
}

// TestFlagKindsAreChecked: the kind --help names for a flag is the one its
// parser checks: a value of another kind is refused, naming the flag.
func TestFlagKindsAreChecked(t *testing.T) {
	t.Parallel()
	bad := map[string]string{"bool": "maybe", "int": "1.5", "uint": "-1", "float": "many", "duration": "soon", "list": "view"}
	for _, c := range []struct {
		cmd   string
		flags []envFlag
		parse func([]string) error
	}{
		{"serve", serveFlags, func(args []string) error { _, err := parseServeFlags(args, envOf(nil), io.Discard); return err }},
		{"train", trainFlags, func(args []string) error { _, err := parseTrainFlags(args, envOf(nil), io.Discard); return err }},
	} {
		for _, f := range c.flags {
			v, ok := bad[f.kind]
			if !ok {
				continue
			}
			err := c.parse([]string{"--" + f.name + "=" + v})
			if err == nil || !strings.Contains(err.Error(), "--"+f.name) {
				t.Errorf("candor %s --%s=%s (a %s flag): %v; want an error naming --%s", c.cmd, f.name, v, f.kind, err, f.name)
			}
		}
	}
}
