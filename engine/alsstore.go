package engine

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/internal/keyspace"
	"github.com/candorhq/candor/internal/redisx"
)

// ALSStore keeps trained ALS models in Redis, versioned, so that every
// server can pick up the one `candor train` wrote last. The model holds no
// personal data: item factors and counts only.
//
// Its keys (one hash tag, so that moving the current pointer is one
// transaction) are keyspace.ModelCurrent (the current version id),
// keyspace.ModelVersions (sorted set, version id -> trained at, unix ms) and
// keyspace.Model, one hash per version: "info" (JSON), "items" (ids, one per
// line), "f:<n>" (factors of items n·1024 to n·1024+1023, little-endian
// float64).
type ALSStore struct {
	rdb  redis.UniversalClient
	keys keyspace.Keyspace
}

// NewALSStore returns the model store under the keyspace.
func NewALSStore(rdb redis.UniversalClient, keys keyspace.Keyspace) *ALSStore {
	return &ALSStore{rdb: rdb, keys: keys}
}

const factorChunk = 1024 // items per stored chunk of factors

func (s *ALSStore) currentKey() string         { return s.keys.ModelCurrent() }
func (s *ALSStore) versionsKey() string        { return s.keys.ModelVersions() }
func (s *ALSStore) versionKey(v string) string { return s.keys.Model(v) }
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
	// Commit, make current and prune in one optimistic transaction, so
	// that overlapping runs cannot leave current on a pruned version or an
	// older training current.
	score := float64(m.Info.TrainedAt.UnixMilli())
	commit := func(tx *redis.Tx) error {
		all, err := tx.ZRevRangeWithScores(ctx, s.versionsKey(), 0, -1).Result()
		if err != nil {
			return err
		}
		all = slices.DeleteFunc(all, func(z redis.Z) bool { return z.Member == m.Info.Version })
		at, _ := slices.BinarySearchFunc(all, score, func(z redis.Z, t float64) int { return cmp.Compare(t, z.Score) })
		all = slices.Insert(all, at, redis.Z{Score: score, Member: m.Info.Version})
		newest := all[0].Member.(string)
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.ZAdd(ctx, s.versionsKey(), redis.Z{Score: score, Member: m.Info.Version})
			pipe.Set(ctx, s.currentKey(), newest, 0)
			for _, z := range all[min(keep, len(all)):] {
				if v := z.Member.(string); v != newest {
					pipe.Del(ctx, s.versionKey(v))
					pipe.ZRem(ctx, s.versionsKey(), v)
				}
			}
			return nil
		})
		return err
	}
	return redisx.Watch(ctx, s.rdb, "engine.ALSStore.Save", commit, s.currentKey(), s.versionsKey())
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
// stays. A model trained more than maxAge before now is not served (the
// co-occurrence model, retrained by every server, answers instead): that
// bounds how long a customer who revoked model_training, or was erased,
// can stay reflected in the answers when training stops running.
func (s *ALSStore) Follow(ctx context.Context, holder *Holder, interval, maxAge time.Duration, now func() time.Time, log *slog.Logger) {
	check := s.follower(holder, maxAge, now, log)
	check(ctx)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			check(ctx)
		}
	}
}

// follower returns the check Follow runs at start and then every interval.
// The check keeps state between calls (the current version found too old),
// so one follower serves one Follow.
func (s *ALSStore) follower(holder *Holder, maxAge time.Duration, now func() time.Time, log *slog.Logger) func(context.Context) {
	stale := func(m *ALSModel) bool { return now().Sub(m.Info.TrainedAt) > maxAge }
	tooOld := "" // a current version found too old, not to be loaded again
	return func(ctx context.Context) {
		if m := holder.Models().ALS; m != nil && stale(m) {
			holder.SwapALS(nil)
			log.WarnContext(ctx, "the ALS model is older than the maximum age and is no longer served; run candor train",
				"version", m.Info.Version, "trained_at", m.Info.TrainedAt, "max_age", maxAge)
		}
		v, err := s.Current(ctx)
		if errors.Is(err, ErrNoModel) || (err == nil && (holder.ALSVersion() == v || tooOld == v)) {
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
		if stale(m) {
			tooOld = v
			holder.SwapALS(nil)
			log.WarnContext(ctx, "the current ALS model is older than the maximum age; not serving it; run candor train",
				"version", v, "trained_at", m.Info.TrainedAt, "max_age", maxAge)
			return
		}
		holder.SwapALS(m)
		log.InfoContext(ctx, "ALS model loaded", "version", v, "items", m.NumItems(), "trained_at", m.Info.TrainedAt)
	}
}
