package analysis_test

import (
	"math"
	"testing"

	"github.com/wsbench/wsbench/analysis"
)

func TestLeakMetricSign(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5}
	tests := []struct {
		name string
		y    []float64
		want float64
	}{
		{"flat: zero, not negative zero", []float64{1000, 1000, 1000, 1000, 1000}, 0},
		{"losing 8 B per cycle", []float64{1000, 992, 984, 976, 968}, 8},
		{"gaining 4 B per cycle", []float64{1000, 1004, 1008, 1012, 1016}, -4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := analysis.LeakMetric(x, tt.y)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(m.Value-tt.want) > 1e-9 || math.Signbit(m.Value) != math.Signbit(tt.want) {
				t.Errorf("leak %v (signbit %v), want %v", m.Value, math.Signbit(m.Value), tt.want)
			}
			for _, b := range []analysis.Float{m.Lo, m.Hi} {
				if float64(b) == 0 && math.Signbit(float64(b)) {
					t.Errorf("interval bound is negative zero: [%v, %v]", m.Lo, m.Hi)
				}
			}
		})
	}
}
