package engine

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ALSStore keeps trained ALS models in Redis, versioned, so that every
// server can pick up the one `candor train` wrote last. The model holds no
// personal data: item factors and counts only.
//
// Keys (one hash tag, so that moving the current pointer is one
// transaction):
//
//	<ns>:{model}:current      the current version id
//	<ns>:{model}:versions     sorted set, version id -> trained at (unix ms)
//	<ns>:{model}:v:<version>  hash: "info" (JSON), "items" (ids, one per
//	                          line), "f:<n>" (factors of items n·1024 to
//	                          n·1024+1023, little-endian float64)
type ALSStore struct {
	rdb  redis.UniversalClient
	base string
}

// NewALSStore returns the model store under namespace ns.
func NewALSStore(rdb redis.UniversalClient, ns string) *ALSStore {
	return &ALSStore{rdb: rdb, base: ns + ":{model}:"}
}

const factorChunk = 1024 // items per stored chunk of factors

func (s *ALSStore) currentKey() string         { return s.base + "current" }
func (s *ALSStore) versionsKey() string        { return s.base + "versions" }
func (s *ALSStore) versionKey(v string) string { return s.base + "v:" + v }
func chunkField(n int) string                  { return "f:" + strconv.Itoa(n) }
func (s *ALSStore) chunks(m *ALSModel) int     { return (m.NumItems() + factorChunk - 1) / factorChunk }

// ErrNoModel is returned when no ALS model has been trained yet.
var ErrNoModel = errors.New("no ALS model trained yet")

// Save writes a model version, makes it current, and deletes all but the
// newest keep versions. Servers keep serving the version they loaded until
// they load the new one, so deleting an old version fails no request.
func (s *ALSStore) Save(ctx context.Context, m *ALSModel, keep int) error {
	if keep < 1 {
		return fmt.Errorf("engine.ALSStore.Save: keep at least 1 version, got %d", keep)
	}
	info, err := json.Marshal(m.Info)
	if err != nil {
		return fmt.Errorf("engine.ALSStore.Save: %w", err)
	}
	key := s.versionKey(m.Info.Version)
	k := m.factors.k
	fields := []any{"info", info, "items", strings.Join(m.items, "\n")}
	for n := 0; n < s.chunks(m); n++ {
		lo, hi := n*factorChunk, min((n+1)*factorChunk, m.NumItems())
		buf := make([]byte, 0, (hi-lo)*k*8)
		for _, v := range m.factors.items[lo*k : hi*k] {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
		}
		fields = append(fields, chunkField(n), buf)
	}
	// The version is complete before it becomes current.
	if err := s.rdb.HSet(ctx, key, fields...).Err(); err != nil {
		return fmt.Errorf("engine.ALSStore.Save: %w", err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.ZAdd(ctx, s.versionsKey(), redis.Z{Score: float64(m.Info.TrainedAt.UnixMilli()), Member: m.Info.Version})
		pipe.Set(ctx, s.currentKey(), m.Info.Version, 0)
		return nil
	})
	if err != nil {
		return fmt.Errorf("engine.ALSStore.Save: %w", err)
	}
	return s.prune(ctx, m.Info.Version, keep)
}

// prune deletes all but the newest keep versions (never the current one).
func (s *ALSStore) prune(ctx context.Context, current string, keep int) error {
	old, err := s.rdb.ZRevRange(ctx, s.versionsKey(), int64(keep), -1).Result()
	if err != nil {
		return fmt.Errorf("engine.ALSStore.prune: %w", err)
	}
	for _, v := range old {
		if v == current {
			continue
		}
		if _, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Del(ctx, s.versionKey(v))
			pipe.ZRem(ctx, s.versionsKey(), v)
			return nil
		}); err != nil {
			return fmt.Errorf("engine.ALSStore.prune: %w", err)
		}
	}
	return nil
}

// Versions lists the stored versions, newest first.
func (s *ALSStore) Versions(ctx context.Context) ([]string, error) {
	return s.rdb.ZRevRange(ctx, s.versionsKey(), 0, -1).Result()
}

// Current returns the current version id, or ErrNoModel.
func (s *ALSStore) Current(ctx context.Context) (string, error) {
	v, err := s.rdb.Get(ctx, s.currentKey()).Result()
	if errors.Is(err, redis.Nil) {
		return "", ErrNoModel
	}
	if err != nil {
		return "", fmt.Errorf("engine.ALSStore.Current: %w", err)
	}
	return v, nil
}

// Load reads one version.
func (s *ALSStore) Load(ctx context.Context, version string) (*ALSModel, error) {
	h, err := s.rdb.HGetAll(ctx, s.versionKey(version)).Result()
	if err != nil {
		return nil, fmt.Errorf("engine.ALSStore.Load: %w", err)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("engine.ALSStore.Load %s: %w", version, ErrNoModel)
	}
	var info ALSInfo
	if err := json.Unmarshal([]byte(h["info"]), &info); err != nil {
		return nil, fmt.Errorf("engine.ALSStore.Load %s: corrupt info: %w", version, err)
	}
	items := strings.Split(h["items"], "\n")
	k := info.Options.Factors
	if len(items) != info.Items || k < 1 {
		return nil, fmt.Errorf("engine.ALSStore.Load %s: corrupt model: %d item ids for %d items", version, len(items), info.Items)
	}
	factors := make([]float64, 0, len(items)*k)
	for n := 0; n*factorChunk < len(items); n++ {
		raw := h[chunkField(n)]
		want := (min((n+1)*factorChunk, len(items)) - n*factorChunk) * k * 8
		if len(raw) != want {
			return nil, fmt.Errorf("engine.ALSStore.Load %s: corrupt factors chunk %d", version, n)
		}
		for off := 0; off < len(raw); off += 8 {
			factors = append(factors, math.Float64frombits(binary.LittleEndian.Uint64([]byte(raw[off:off+8]))))
		}
	}
	f := &Factors{k: k, n: len(items), items: factors, gram: make([]float64, k*k), alpha: info.Options.Alpha, lambda: info.Options.Lambda}
	gramOf(f.items, f.n, k, f.lambda, f.gram)
	return NewALSModel(info, items, f)
}

// Follow keeps holder's ALS model current: it checks the current version
// every interval and loads a new one when it changes, until ctx is done. A
// failed load is logged and retried at the next check; the model in use
// stays.
func (s *ALSStore) Follow(ctx context.Context, holder *Holder, interval time.Duration, log *slog.Logger) {
	check := func() {
		v, err := s.Current(ctx)
		if errors.Is(err, ErrNoModel) || (err == nil && holder.ALSVersion() == v) {
			return
		}
		var m *ALSModel
		if err == nil {
			m, err = s.Load(ctx, v)
		}
		if err != nil {
			if ctx.Err() == nil {
				log.ErrorContext(ctx, "loading the ALS model failed; keeping the one in use", "err", err)
			}
			return
		}
		holder.SwapALS(m)
		log.InfoContext(ctx, "ALS model loaded", "version", v, "items", m.NumItems(), "trained_at", m.Info.TrainedAt)
	}
	check()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			check()
		}
	}
}
