package redisconn

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Store is an open connection to the data store.
type Store struct {
	Client redis.UniversalClient
	// Embedded is true when the data lives in this process's memory only.
	Embedded bool
	close    func()
}

// Close releases the connection (and stops an embedded server).
func (s *Store) Close() { s.close() }

// Open connects to Redis as configured: the embedded in-process server
// when no URL is given, one server for a single redis:// URL, a cluster for a
// comma-separated list of addresses (or with cluster set). It fails unless
// the store answers a PING; its errors hold the URL redacted (URL.String).
func Open(ctx context.Context, rawURL URL, cluster bool) (*Store, error) {
	raw := strings.TrimSpace(string(rawURL))
	if raw == "" {
		return openEmbedded()
	}
	opts, err := universalOptions(raw, cluster)
	if err != nil {
		return nil, err
	}
	client := redis.NewUniversalClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redis %s does not answer: %w", rawURL, err)
	}
	return &Store{Client: client, close: func() { _ = client.Close() }}, nil
}

func universalOptions(raw string, cluster bool) (*redis.UniversalOptions, error) {
	parts := strings.Split(raw, ",")
	opts := &redis.UniversalOptions{IsClusterMode: cluster || len(parts) > 1}
	for _, part := range parts {
		part = strings.TrimSpace(part)
		if !strings.Contains(part, "://") {
			opts.Addrs = append(opts.Addrs, part)
			continue
		}
		o, err := redis.ParseURL(part)
		if err != nil {
			// Never wrap err: url.Parse errors quote the whole URL, password
			// included, and escape errors quote part of it.
			return nil, fmt.Errorf("redis URL %s: malformed (want redis://[user:pass@]host:port/db)", URL(part))
		}
		opts.Addrs = append(opts.Addrs, o.Addr)
		if o.Username != "" {
			opts.Username = o.Username
		}
		if o.Password != "" {
			opts.Password = o.Password
		}
		if o.TLSConfig != nil {
			opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.TLSConfig.ServerName}
		}
		if !opts.IsClusterMode {
			opts.DB = o.DB
		}
	}
	return opts, nil
}

func openEmbedded() (*Store, error) {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	// The embedded server's TTLs only move when told to: advance them with
	// the wall clock once a second, so keys expire as on a real server.
	// (miniredis's ClockTTL does the same on every command, at a cost that
	// grows with the number of keys.)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		ticker := time.NewTicker(time.Second)
		defer ticker.Stop()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case now := <-ticker.C:
				mr.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	return &Store{Client: client, Embedded: true, close: func() {
		close(stop)
		<-done
		_ = client.Close()
		mr.Close()
	}}, nil
}
