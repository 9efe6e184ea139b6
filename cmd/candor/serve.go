package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/internal/redisconn"
	"github.com/candorhq/candor/server"
	"github.com/candorhq/candor/server/grpcapi"
)

// listening is told the actual addresses once both listeners are open (tests
// listen on port 0 and learn the ports here).
type listening func(grpcAddr, httpAddr string)

// serve runs the server until ctx is done.
func serve(ctx context.Context, o serveOptions, stdout, stderr io.Writer, ready listening) error {
	log, err := newLogger(stderr, o.logFormat, o.logLevel)
	if err != nil {
		return err
	}
	if o.generatedSecret {
		log.Warn("demo mode: generated a throw-away pseudonym key; data cannot be read after a restart")
	}
	if o.demoKeys {
		log.Warn("demo mode: using the well-known demo API keys; listening on loopback only")
	}
	log.Info("starting", "config", configSummary(&o.cfg))

	store, err := redisconn.Open(ctx, o.cfg.RedisURL, o.cfg.RedisCluster)
	if err != nil {
		return err
	}
	defer store.Close()
	if store.Embedded {
		log.Warn("no --redis-url: using the embedded in-process store; data is held in memory only and lost at exit")
	}

	srv, err := server.New(o.cfg, store.Client, server.Options{Logger: log})
	if err != nil {
		return err
	}
	var demo *app.Demo
	if o.cfg.Demo {
		if demo, err = srv.SeedDemo(ctx); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		log.Info("demo data seeded", "items", demo.Items, "customers", demo.Customers, "signals", demo.Signals)
	}

	var lc net.ListenConfig
	grpcLis, err := lc.Listen(ctx, "tcp", o.cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("gRPC listener: %w", err)
	}
	httpLis, err := lc.Listen(ctx, "tcp", o.cfg.HTTPAddr)
	if err != nil {
		_ = grpcLis.Close()
		return fmt.Errorf("HTTP listener: %w", err)
	}
	if demo != nil && o.demoKeys {
		fmt.Fprint(stdout, server.Tour(demo, grpcLis.Addr().String(), httpLis.Addr().String()))
	}
	if ready != nil {
		ready(grpcLis.Addr().String(), httpLis.Addr().String())
	}
	return srv.Run(ctx, grpcLis, httpLis)
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: want debug, info, warn or error, got %q", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: want text or json, got %q", format)
}

// configSummary is the configuration as it may be logged: secrets redact
// themselves (see server.Config).
func configSummary(c *server.Config) string {
	roles := make([]string, 0, len(c.APIKeys))
	for _, k := range c.APIKeys {
		roles = append(roles, string(k.Role))
	}
	return fmt.Sprintf("grpc=%s http=%s store=%s namespace=%s demo=%t roles=[%s] explanation_retention=%s model_refresh=%s min_support=%d",
		c.GRPCAddr, c.HTTPAddr, c.RedisURL, c.Namespace, c.Demo, strings.Join(roles, ","), c.ExplanationRetention, c.ModelRefresh, c.Train.MinSupport)
}

// isLoopback reports whether a listen address binds loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func demoAPIKeys() []grpcapi.APIKey { return grpcapi.DemoAPIKeys() }
