package eval

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strconv"
	"strings"
)

// Layouts of rating files the readers understand.
const (
	// LayoutML100K is MovieLens 100K: u.data, "user item rating unixtime",
	// tab separated, no header.
	LayoutML100K = "ml-100k"
	// LayoutMLLatest is MovieLens "latest" (and 20M/25M/32M): ratings.csv
	// with the header userId,movieId,rating,timestamp.
	LayoutMLLatest = "ml-latest"
)

// Files read by each layout.
const (
	fileML100K   = "u.data"
	fileMLLatest = "ratings.csv"
	fileUsers    = "u.user" // demographics: read by the audit only
)

// ErrNoDataset is returned when a directory holds neither layout.
var ErrNoDataset = errors.New("eval: no u.data (MovieLens 100K) or ratings.csv (MovieLens latest) in the dataset directory")

// Rating is one rating with dense user and item indexes.
type Rating struct {
	User, Item int32
	Value      float64
	Time       int64 // unix seconds
}

// Dataset is a set of ratings with raw ids mapped to dense indexes (in order
// of first appearance in the file).
type Dataset struct {
	Layout  string
	Users   []string // raw user id by index
	Items   []string // raw item id by index
	Ratings []Rating // in file order
	// Duplicates counts (user, item) pairs rated more than once; only the
	// last rating in file order is kept.
	Duplicates int
}

// NumUsers returns the number of users.
func (d *Dataset) NumUsers() int { return len(d.Users) }

// NumItems returns the number of items.
func (d *Dataset) NumItems() int { return len(d.Items) }

// Load reads the ratings in fsys, detecting the layout: u.data first, then
// ratings.csv. It never reads u.user (see ReadDemographics).
func Load(fsys fs.FS) (*Dataset, error) {
	for _, l := range []struct{ name, layout string }{{fileML100K, LayoutML100K}, {fileMLLatest, LayoutMLLatest}} {
		f, err := fsys.Open(l.name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("eval.Load: %w", err)
		}
		ds, err := read(f, l.name, l.layout)
		_ = f.Close()
		if err != nil {
			return nil, err
		}
		return ds, nil
	}
	return nil, ErrNoDataset
}

// builder maps raw ids to indexes and drops repeated (user, item) pairs.
type builder struct {
	ds    *Dataset
	users map[string]int32
	items map[string]int32
	seen  map[uint64]int // (user<<32 | item) -> position in ds.Ratings
}

func newBuilder(layout string) *builder {
	return &builder{ds: &Dataset{Layout: layout}, users: map[string]int32{}, items: map[string]int32{}, seen: map[uint64]int{}}
}

func index(m map[string]int32, ids *[]string, id string) int32 {
	i, ok := m[id]
	if !ok {
		i = int32(len(*ids))
		m[id] = i
		*ids = append(*ids, id)
	}
	return i
}

func (b *builder) add(user, item string, value float64, t int64) {
	r := Rating{User: index(b.users, &b.ds.Users, user), Item: index(b.items, &b.ds.Items, item), Value: value, Time: t}
	key := uint64(r.User)<<32 | uint64(r.Item)
	if at, ok := b.seen[key]; ok {
		b.ds.Ratings[at] = r
		b.ds.Duplicates++
		return
	}
	b.seen[key] = len(b.ds.Ratings)
	b.ds.Ratings = append(b.ds.Ratings, r)
}

// read parses one ratings file; errors name the file and line.
func read(r io.Reader, name, layout string) (*Dataset, error) {
	b := newBuilder(layout)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	fail := func(format string, args ...any) error {
		return fmt.Errorf("eval: %s:%d: %s", name, line, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if layout == LayoutMLLatest && line == 1 {
			if text != "userId,movieId,rating,timestamp" {
				return nil, fail("want the header userId,movieId,rating,timestamp")
			}
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		sep, what := "\t", "tab-separated"
		if layout == LayoutMLLatest {
			sep, what = ",", "comma-separated"
		}
		f := strings.Split(text, sep)
		if len(f) != 4 {
			return nil, fail("want 4 %s fields (user, item, rating, time), got %d", what, len(f))
		}
		for k, name := range []string{"user", "item"} {
			if f[k] == "" || strings.TrimSpace(f[k]) != f[k] {
				return nil, fail("empty or padded %s id", name)
			}
		}
		v, err := strconv.ParseFloat(f[2], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, fail("rating %q is not a non-negative number", f[2])
		}
		t, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			return nil, fail("timestamp %q is not an integer", f[3])
		}
		b.add(f[0], f[1], v, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("eval: %s:%d: %w", name, line+1, err)
	}
	if layout == LayoutMLLatest && line == 0 {
		return nil, fmt.Errorf("eval: %s: empty file: want the header userId,movieId,rating,timestamp", name)
	}
	if len(b.ds.Ratings) == 0 {
		return nil, fmt.Errorf("eval: %s: no ratings", name)
	}
	return b.ds, nil
}

// Demographics are the sensitive attributes of u.user, by dense user index.
// Only the audit reads them; nothing that ranks may hold a Demographics.
type Demographics struct {
	Age    []int    // 0 when unknown
	Gender []string // "M", "F", or "" when unknown
}

// ReadDemographics reads u.user ("user|age|gender|occupation|zip") for the
// fairness audit. Users of ds missing from the file are unknown; users in
// the file that ds does not hold are ignored.
func ReadDemographics(fsys fs.FS, ds *Dataset) (*Demographics, error) {
	raw, err := fs.ReadFile(fsys, fileUsers)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("eval: the audit needs %s (MovieLens 100K demographics), which the dataset directory lacks", fileUsers)
	}
	if err != nil {
		return nil, fmt.Errorf("eval.ReadDemographics: %w", err)
	}
	byID := make(map[string]int32, len(ds.Users))
	for i, id := range ds.Users {
		byID[id] = int32(i)
	}
	d := &Demographics{Age: make([]int, len(ds.Users)), Gender: make([]string, len(ds.Users))}
	for n, text := range bytes.Split(raw, []byte("\n")) {
		text = bytes.TrimSuffix(text, []byte("\r"))
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		f := strings.Split(string(text), "|")
		if len(f) != 5 {
			return nil, fmt.Errorf("eval: %s:%d: want 5 |-separated fields (user, age, gender, occupation, zip), got %d", fileUsers, n+1, len(f))
		}
		age, err := strconv.Atoi(f[1])
		if err != nil || age < 0 || age > 150 {
			return nil, fmt.Errorf("eval: %s:%d: age %q is not a whole number of years", fileUsers, n+1, f[1])
		}
		if f[2] != "M" && f[2] != "F" {
			return nil, fmt.Errorf("eval: %s:%d: gender %q is not M or F", fileUsers, n+1, f[2])
		}
		if u, ok := byID[f[0]]; ok {
			d.Age[u], d.Gender[u] = age, f[2]
		}
	}
	return d, nil
}
