// Command candor is the privacy-first personalization engine.
//
//	candor serve [flags]   run the API (gRPC and REST); --demo for a tour
//	candor train [flags]   train the ALS item model from the store
//	candor eval [flags]    measure recommendation quality offline
//	candor version
//
// main only wires the process: it turns signals into context cancellation,
// runs, and turns an error into an exit status.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "candor:", err)
		}
		os.Exit(2)
	}
}

var errUsage = errors.New("usage")

const usage = `candor: a privacy-first personalization engine

Usage:
  candor serve [flags]    serve the API over gRPC and REST (candor serve --help)
  candor train [flags]    train the ALS item model from the store (candor train --help)
  candor eval [flags]     measure recommendation quality offline (candor eval --help)
  candor version          print the version

Quick start (embedded store, demo data, no set-up):
  go run ./cmd/candor serve --demo
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// run dispatches a subcommand. getenv is os.Getenv in production and a map
// in tests.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		opts, err := parseServeFlags(args[1:], getenv, stderr)
		if err != nil {
			return printHelp(err, stdout)
		}
		return serve(ctx, opts, stdout, stderr, nil)
	case "train":
		opts, err := parseTrainFlags(args[1:], getenv, stderr)
		if err != nil {
			return printHelp(err, stdout)
		}
		return train(ctx, opts, stdout, stderr)
	case "eval":
		opts, err := parseEvalFlags(args[1:], stderr)
		if err != nil {
			return printHelp(err, stdout)
		}
		return runEval(ctx, opts, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "candor", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "candor: unknown command %q\n\n%s", args[0], usage)
		return errUsage
	}
}
