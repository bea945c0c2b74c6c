package stats

import (
	"math"
	"slices"
	"testing"
)

func TestLTTB(t *testing.T) {
	tests := []struct {
		name      string
		y         []float64
		threshold int
		want      []int
	}{
		// Worked by hand: buckets [1,5) and [5,9); the spike at 3 has the
		// largest triangle with (0,0) and the next bucket's mean (6.5,0);
		// then from (3,10) towards (9,0) the point 5 wins (area 40 vs 30, 20, 10).
		{"spike_survives", []float64{0, 0, 0, 10, 0, 0, 0, 0, 0, 0}, 4, []int{0, 3, 5, 9}},
		{"short_series_kept_whole", []float64{1, 2, 3}, 10, []int{0, 1, 2}},
		{"threshold_below_three_keeps_all", []float64{1, 2, 3, 4}, 2, []int{0, 1, 2, 3}},
		{"dip_survives", []float64{5, 5, 5, 5, 5, 5, 5, 5, -50, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5}, 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := make([]float64, len(tt.y))
			for i := range x {
				x[i] = float64(i)
			}
			got := LTTB(x, tt.y, tt.threshold)
			if tt.want != nil && !slices.Equal(got, tt.want) {
				t.Fatalf("LTTB = %v, want %v", got, tt.want)
			}
			if tt.want == nil && !slices.Contains(got, 8) {
				t.Fatalf("LTTB = %v lost the dip at 8", got)
			}
		})
	}
}

func TestLTTBLongSeriesKeepsShape(t *testing.T) {
	n := 100000
	x := make([]float64, n)
	y := make([]float64, n)
	for i := range x {
		x[i] = float64(i)
		y[i] = math.Sin(float64(i) / 5000)
	}
	y[54321] = -40 // one deep dip (a reset)
	idx := LTTB(x, y, 1000)
	if len(idx) != 1000 || idx[0] != 0 || idx[len(idx)-1] != n-1 || !slices.IsSorted(idx) {
		t.Fatalf("len %d first %d last %d sorted %v", len(idx), idx[0], idx[len(idx)-1], slices.IsSorted(idx))
	}
	if !slices.Contains(idx, 54321) {
		t.Error("the dip was dropped")
	}
}
