package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestOLSRecoversAndCovers(t *testing.T) {
	// free = b0 - c1*1[x>=1] - c*x with uniform noise: the fit must find
	// the truth and its 95% intervals cover it in most of 300 draws.
	const b0, c1, c = 190000.0, 6700.0, 32000.0
	xs := []float64{0, 1, 2, 4, 5, 5}
	covered := make([]int, 3)
	const runs = 300
	rng := rand.New(rand.NewPCG(7, 7))
	for range runs {
		var rows [][]float64
		var y []float64
		for _, x := range xs {
			for range 6 {
				one := 0.0
				if x >= 1 {
					one = 1
				}
				rows = append(rows, []float64{1, one, x})
				y = append(y, b0-c1*one-c*x+(rng.Float64()*2-1)*300)
			}
		}
		f, err := OLS(rows, y, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		for j, want := range []float64{b0, -c1, -c} {
			if f.Lo[j] <= want && want <= f.Hi[j] {
				covered[j]++
			}
		}
	}
	for j, k := range covered {
		rate := float64(k) / runs
		t.Logf("coefficient %d: coverage %.3f", j, rate)
		if rate < 0.90 || rate > 0.99 {
			t.Errorf("coefficient %d: 95%% interval covered the truth in %.3f of %d fits, want about 0.95", j, rate, runs)
		}
	}
}

func TestOLSErrors(t *testing.T) {
	tests := []struct {
		name string
		x    [][]float64
		y    []float64
	}{
		{"too few", [][]float64{{1, 0}, {1, 1}}, []float64{1, 2}},
		{"collinear", [][]float64{{1, 1, 0}, {1, 1, 1}, {1, 1, 2}, {1, 1, 3}}, []float64{1, 2, 3, 4}},
		{"ragged", [][]float64{{1, 0}, {1}, {1, 2}}, []float64{1, 2, 3}},
		{"nan", [][]float64{{1, 0}, {1, 1}, {1, math.NaN()}}, []float64{1, 2, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := OLS(tc.x, tc.y, 0.95); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if _, err := OLS([][]float64{{1, 1, 0}, {1, 1, 1}, {1, 1, 2}, {1, 1, 3}}, []float64{1, 2, 3, 4}, 0.95); !errors.Is(err, ErrTooFewPoints) {
		t.Errorf("collinear: %v, want ErrTooFewPoints", err)
	}
}

func TestShift(t *testing.T) {
	if got := uCounts(6, 6); len(got) != 37 {
		t.Fatalf("uCounts(6,6) has %d values, want 37", len(got))
	} else {
		sum := 0.0
		for _, v := range got {
			sum += v
		}
		if sum != 924 {
			t.Fatalf("uCounts(6,6) sums to %v, want C(12,6) = 924", sum)
		}
	}
	tests := []struct {
		m, n  int
		alpha float64
		c     int
	}{
		{6, 6, 0.05, 6},  // critical U 5 (tables), interval [D(6), D(31)]
		{3, 3, 0.05, 0},  // P(U=0) = 1/20 > 0.025: no interval
		{8, 8, 0.05, 14}, // critical U 13
		{5, 6, 0.05, 4},  // critical U 3
	}
	for _, tc := range tests {
		if c, level := mwCritical(tc.m, tc.n, tc.alpha); c != tc.c || (c > 0 && level < 1-tc.alpha) {
			t.Errorf("mwCritical(%d, %d, %v) = %d, %v; want %d with level >= %v", tc.m, tc.n, tc.alpha, c, level, tc.c, 1-tc.alpha)
		}
	}
	old := []float64{100, 101, 102, 103, 104, 105}
	new := []float64{4196, 4197, 4198, 4199, 4200, 4201}
	s := ShiftOf(old, new, 0.95)
	if s.Delta != 4096 || !(s.Lo <= 4096 && 4096 <= s.Hi) || s.Hi-s.Lo > 10 {
		t.Errorf("shift = %+v, want 4096 inside a narrow interval", s)
	}
	if s.P > 0.01 {
		t.Errorf("p = %v, want < 0.01 for disjoint samples of 6", s.P)
	}
	if s := ShiftOf(old[:3], new[:3], 0.95); !math.IsNaN(s.Lo) || s.Delta != 4096 {
		t.Errorf("3 vs 3: %+v, want a delta and no interval", s)
	}
}
