package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"sync"
	"time"
)

// Model is one immutable version of the item model.
type Model struct {
	// Version identifies the model by its content: the same training data
	// gives the same version on every server.
	Version string
	BuiltAt time.Time
	// Customers and Signals count what training used.
	Customers int
	Signals   int

	items     []string
	index     map[string]int32
	neighbors [][]neighbor // per item, sorted by neighbour index
	// popularity[i] is the number of customers who interacted with item i
	// divided by the largest such number; 0 below the minimum support.
	popularity []float64
	// popular lists items with non-zero popularity, most popular first.
	popular []int32

	scratch sync.Pool // *scoreScratch sized for this model
}

type neighbor struct {
	item int32
	sim  float64
}

// EmptyModel is the model before any training: no neighbours, no popularity.
func EmptyModel() *Model {
	return finishModel(&Model{Version: "empty", index: map[string]int32{}})
}

// NumItems returns the number of items the model knows.
func (m *Model) NumItems() int { return len(m.items) }

// scoreScratch is per-request scoring memory, reused through a pool.
type scoreScratch struct {
	scores []float64 // per item
	// slot per item: 0 untouched, -1 touched, k > 0 chosen as result k-1.
	slot    []int32
	touched []int32
	top     []int32
	weights []float64 // per usable signal
	sources []int32   // per usable signal: its item's index, or -1
}

// reset clears what a request wrote and returns the scratch to the pool.
func (sc *scoreScratch) reset(m *Model) {
	for _, j := range sc.touched {
		sc.scores[j] = 0
		sc.slot[j] = 0
	}
	sc.touched = sc.touched[:0]
	m.scratch.Put(sc)
}

func finishModel(m *Model) *Model {
	n := len(m.items)
	m.scratch.New = func() any { return &scoreScratch{scores: make([]float64, n), slot: make([]int32, n)} }
	m.Version = "cooc-" + m.fingerprint()
	if n == 0 {
		m.Version = "empty"
	}
	return m
}

// fingerprint hashes the model's content.
func (m *Model) fingerprint() string {
	h := sha256.New()
	var buf [8]byte
	for i, id := range m.items {
		h.Write([]byte(id))
		h.Write([]byte{0})
		binary.BigEndian.PutUint64(buf[:], math.Float64bits(m.popularity[i]))
		h.Write(buf[:])
		for _, nb := range m.neighbors[i] {
			binary.BigEndian.PutUint32(buf[:4], uint32(nb.item))
			h.Write(buf[:4])
			binary.BigEndian.PutUint64(buf[:], math.Float64bits(nb.sim))
			h.Write(buf[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}
