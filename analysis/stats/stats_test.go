package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/perf/benchmath"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestLinearFit(t *testing.T) {
	tests := []struct {
		name                string
		x, y                []float64
		slope, lo, hi, icpt float64
		icptLo, icptHi      float64
		excludesZero        bool
	}{
		{
			// Hand-computed: SSE=2.4, s=sqrt(0.8), Sxx=10, t(0.975,3)=3.182446305.
			name: "textbook_five_points", x: []float64{1, 2, 3, 4, 5}, y: []float64{2, 4, 5, 4, 5},
			slope: 0.6, lo: 0.6 - 3.182446305*0.2828427125, hi: 0.6 + 3.182446305*0.2828427125,
			icpt: 2.2, icptLo: 2.2 - 3.182446305*0.9380831520, icptHi: 2.2 + 3.182446305*0.9380831520,
		},
		{
			name: "exact_line_has_zero_width", x: []float64{1, 4, 8, 1, 4, 8}, y: []float64{300000, 255000, 195000, 300000, 255000, 195000},
			slope: -15000, lo: -15000, hi: -15000, icpt: 315000, icptLo: 315000, icptHi: 315000, excludesZero: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := LinearFit(tt.x, tt.y, 0.95)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what      string
				got, want float64
			}{{"slope", f.Slope, tt.slope}, {"slope lo", f.SlopeLo, tt.lo}, {"slope hi", f.SlopeHi, tt.hi},
				{"intercept", f.Intercept, tt.icpt}, {"intercept lo", f.InterceptLo, tt.icptLo}, {"intercept hi", f.InterceptHi, tt.icptHi}} {
				if !near(c.got, c.want, 1e-6*math.Max(1, math.Abs(c.want))) {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
			if f.ExcludesZero() != tt.excludesZero {
				t.Errorf("ExcludesZero = %v, want %v", f.ExcludesZero(), tt.excludesZero)
			}
		})
	}
}

func TestLinearFitRejects(t *testing.T) {
	for name, xy := range map[string][2][]float64{
		"two_points":       {{1, 2}, {1, 2}},
		"one_distinct_x":   {{4, 4, 4}, {1, 2, 3}},
		"length_mismatch":  {{1, 2, 3}, {1, 2}},
		"not_finite_value": {{1, 2, 3}, {1, math.NaN(), 3}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := LinearFit(xy[0], xy[1], 0.95); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestTQuantileKnownValues(t *testing.T) {
	// Table values of Student's t, two-sided 95%.
	for df, want := range map[int]float64{1: 12.706204736, 3: 3.182446305, 10: 2.228138852, 30: 2.042272456} {
		if got := TQuantile(0.95, df); !near(got, want, 1e-6) {
			t.Errorf("t(0.975, %d) = %v, want %v", df, got, want)
		}
	}
}

func TestLeakSlopeCoversTrueLeak(t *testing.T) {
	// 200 cycles losing 48 B each with ±64 B noise: the interval must hold
	// -48 and exclude zero; with no leak it must include zero.
	r := rand.New(rand.NewPCG(1, 2))
	for _, leak := range []float64{48, 0} {
		var x, y []float64
		for i := range 200 {
			x = append(x, float64(i))
			y = append(y, 200000-leak*float64(i)+float64(r.IntN(129)-64))
		}
		f, err := LinearFit(x, y, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if f.SlopeLo > -leak || f.SlopeHi < -leak {
			t.Errorf("leak %v: interval [%v, %v] misses the true slope", leak, f.SlopeLo, f.SlopeHi)
		}
		if f.ExcludesZero() != (leak != 0) {
			t.Errorf("leak %v: ExcludesZero = %v", leak, f.ExcludesZero())
		}
	}
}

func TestSlopeDiffP(t *testing.T) {
	x := []float64{1, 1, 4, 4, 8, 8}
	a, _ := LinearFit(x, []float64{100, 102, 70, 71, 30, 33}, 0.95)
	same, _ := LinearFit(x, []float64{101, 100, 71, 70, 31, 32}, 0.95)
	steeper, _ := LinearFit(x, []float64{100, 101, 40, 42, -40, -38}, 0.95)
	if p := SlopeDiffP(a, same); p < 0.05 {
		t.Errorf("same slopes: p = %v, want not significant", p)
	}
	if p := SlopeDiffP(a, steeper); p > 0.001 {
		t.Errorf("different slopes: p = %v, want significant", p)
	}
}

func TestCounterQuantilesMatchSortedSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var c Counter
	var all []float64
	for range 10001 {
		v := uint32(150000 + r.IntN(300)*4)
		c.Add(v)
		all = append(all, float64(v))
	}
	slices.Sort(all)
	qs := []float64{0, 0.01, 0.5, 0.9, 0.99, 1}
	got := c.Quantiles(qs...)
	for i, q := range qs {
		if want := Percentile(all, q); got[i] != want {
			t.Errorf("q=%v: counter %v, slice %v", q, got[i], want)
		}
	}
	if c.Min() != uint32(all[0]) || c.Max() != uint32(all[len(all)-1]) || c.N() != len(all) {
		t.Errorf("min/max/n = %d/%d/%d", c.Min(), c.Max(), c.N())
	}
	var empty Counter
	if !math.IsNaN(empty.Median()) {
		t.Error("empty median is not NaN")
	}
}

func TestPercentileKnownValues(t *testing.T) {
	v := []float64{10, 20, 30, 40}
	for q, want := range map[float64]float64{0: 10, 0.5: 25, 1: 40, 0.9: 37} {
		if got := Percentile(v, q); !near(got, want, 1e-9) {
			t.Errorf("Percentile(%v) = %v, want %v", q, got, want)
		}
	}
}

func TestMedianMatchesBenchmath(t *testing.T) {
	for _, vals := range [][]float64{{5, 1, 4, 2, 3, 6}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {7, 7, 7}, {42}} {
		got := Median(vals, 0.95)
		want := benchmath.AssumeNothing.Summary(benchmath.NewSample(slices.Clone(vals), &benchmath.DefaultThresholds), 0.95)
		if got.Center != want.Center || got.Lo != want.Lo || got.Hi != want.Hi || got.Confidence != want.Confidence {
			t.Errorf("%v: got %+v, benchmath %+v", vals, got, want)
		}
		if len(got.Warnings) != len(want.Warnings) {
			t.Errorf("%v: warnings %v vs %v", vals, got.Warnings, want.Warnings)
		}
	}
	// n=6: the interval is [min, max] at level 1-2/64.
	s := Median([]float64{5, 1, 4, 2, 3, 6}, 0.95)
	if s.Center != 3.5 || s.Lo != 1 || s.Hi != 6 || !near(s.Confidence, 0.96875, 1e-12) {
		t.Errorf("n=6 median = %+v", s)
	}
	if s := Median([]float64{1, 2, 3}, 0.95); !math.IsInf(s.Lo, -1) || len(s.Warnings) == 0 {
		t.Errorf("n=3 should have an infinite bound and a warning: %+v", s)
	}
}

func TestCompare(t *testing.T) {
	same1 := []float64{100, 101, 102, 103, 104, 105}
	same2 := []float64{100.5, 101.5, 102.5, 103.5, 104.5, 99.5}
	shiftedOld := []float64{1, 2, 3, 4, 5}
	shiftedNew := []float64{11, 12, 13, 14, 15}
	tests := []struct {
		name     string
		old, new []float64
		wantP    float64 // <0: only check significance
		sig      bool
	}{
		{"identical_distributions", same1, same2, -1, false},
		{"identical_values", same1, same1, 1, false},
		// Fully separated samples of 5: exact two-sided p = 2/C(10,5).
		{"shifted", shiftedOld, shiftedNew, 2.0 / 252, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Compare(tt.old, tt.new, 0.05)
			if c.Significant() != tt.sig {
				t.Errorf("significant = %v (p=%v)", c.Significant(), c.P)
			}
			if tt.wantP >= 0 && !near(c.P, tt.wantP, 1e-12) {
				t.Errorf("p = %v, want %v", c.P, tt.wantP)
			}
			th := &benchmath.Thresholds{CompareAlpha: 0.05}
			bm := benchmath.AssumeNothing.Compare(benchmath.NewSample(slices.Clone(tt.old), th), benchmath.NewSample(slices.Clone(tt.new), th))
			if c.P != bm.P {
				t.Errorf("p = %v, benchmath %v", c.P, bm.P)
			}
		})
	}
	if c := Compare([]float64{1, 2}, []float64{5, 6}, 0.05); len(c.Warnings) == 0 {
		t.Error("two samples each: want a 'need more samples' warning")
	}
}
