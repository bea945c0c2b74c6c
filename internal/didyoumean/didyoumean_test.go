package didyoumean

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"varaints", "variants", 2},
		{"same", "same", 0},
		{strings.Repeat("x", 1000), "x", 63}, // a is cut at 64 bytes
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%.20q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	known := []string{"boards", "variants", "scenarios", "sessions"}
	for _, tc := range []struct {
		s       string
		maxDist int
		want    string
	}{
		{"varaints", 2, "variants"},
		{"board", 2, "boards"},
		{"sesions", 2, "sessions"},
		{"zzzzzz", 2, ""},
		{"variants", 0, "variants"},
		{"sessons", 0, ""},
		{"", 2, ""},
	} {
		if got := Closest(tc.s, known, tc.maxDist); got != tc.want {
			t.Errorf("Closest(%q, %d) = %q, want %q", tc.s, tc.maxDist, got, tc.want)
		}
	}
	// Ties go to the first known name.
	if got := Closest("ab", []string{"xb", "ax"}, 1); got != "xb" {
		t.Errorf("tie: got %q, want xb", got)
	}
}
