package analysis_test

import (
	"testing"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/rundir"
)

// TestGroupCellsLeavesOutFailedFigures: a failed cell's figures (what it had
// before it failed, often the boot baseline) do not enter its group's
// medians, so a group of failed cells never reads healthier than one that
// ran; its counts of events still count. (QA of issue 12: the strict
// both-ext rows of report.html showed lowest free 185.5 KiB against int's
// 41.4 KiB.)
func TestGroupCellsLeavesOutFailedFigures(t *testing.T) {
	key := analysis.Key{Board: "s3", Variant: "both-ext", Scenario: "sweep", N: 4}
	cell := func(id, status string, minFree, failures float64) analysis.CellResult {
		return analysis.CellResult{ID: id, Key: key, Status: status, Metrics: []analysis.Metric{
			{Name: analysis.MetricInternalFreeMin, Value: minFree},
			{Name: analysis.MetricSessionsOpen, Value: 4},
			{Name: analysis.MetricSessionFailures, Value: failures},
		}}
	}
	tests := []struct {
		name         string
		cells        []analysis.CellResult
		wantMin      float64 // when wantHasMin
		wantHasMin   bool
		wantFailures float64
	}{
		{"all failed", []analysis.CellResult{cell("a", rundir.StatusFailed, 189992, 1), cell("b", rundir.StatusFailed, 189992, 1)}, 0, false, 1},
		{"one failed", []analysis.CellResult{cell("a", rundir.StatusFailed, 189992, 1), cell("b", rundir.StatusOK, 42000, 0), cell("c", rundir.StatusOK, 42000, 0)}, 42000, true, 0},
		{"none failed", []analysis.CellResult{cell("a", rundir.StatusOK, 41000, 0), cell("b", rundir.StatusOK, 41000, 0)}, 41000, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gs := analysis.GroupCells(tc.cells)
			if len(gs) != 1 {
				t.Fatalf("%d groups, want 1", len(gs))
			}
			g := gs[0]
			m, ok := g.Metric(analysis.MetricInternalFreeMin)
			if ok != tc.wantHasMin || (ok && m.Value != tc.wantMin) {
				t.Errorf("internal_free_min = %v (present %v), want %v (present %v)", m.Value, ok, tc.wantMin, tc.wantHasMin)
			}
			if _, ok := g.Metric(analysis.MetricSessionsOpen); ok != tc.wantHasMin {
				t.Errorf("sessions_open present %v, want %v", ok, tc.wantHasMin)
			}
			f, ok := g.Metric(analysis.MetricSessionFailures)
			if !ok || f.Value != tc.wantFailures {
				t.Errorf("session_failures = %v (present %v), want %v", f.Value, ok, tc.wantFailures)
			}
		})
	}
}
