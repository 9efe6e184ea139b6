package eval

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeDir writes files into a fresh temporary directory and returns it.
func writeDir(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func TestLoadBothLayouts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file, content, layout string
	}{
		{"ml-100k", "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t377\t1\t878887116\n", LayoutML100K},
		{"ml-latest", "ratings.csv", "userId,movieId,rating,timestamp\r\n196,242,3.0,881250949\r\n186,302,3.5,891717742\r\n196,377,0.5,878887116\r\n", LayoutMLLatest},
	}
	for _, c := range cases {
		ds, err := Load(os.DirFS(writeDir(t, map[string]string{c.file: c.content})))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if ds.Layout != c.layout || !slices.Equal(ds.Users, []string{"196", "186"}) || !slices.Equal(ds.Items, []string{"242", "302", "377"}) {
			t.Errorf("%s: layout %s, users %v, items %v", c.name, ds.Layout, ds.Users, ds.Items)
		}
		want := []Rating{{0, 0, 3, 881250949}, {1, 1, 3, 891717742}, {0, 2, 1, 878887116}}
		if c.layout == LayoutMLLatest {
			want[1].Value, want[2].Value = 3.5, 0.5
		}
		if !slices.Equal(ds.Ratings, want) {
			t.Errorf("%s: ratings %v, want %v", c.name, ds.Ratings, want)
		}
	}
}

func TestLoadPrefersUData(t *testing.T) {
	t.Parallel()
	ds, err := Load(os.DirFS(writeDir(t, map[string]string{"u.data": "1\t2\t3\t4\n", "ratings.csv": "userId,movieId,rating,timestamp\n9,9,9,9\n"})))
	if err != nil || ds.Layout != LayoutML100K {
		t.Fatalf("layout %v, err %v", ds, err)
	}
}

func TestLoadDuplicatesKeepTheLast(t *testing.T) {
	t.Parallel()
	ds, err := Load(mapFS(map[string]string{"u.data": "1\t2\t3\t10\n1\t3\t4\t11\n1\t2\t5\t12\n"}))
	if err != nil {
		t.Fatal(err)
	}
	if ds.Duplicates != 1 || len(ds.Ratings) != 2 || ds.Ratings[0] != (Rating{0, 0, 5, 12}) {
		t.Errorf("duplicates %d, ratings %v", ds.Duplicates, ds.Ratings)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	header := "userId,movieId,rating,timestamp\n"
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no file", map[string]string{"README": "hello"}, "no u.data"},
		{"three fields", map[string]string{"u.data": "1\t2\t3\t4\n1\t2\t3\n"}, "u.data:2: want 4 tab-separated fields"},
		{"spaces, not tabs", map[string]string{"u.data": "1 2 3 4\n"}, "u.data:1: want 4 tab-separated fields"},
		{"bad rating", map[string]string{"u.data": "1\t2\t3\t4\n\n1\t3\tfive\t4\n"}, `u.data:3: rating "five"`},
		{"NaN rating", map[string]string{"u.data": "1\t2\tNaN\t4\n"}, `u.data:1: rating "NaN"`},
		{"negative rating", map[string]string{"u.data": "1\t2\t-1\t4\n"}, `u.data:1: rating "-1"`},
		{"bad time", map[string]string{"u.data": "1\t2\t3\tyesterday\n"}, `u.data:1: timestamp "yesterday"`},
		{"empty id", map[string]string{"u.data": "\t2\t3\t4\n"}, "u.data:1: empty or padded user id"},
		{"no rating at all", map[string]string{"u.data": "\n\n"}, "u.data: no ratings"},
		{"no header", map[string]string{"ratings.csv": "1,2,3,4\n"}, "ratings.csv:1: want the header"},
		{"empty csv", map[string]string{"ratings.csv": ""}, "ratings.csv: empty file"},
		{"csv fields", map[string]string{"ratings.csv": header + "1,2,3,4\n1,2,3\n"}, "ratings.csv:3: want 4 comma-separated fields"},
		{"line too long", map[string]string{"u.data": "1\t2\t3\t4\n" + strings.Repeat("x", 2<<20) + "\n"}, "u.data:2:"},
	}
	for _, c := range cases {
		_, err := Load(mapFS(c.files))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := Load(mapFS(nil)); !errors.Is(err, ErrNoDataset) {
		t.Errorf("empty directory: %v, want ErrNoDataset", err)
	}
}

func TestReadDemographics(t *testing.T) {
	t.Parallel()
	ds := &Dataset{Users: []string{"1", "2", "3"}}
	d, err := ReadDemographics(mapFS(map[string]string{"u.user": "1|24|M|technician|85711\r\n3|53|F|other|94043\n99|30|F|writer|00000\n"}), ds)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Age, []int{24, 0, 53}) || !slices.Equal(d.Gender, []string{"M", "", "F"}) {
		t.Errorf("ages %v, genders %v", d.Age, d.Gender)
	}
	for _, c := range []struct{ content, want string }{
		{"1|24|M|x\n", "u.user:1: want 5"},
		{"1|24|M|x|1\n2|old|F|x|1\n", `u.user:2: age "old"`},
		{"1|24|X|x|1\n", `u.user:1: gender "X"`},
	} {
		if _, err := ReadDemographics(mapFS(map[string]string{"u.user": c.content}), ds); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.content, err, c.want)
		}
	}
	if _, err := ReadDemographics(mapFS(nil), ds); err == nil || !strings.Contains(err.Error(), "u.user") {
		t.Errorf("missing u.user: %v", err)
	}
}

// FuzzLoad: the readers never panic, and what they accept is consistent.
func FuzzLoad(f *testing.F) {
	f.Add("u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
	f.Add("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.5,4\n")
	f.Add("u.data", "1\t2\t3\n")
	f.Fuzz(func(t *testing.T, name, content string) {
		if name != "u.data" && name != "ratings.csv" {
			return
		}
		ds, err := Load(mapFS(map[string]string{name: content}))
		if err != nil {
			return
		}
		for _, r := range ds.Ratings {
			if int(r.User) >= len(ds.Users) || int(r.Item) >= len(ds.Items) || r.Value < 0 {
				t.Fatalf("inconsistent rating %+v", r)
			}
		}
	})
}
