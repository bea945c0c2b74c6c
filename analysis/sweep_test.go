package analysis_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/analysis"
)

// Two sweep scenarios of one matrix that ask for the same N: the per-N
// figures (Overview.Sweep, the verdicts) pool both labels' repetitions, as
// the cost fit does, and the run says so. Before, the label sorted last
// silently stood for the N.
func TestSweepLabelsSharingAnN(t *testing.T) {
	main := coverageModel(21, 6)
	cells := main.Cells()
	// A second sweep ("sweep-long") at N=2 and N=4 whose boards had 2000 B
	// less free RAM from boot: its figures differ from the first sweep's.
	long := coverageModel(22, 6)
	long.Ns = []int{2, 4}
	for v, tr := range long.Truth {
		tr.BaselineFree -= 2000
		long.Truth[v] = tr
	}
	for _, c := range long.Cells() {
		c.Cell.Label = "sweep-long"
		c.Cell.ID = fmt.Sprintf("%s-%s-sweep-long-n%d-r%d", c.Cell.Board, c.Cell.Variant, c.Cell.N, c.Cell.Rep)
		cells = append(cells, c)
	}
	s, _ := analyze(t, cells)

	tests := []struct {
		n      int
		reps   int
		pooled bool
	}{
		{n: 1, reps: 6},
		{n: 2, reps: 12, pooled: true},
		{n: 4, reps: 12, pooled: true},
		{n: 8, reps: 6},
	}
	var ovInt *analysis.Overview
	ovs := analysis.Overviews(s)
	for i := range ovs {
		if ovs[i].Key.Variant == "int" {
			ovInt = &ovs[i]
		}
	}
	if ovInt == nil {
		t.Fatal("no overview of int")
	}
	for _, tc := range tests {
		g := ovInt.Sweep[tc.n]
		if g == nil {
			t.Fatalf("N=%d: no sweep group", tc.n)
		}
		m := metric(t, g, analysis.MetricInternalFreeSteady)
		if m.N != tc.reps {
			t.Errorf("N=%d: internal_free_steady over %d repetitions, want %d", tc.n, m.N, tc.reps)
		}
		if !tc.pooled {
			continue
		}
		// Both sweeps' values are in: the spread covers their 2000 B gap.
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range m.Values {
			lo, hi = min(lo, v), max(hi, v)
		}
		if hi-lo < 1500 {
			t.Errorf("N=%d: values span %.0f B, want both sweeps (2000 B apart)", tc.n, hi-lo)
		}
		if g.Key.Label != "sweep+sweep-long" || !hasWarning(g.Warnings, "pooled") {
			t.Errorf("N=%d: pooled group %+v, want label sweep+sweep-long and a warning", tc.n, g.Key)
		}
	}
	var said []string
	for _, w := range s.Warnings {
		if strings.Contains(w, "sweep scenarios sweep and sweep-long ask for the same N") {
			said = append(said, w)
		}
	}
	if len(said) != 4 { // int and stack-ext, N=2 and N=4
		t.Errorf("run warnings about pooling: %q, want 4", said)
	}
	// The verdict at N=2 compares the pooled figures of both variants.
	for _, v := range s.Verdicts {
		if v.Variant == "stack-ext" && v.N == 2 && v.Metric == analysis.MetricInternalFreeSteady {
			want := metric(t, ovInt.Sweep[2], analysis.MetricInternalFreeSteady).Value
			if float64(v.BaselineValue) != want {
				t.Errorf("N=2 verdict baseline %v, want the pooled median %v", v.BaselineValue, want)
			}
			if d := float64(v.Delta); d < 4096-700 || d > 4096+700 {
				t.Errorf("N=2: frees %v, want about 4100 (both sweeps moved by the same 2000 B)", d)
			}
		}
	}
}
