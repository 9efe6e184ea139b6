package features

import "testing"

func TestIDSetKeepsEveryIDOnce(t *testing.T) {
	s := newIDSet("sig_")
	a, b := NewID("sig_"), NewID("sig_")
	other := NewID("ctl_") // same length, another prefix: kept as a string
	for _, c := range []struct {
		id   string
		want bool
	}{
		{a, true}, {b, true}, {a, false}, {"legacy-id", true}, {"legacy-id", false},
		{other, true}, {other, false}, {b, false},
	} {
		if got := s.add(c.id); got != c.want {
			t.Errorf("add(%q) = %v, want %v", c.id, got, c.want)
		}
	}
	if len(s.compact) != 2 || len(s.other) != 2 {
		t.Errorf("compact %d, other %d; want 2 and 2", len(s.compact), len(s.other))
	}
}
