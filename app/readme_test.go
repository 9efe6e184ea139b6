package app

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestAccessTableMatchesReadme keeps the README's role table equal to the one
// the server enforces.
func TestAccessTableMatchesReadme(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var header []string
	row := regexp.MustCompile("^\\| `([A-Za-z]+Service/[A-Za-z]+)` \\|")
	seen := map[Op]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		cells := strings.Split(strings.Trim(line, "| "), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) > 2 && cells[0] == "Call" && cells[1] == "REST" {
			header = cells
			continue
		}
		m := row.FindStringSubmatch(line)
		if m == nil || header == nil {
			continue
		}
		full := Op(m[1])
		seen[full] = true
		var readme []Role
		for i := 2; i < len(header) && i < len(cells); i++ {
			if cells[i] == "✓" {
				readme = append(readme, Role(header[i]))
			}
		}
		code := slices.Clone(access[full])
		slices.Sort(readme)
		slices.Sort(code)
		if !slices.Equal(readme, code) {
			t.Errorf("%s: README allows %v, the code allows %v", m[1], readme, code)
		}
	}
	if header == nil {
		t.Fatal("README has no role table (a header row starting | Call | REST |)")
	}
	for full := range access {
		if !seen[full] {
			t.Errorf("README's role table lacks %s", full)
		}
	}
}
