package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/candorhq/candor/engine/eval"
)

// evalOptions is the parsed command line of `candor eval`.
type evalOptions struct {
	dataset      string
	models       []string
	folds        int
	format       string
	seed         uint64
	consentRates []float64
	audit        bool
	checkGorse   bool
	verbose      bool
}

// parseEvalFlags reads the flags of `candor eval`; it does not touch the
// dataset.
func parseEvalFlags(args []string, stderr io.Writer) (evalOptions, error) {
	fs := flag.NewFlagSet("candor eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataset := fs.String("dataset", "", "`directory` holding u.data (MovieLens 100K) or ratings.csv (MovieLens latest); required")
	models := fs.String("models", strings.Join(eval.ModelNames(), ","), "comma-separated `list` of models to evaluate: "+strings.Join(eval.ModelNames(), ", "))
	folds := fs.Int("folds", 5, "cross-validation folds (2 to 100)")
	format := fs.String("format", "table", "output format: table or json")
	seed := fs.Uint64("seed", 1, "seed of the fold shuffle, the consent draw, validation carving and the models")
	rates := fs.String("consent-rate", "1", "share of customers consenting to model training and personalisation, from 0 to 1; a comma-separated `list` evaluates each")
	audit := fs.Bool("audit", false, "fairness audit by gender and age band from u.user (read only by the audit, after all ranking)")
	checkGorse := fs.Bool("check-gorse", false, "compare pop with Gorse's published ItemPop row on ml-100k and fail outside ±0.01")
	verbose := fs.Bool("v", false, "log progress per fold to stderr")
	usage := func(w io.Writer) {
		fmt.Fprint(w, "Usage: candor eval --dataset DIR [flags]\n\nOffline evaluation on MovieLens ratings (Gorse's 2019 ranking protocol).\n\n")
		writeFlags(w, flagsOf(fs))
	}
	if err := parseFlags(fs, args, usage); err != nil {
		return evalOptions{}, err
	}
	if fs.NArg() > 0 {
		return evalOptions{}, fmt.Errorf("eval: unexpected argument %q", fs.Arg(0))
	}
	o := evalOptions{dataset: strings.TrimSpace(*dataset), folds: *folds, format: *format, seed: *seed, audit: *audit, checkGorse: *checkGorse, verbose: *verbose}
	var errs []error
	if o.dataset == "" {
		errs = append(errs, errors.New("--dataset: required (e.g. --dataset ../shared/datasets/ml-100k)"))
	}
	for _, name := range strings.Split(*models, ",") {
		name = strings.TrimSpace(name)
		switch {
		case !slices.Contains(eval.ModelNames(), name):
			errs = append(errs, fmt.Errorf("--models: unknown model %q (known: %s)", name, strings.Join(eval.ModelNames(), ", ")))
		case slices.Contains(o.models, name):
			errs = append(errs, fmt.Errorf("--models: %q given twice", name))
		default:
			o.models = append(o.models, name)
		}
	}
	if o.folds < 2 || o.folds > 100 {
		errs = append(errs, fmt.Errorf("--folds: want 2 to 100, got %d", o.folds))
	}
	if o.format != "table" && o.format != "json" {
		errs = append(errs, fmt.Errorf("--format: want table or json, got %q", o.format))
	}
	for _, s := range strings.Split(*rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		switch {
		case err != nil || !(r >= 0 && r <= 1):
			errs = append(errs, fmt.Errorf("--consent-rate: want numbers from 0 to 1, got %q", s))
		case slices.Contains(o.consentRates, r):
			errs = append(errs, fmt.Errorf("--consent-rate: %g given twice", r))
		default:
			o.consentRates = append(o.consentRates, r)
		}
	}
	if o.checkGorse && (!slices.Contains(o.models, "pop") || !slices.Contains(o.consentRates, 1) || o.folds != 5) {
		errs = append(errs, errors.New("--check-gorse: needs pop among --models, consent rate 1 and 5 folds"))
	}
	return o, errors.Join(errs...)
}

// runEval evaluates and writes the report to stdout.
func runEval(ctx context.Context, o evalOptions, stdout, stderr io.Writer) error {
	models := make([]eval.Model, len(o.models))
	for k, name := range o.models {
		m, err := eval.New(name)
		if err != nil {
			return err
		}
		models[k] = m
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	info, err := os.Stat(o.dataset)
	if err != nil {
		return fmt.Errorf("--dataset: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("--dataset: %s is not a directory", o.dataset)
	}
	if o.audit {
		// Only its presence is checked here, so that a missing file fails
		// before minutes of ranking; its content is read by the audit alone.
		if _, err := os.Stat(filepath.Join(o.dataset, "u.user")); err != nil {
			return fmt.Errorf("--audit: needs u.user (MovieLens 100K demographics) in %s", o.dataset)
		}
	}
	name := filepath.Base(filepath.Clean(o.dataset))
	rep, err := eval.Run(ctx, os.DirFS(o.dataset), eval.Options{
		Models:       models,
		Folds:        o.folds,
		Seed:         o.seed,
		ConsentRates: o.consentRates,
		Audit:        o.audit,
		Name:         name,
		Logger:       slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		return err
	}
	if o.format == "json" {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteTable(stdout)
	}
	if err != nil {
		return err
	}
	if o.checkGorse {
		return eval.CheckGorse(rep, stderr)
	}
	return nil
}
