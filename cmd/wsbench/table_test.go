package main

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/analysis"
)

func TestSummaryTable(t *testing.T) {
	nan := analysis.Float(math.NaN())
	yes := true
	m := func(name string, v float64) analysis.Metric {
		return analysis.Metric{Name: name, Value: v, Lo: nan, Hi: nan}
	}
	sweep := func(variant string, n int, free float64) analysis.GroupResult {
		return analysis.GroupResult{Key: analysis.Key{Board: "s3", Variant: variant, Scenario: "sweep", N: n},
			Metrics: []analysis.Metric{m(analysis.MetricInternalFreeSteady, free), m(analysis.MetricSessionsOpen, float64(n)),
				m(analysis.MetricWSStackHWM, 40), m(analysis.MetricInternalFreeMin, free-1024)}}
	}
	leak := m(analysis.MetricLeakPerCycle, 68)
	leak.Significant = &yes
	churnKey := analysis.Key{Board: "s3", Variant: "leaky", Scenario: "churn", N: 1}
	s := &analysis.Summary{
		Groups: []analysis.GroupResult{
			sweep("int", 1, 150*1024), sweep("int", 4, 54*1024),
			{Key: churnKey, Metrics: []analysis.Metric{m(analysis.MetricLeakPerCycle, 68), m(analysis.MetricResets, 1)}},
		},
		Cells: []analysis.CellResult{{ID: "c1", Key: churnKey, Metrics: []analysis.Metric{leak}}},
		Costs: []analysis.CostResult{{Variant: analysis.VariantKey{Board: "s3", Variant: "int"},
			Metrics: []analysis.Metric{{Name: analysis.MetricPerSessionCost, Value: 32 * 1024, Lo: 31 * 1024, Hi: 33 * 1024}, m(analysis.MetricFixedCost, 3*1024)}}},
	}
	var b bytes.Buffer
	printSummaryTable(&b, s)
	out := b.String()
	lines := tableLines(out)
	if len(lines) != 3 {
		t.Fatalf("want a header and two variant rows:\n%s", out)
	}
	for _, want := range []string{"steady free n=1", "n=4", "32768 [31744, 33792] B", "150.0 KiB", "54.0 KiB", "68 B (!)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// The churn-only variant has no fit and no sweep columns, but its row is there.
	if !strings.Contains(lines[2], "leaky") || !strings.Contains(lines[2], "68 B (!)") {
		t.Errorf("row of the churn-only variant: %q", lines[2])
	}
}

func TestSummaryTableShowsNoFigureForFailedGroups(t *testing.T) {
	nan := analysis.Float(math.NaN())
	tests := []struct {
		name    string
		metrics []analysis.Metric
		want    string
	}{
		{"steady figure", []analysis.Metric{{Name: analysis.MetricInternalFreeSteady, Value: 150 * 1024, Lo: nan, Hi: nan}}, "150.0"},
		{"cells failed: no steady figure", []analysis.Metric{{Name: analysis.MetricInternalFreeMin, Value: 140 * 1024, Lo: nan, Hi: nan}}, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &analysis.Summary{Groups: []analysis.GroupResult{{Key: analysis.Key{Board: "s3", Variant: "both-ext", Scenario: "sweep", N: 1}, Metrics: tt.metrics}}}
			var b bytes.Buffer
			printSummaryTable(&b, s)
			lines := tableLines(b.String())
			if len(lines) != 2 {
				t.Fatalf("want a header and one row:\n%s", b.String())
			}
			// Fields: board, variant, one-time, per-session, steady free n=1 ("150.0 KiB" is two), ...
			if f := strings.Fields(lines[1]); len(f) < 5 || f[4] != tt.want {
				t.Errorf("steady free n=1 column: row %q, want %q", lines[1], tt.want)
			}
		})
	}
}

// tableLines returns the header and rows of a printed table, without its
// closing note.
func tableLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "(") {
			lines = append(lines, l)
		}
	}
	return lines
}

// The terminal table's most sessions: ">=N" when every N tried held (no
// limit reached), the figure when a larger N held fewer.
func TestSummaryTableMostSessions(t *testing.T) {
	nan := analysis.Float(math.NaN())
	group := func(n int, open float64) analysis.GroupResult {
		return analysis.GroupResult{Key: analysis.Key{Board: "s3", Variant: "int", Scenario: "sweep", N: n},
			Metrics: []analysis.Metric{{Name: analysis.MetricSessionsOpen, Value: open, Lo: nan, Hi: nan}}}
	}
	for _, tc := range []struct {
		name   string
		groups []analysis.GroupResult
		want   string
	}{
		{"limit", []analysis.GroupResult{group(4, 4), group(8, 5)}, "5"},
		{"floor", []analysis.GroupResult{group(4, 4), group(8, 8)}, ">=8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printSummaryTable(&b, &analysis.Summary{Groups: tc.groups})
			lines := tableLines(b.String())
			if len(lines) != 2 {
				t.Fatalf("want a header and one row:\n%s", b.String())
			}
			// Fields: board, variant, one-time, per-session, n=4, n=8, most sessions.
			if f := strings.Fields(lines[1]); len(f) < 7 || f[6] != tc.want {
				t.Errorf("most sessions column: row %q, want %q", lines[1], tc.want)
			}
		})
	}
}
