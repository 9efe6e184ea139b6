package redisx_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/internal/redistest"
	"github.com/candorhq/candor/internal/redisx"
)

func TestCounter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		val     string
		err     error
		def     int64
		want    int64
		wantErr bool
	}{
		{"", redis.Nil, 1, 1, false},
		{"", redis.Nil, 0, 0, false},
		{"7", nil, 1, 7, false},
		{"0", nil, 1, 0, true},
		{"0", nil, 0, 0, false},
		{"-3", nil, 0, 0, true},
		{"seven", nil, 0, 0, true},
		{"", errors.New("connection refused"), 0, 0, true},
	}
	for _, tt := range tests {
		got, err := redisx.Counter(redis.NewStringResult(tt.val, tt.err), tt.def)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Counter(%q, %v, %d) = %d, %v; want %d, error=%v", tt.val, tt.err, tt.def, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestWatchRetriesThenGivesUp: a transaction whose watched key changes on
// every attempt is retried MaxAttempts times, then fails with ErrContention.
func TestWatchRetriesThenGivesUp(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	ctx := context.Background()
	key := r.Namespace + ":k"
	var attempts atomic.Int32
	err := redisx.Watch(ctx, r.Client, "test", func(tx *redis.Tx) error {
		attempts.Add(1)
		if err := r.Client.Incr(ctx, key).Err(); err != nil { // another writer
			return err
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, key, "mine", 0); return nil })
		return err
	}, key)
	if !errors.Is(err, redisx.ErrContention) || attempts.Load() != redisx.MaxAttempts {
		t.Fatalf("err %v after %d attempts; want ErrContention after %d", err, attempts.Load(), redisx.MaxAttempts)
	}
	if v := r.Client.Get(ctx, key).Val(); v != "16" {
		t.Fatalf("key = %q; no attempt may have committed", v)
	}
}

func TestScanKeysSeesEveryKey(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	ctx := context.Background()
	for i := 0; i < 2500; i++ {
		r.Client.Set(ctx, r.Namespace+":scan:"+string(rune('a'+i%26))+":"+itoa(i), "v", 0)
	}
	seen := map[string]bool{}
	err := redisx.ScanKeys(ctx, r.Client, r.Namespace+":scan:*", func(keys []string) error {
		for _, k := range keys {
			seen[k] = true
		}
		return nil
	})
	if err != nil || len(seen) != 2500 {
		t.Fatalf("scan saw %d keys (%v), want 2500", len(seen), err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
