package analysis_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/analysis/synth"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

func analyze(t *testing.T, cells []synth.Cell) (*analysis.Summary, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	if err := synth.WriteRun(dir, cells); err != nil {
		t.Fatal(err)
	}
	s, err := analysis.AnalyzeRun(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func metric(t *testing.T, ms interface {
	Metric(string) (analysis.Metric, bool)
}, name string) analysis.Metric {
	t.Helper()
	m, ok := ms.Metric(name)
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	return m
}

func cellByID(t *testing.T, s *analysis.Summary, id string) *analysis.CellResult {
	t.Helper()
	for i := range s.Cells {
		if s.Cells[i].ID == id {
			return &s.Cells[i]
		}
	}
	t.Fatalf("no cell %s", id)
	return nil
}

func TestAnalyzeRun(t *testing.T) {
	costs := map[string]uint32{"baseline": 24000, "stack-ext": 20000, "all-ext": 16000}
	t.Run("noiseless_sweep_gives_exact_cost_and_fixed_cost", func(t *testing.T) {
		s, _ := analyze(t, synth.Sweep("esp32s3-n8r8", []string{"baseline", "stack-ext", "all-ext"}, costs, []int{1, 4, 8}, 3, 0))
		if len(s.Cells) != 27 || len(s.Groups) != 9 || len(s.Costs) != 3 {
			t.Fatalf("cells/groups/costs = %d/%d/%d", len(s.Cells), len(s.Groups), len(s.Costs))
		}
		for _, c := range s.Costs {
			want := float64(costs[c.Variant.Variant])
			pc := metric(t, &c, analysis.MetricPerSessionCost)
			if math.Abs(pc.Value-want) > 1e-6 || pc.N != 9 {
				t.Errorf("%s: per-session cost %v (n=%d), want %v", c.Variant, pc.Value, pc.N, want)
			}
			if fc := metric(t, &c, analysis.MetricFixedCost); math.Abs(fc.Value-12000) > 1e-6 {
				t.Errorf("%s: fixed cost %v, want 12000", c.Variant, fc.Value)
			}
			// No N=0 cell: free at N=0 is not measured, and the warning says
			// where b0 came from.
			if z, ok := c.Metric(analysis.MetricSteadyFreeAtZero); ok {
				t.Errorf("%s: steady free at zero %v without N=0 cells", c.Variant, z.Value)
			}
			if !hasWarning(c.Warnings, "no cells at N=0") {
				t.Errorf("%s: warnings %q", c.Variant, c.Warnings)
			}
			if ps := metric(t, &c, analysis.MetricPerSessionPSRAM); math.Abs(ps.Value-float64(30000-costs[c.Variant.Variant]/2)) > 1e-6 {
				t.Errorf("%s: PSRAM per session %v", c.Variant, ps.Value)
			}
		}
		for _, g := range s.Groups {
			want := float64(300000 - 12000 - uint32(g.Key.N)*costs[g.Key.Variant])
			m := metric(t, &g, analysis.MetricInternalFreeSteady)
			if m.Value != want || m.N != 3 || len(m.Values) != 3 {
				t.Errorf("%s: steady free %v n=%d, want %v n=3", g.Key, m.Value, m.N, want)
			}
			if m.HasInterval() {
				t.Errorf("%s: 3 repetitions cannot give a finite 95%% interval: %v..%v", g.Key, m.Lo, m.Hi)
			}
			if hwm := metric(t, &g, analysis.MetricWSStackHWM); hwm.Value != 1200 {
				t.Errorf("%s: hwm %v", g.Key, hwm.Value)
			}
			if hr := metric(t, &g, analysis.MetricWSStackHeadroom); math.Abs(hr.Value-1200.0/4096) > 1e-12 {
				t.Errorf("%s: headroom %v", g.Key, hr.Value)
			}
			if fr := metric(t, &g, analysis.MetricFragmentation); math.Abs(fr.Value-0.5) > 1e-4 {
				t.Errorf("%s: fragmentation %v", g.Key, fr.Value)
			}
			if d := metric(t, &g, analysis.MetricDMAFree); d.Value != 200000 {
				t.Errorf("%s: dma free %v", g.Key, d.Value)
			}
			if p := metric(t, &g, analysis.MetricPSRAMUsed); p.Value != float64(100000+uint32(g.Key.N)*(30000-costs[g.Key.Variant]/2)) {
				t.Errorf("%s: psram used %v", g.Key, p.Value)
			}
			if b := metric(t, &g, analysis.MetricInternalFreeBaseline); b.Value != 300000 {
				t.Errorf("%s: baseline %v", g.Key, b.Value)
			}
		}
	})
	t.Run("failed_sessions_do_not_dilute_the_cost", func(t *testing.T) {
		cells := synth.Sweep("esp32s3", []string{"v"}, map[string]uint32{"v": 20000}, []int{1, 4, 8}, 2, 0)
		for i := range cells {
			if cells[i].Cell.N == 8 {
				cells[i].FailedSessions = 3 // out of memory: 5 stay open
			}
		}
		s, _ := analyze(t, cells)
		pc := metric(t, &s.Costs[0], analysis.MetricPerSessionCost)
		if math.Abs(pc.Value-20000) > 1e-6 {
			t.Errorf("per-session cost %v, want 20000 (fitted against sessions open)", pc.Value)
		}
		for _, g := range s.Groups {
			if so := metric(t, &g, analysis.MetricSessionsOpen); g.Key.N == 8 && so.Value != 5 {
				t.Errorf("N=8: sessions open %v, want 5", so.Value)
			}
		}
		if !hasWarning(s.Costs[0].Warnings, "5 of 8 sessions open") {
			t.Errorf("cost warnings %q", s.Costs[0].Warnings)
		}
	})
	t.Run("noisy_sweep_interval_covers_true_cost", func(t *testing.T) {
		s, _ := analyze(t, synth.Sweep("esp32", []string{"baseline", "all-ext"}, costs, []int{1, 2, 4, 8}, 6, 2000))
		for _, c := range s.Costs {
			pc := metric(t, &c, analysis.MetricPerSessionCost)
			want := float64(costs[c.Variant.Variant])
			if !(float64(pc.Lo) <= want && want <= float64(pc.Hi)) || float64(pc.Hi)-float64(pc.Lo) > 2000 {
				t.Errorf("%s: interval [%v, %v] for true cost %v", c.Variant, pc.Lo, pc.Hi, want)
			}
		}
		for _, g := range s.Groups {
			m := metric(t, &g, analysis.MetricInternalFreeSteady)
			want := float64(300000 - 12000 - uint32(g.Key.N)*costs[g.Key.Variant])
			if !m.HasInterval() || float64(m.Lo) > want+400 || float64(m.Hi) < want-400 {
				t.Errorf("%s: 6 reps: median %v [%v, %v], true %v", g.Key, m.Value, m.Lo, m.Hi, want)
			}
		}
	})
	t.Run("known_leak_is_flagged_and_no_leak_is_not", func(t *testing.T) {
		cells := []synth.Cell{
			{Cell: rundir.Cell{ID: "leaky", Variant: "v", Scenario: "churn", N: 2}, Cycles: 60, LeakPerCycle: 64, Noise: 200, Seed: 9, PerSession: 30000},
			{Cell: rundir.Cell{ID: "tight", Variant: "w", Scenario: "churn", N: 2}, Cycles: 60, Noise: 200, Seed: 9, PerSession: 30000},
		}
		s, _ := analyze(t, cells)
		leak := metric(t, cellByID(t, s, "leaky"), analysis.MetricLeakPerCycle)
		if !(float64(leak.Lo) <= 64 && 64 <= float64(leak.Hi)) || leak.Significant == nil || !*leak.Significant || leak.N != 59 {
			t.Errorf("leaky: %+v", leak)
		}
		if !hasWarning(cellByID(t, s, "leaky").Warnings, "leak") {
			t.Errorf("leaky: no leak warning in %q", cellByID(t, s, "leaky").Warnings)
		}
		tight := metric(t, cellByID(t, s, "tight"), analysis.MetricLeakPerCycle)
		if *tight.Significant || !(float64(tight.Lo) <= 0 && 0 <= float64(tight.Hi)) {
			t.Errorf("tight: %+v", tight)
		}
	})
	t.Run("handler_latency_percentiles", func(t *testing.T) {
		var lat []uint32
		for i := 1; i <= 100; i++ {
			lat = append(lat, uint32(i*100))
		}
		s, _ := analyze(t, []synth.Cell{{Cell: rundir.Cell{ID: "h", Variant: "v", Scenario: "handler", Label: "handler-inline", N: 1}, HandlerEvents: 1000, LatencyUS: lat}})
		c := cellByID(t, s, "h")
		for name, want := range map[string]float64{analysis.MetricLatencyP50: 5050, analysis.MetricLatencyP90: 9010, analysis.MetricLatencyP99: 9901, analysis.MetricLatencyMax: 10000} {
			if m := metric(t, c, name); math.Abs(m.Value-want) > 1e-9 || m.N != 1000 {
				t.Errorf("%s = %v (n=%d), want %v", name, m.Value, m.N, want)
			}
		}
	})
	t.Run("reset_and_watchdog_are_counted_and_warned", func(t *testing.T) {
		s, _ := analyze(t, []synth.Cell{{Cell: rundir.Cell{ID: "r", Variant: "v", Scenario: "sweep", N: 4}, PerSession: 1000, ResetAtSteady: 20, WatchdogAtSteady: 10, FailedSessions: 1}})
		c := cellByID(t, s, "r")
		for name, want := range map[string]float64{analysis.MetricResets: 1, analysis.MetricWatchdogs: 1, analysis.MetricPanics: 1, analysis.MetricSessionFailures: 1} {
			if m := metric(t, c, name); m.Value != want {
				t.Errorf("%s = %v, want %v", name, m.Value, want)
			}
		}
		if c.Segments != 2 {
			t.Errorf("segments = %d", c.Segments)
		}
		for _, w := range []string{"reset", "watchdog", "failed", "panic"} {
			if !hasWarning(c.Warnings, w) {
				t.Errorf("no %q warning in %q", w, c.Warnings)
			}
		}
		g := s.Groups[0]
		if !hasWarning(g.Warnings, "reset") {
			t.Errorf("group does not carry the cell's reset warning: %q", g.Warnings)
		}
	})
	t.Run("owners_of_the_steady_phase", func(t *testing.T) {
		own := []wire.OwnerUse{{Label: "tls[0]/in_buf", Heap: wire.HeapInternal, Bytes: 16717, Blocks: 1}, {Label: "ws/task_stack", Heap: wire.HeapSPIRAM, Bytes: 4096, Blocks: 1}}
		s, _ := analyze(t, []synth.Cell{{Cell: rundir.Cell{ID: "o", Variant: "v", N: 1}, PerSession: 1000, Owners: own}})
		c := cellByID(t, s, "o")
		if len(c.Owners) != 2 || c.Owners[0].Label != "tls[0]/in_buf" || c.Owners[1].Heap != "spiram" {
			t.Errorf("owners = %+v", c.Owners)
		}
	})
	t.Run("short_steady_window_is_warned", func(t *testing.T) {
		s, _ := analyze(t, []synth.Cell{{Cell: rundir.Cell{ID: "short", Variant: "v", N: 1}, SteadySamples: 3}})
		if c := cellByID(t, s, "short"); !hasWarning(c.Warnings, "only 3 samples") {
			t.Errorf("warnings %q", c.Warnings)
		}
	})
}

func TestAnalyzeRunDamagedInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := synth.WriteRun(dir, []synth.Cell{
		{Cell: rundir.Cell{ID: "cut", Variant: "v", N: 1}, SteadySamples: 100},
		{Cell: rundir.Cell{ID: "gone", Variant: "v", N: 1, Status: rundir.StatusFailed, Reason: "port vanished"}},
	}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(rundir.CellDir(dir, "cut"), rundir.RecordsFile)
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, b[:len(b)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(rundir.CellDir(dir, "gone"), rundir.RecordsFile))
	s, err := analysis.AnalyzeRun(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	cut := cellByID(t, s, "cut")
	if !hasWarning(cut.Warnings, "records end early") || !hasWarning(cut.Warnings, "byte ") {
		t.Errorf("cut: warnings %q", cut.Warnings)
	}
	if m := metric(t, cut, analysis.MetricInternalFreeSteady); m.N == 0 || m.N >= 100 {
		t.Errorf("cut: steady n = %d, want the samples before the cut", m.N)
	}
	gone := cellByID(t, s, "gone")
	if len(gone.Metrics) != 0 || !hasWarning(gone.Warnings, "port vanished") || !hasWarning(gone.Warnings, "no records.msgp") {
		t.Errorf("gone: %+v", gone)
	}
	if _, err := analysis.AnalyzeRun(context.Background(), filepath.Join(t.TempDir(), "nothing")); err == nil {
		t.Error("a missing run directory gave no error")
	}
}

func TestSummaryJSONRoundTrip(t *testing.T) {
	s, dir := analyze(t, synth.Sweep("b", []string{"x"}, map[string]uint32{"x": 1000}, []int{1, 2, 4}, 2, 0))
	if err := analysis.WriteSummary(dir, s); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, rundir.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"internal_free_steady", "internal_free_min", "internal_largest_block", "psram_used", "ws_stack_hwm",
		"per_session_internal_cost", "resets", "watchdogs", `"ci_low": null`, `"unit": "B/session"`} {
		if !strings.Contains(string(raw), name) {
			t.Errorf("summary.json lacks %s", name)
		}
	}
	back, err := analysis.ReadSummary(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Cells) != len(s.Cells) || len(back.Groups) != len(s.Groups) || len(back.Costs) != 1 {
		t.Fatalf("round trip lost results")
	}
	m := metric(t, &back.Groups[0], analysis.MetricInternalFreeSteady)
	if !math.IsNaN(float64(m.Lo)) || m.Value != 300000-12000-1000 {
		t.Errorf("round trip metric %+v", m)
	}
}

func hasWarning(ws []string, sub string) bool {
	for _, w := range ws {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

func TestReadTimeline(t *testing.T) {
	_, dir := analyze(t, []synth.Cell{{Cell: rundir.Cell{ID: "r", Variant: "v", N: 2}, PerSession: 1000, SteadySamples: 40, ResetAtSteady: 30, WatchdogAtSteady: 10}})
	tl, err := analysis.ReadTimeline(context.Background(), rundir.CellDir(dir, "r"))
	if err != nil {
		t.Fatal(err)
	}
	// 20 baseline + 2 ramp + 40 steady + teardown + done.
	if len(tl.T) != 64 {
		t.Errorf("%d points, want 64", len(tl.T))
	}
	for i := 1; i < len(tl.T); i++ {
		if tl.T[i] < tl.T[i-1] {
			t.Fatalf("time goes back at %d: %v -> %v", i, tl.T[i-1], tl.T[i])
		}
	}
	var kinds []string
	for _, m := range tl.Marks {
		kinds = append(kinds, m.Kind)
	}
	if strings.Join(kinds, ",") != "watchdog,panic,reset" {
		t.Errorf("marks %v, want one watchdog (reported twice), a panic and a reset", kinds)
	}
}

func TestAnalyzeCellSkipsUndecodableRecords(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := synth.WriteRun(dir, []synth.Cell{{Cell: rundir.Cell{ID: "c", Variant: "v", N: 1}, PerSession: 1000}}); err != nil {
		t.Fatal(err)
	}
	// Append a sample whose body is not a sample, then a good run_end-less tail.
	p := filepath.Join(rundir.CellDir(dir, "c"), rundir.RecordsFile)
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := record.NewWriter(f)
	if err := w.WriteEnvelope(&record.Envelope{Type: record.TypeSample, Body: []byte{0xc1, 0xc1}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s, err := analysis.AnalyzeRun(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	c := cellByID(t, s, "c")
	if !hasWarning(c.Warnings, "1 records did not decode") || !hasWarning(c.Warnings, "record at byte") {
		t.Errorf("warnings %q", c.Warnings)
	}
	if m := metric(t, c, analysis.MetricInternalFreeSteady); m.Value != 300000-1000 || m.N != 50 {
		t.Errorf("steady %+v", m)
	}
}

func TestAnalyzeRunHonoursContext(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := synth.WriteRun(dir, []synth.Cell{{Cell: rundir.Cell{ID: "c", Variant: "v", N: 1}}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := analysis.AnalyzeRun(ctx, dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestRunWarnsAboutFailedCells(t *testing.T) {
	tests := []struct {
		name   string
		failed int
		want   string // first run warning starts with; "" for none about failures
	}{
		{"no failed cell", 0, ""},
		{"two failed cells", 2, "2 of 4 cells failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cells := synth.Sweep("esp32s3-n8r8", []string{"int"}, map[string]uint32{"int": 20000}, []int{1, 4}, 2, 0)
			for i := 0; i < tt.failed; i++ {
				cells[i].Cell.Status, cells[i].Cell.Reason = rundir.StatusFailed, "esp_websocket_client_init returned NULL"
			}
			s, _ := analyze(t, cells)
			var about []string
			for _, w := range s.Warnings {
				if strings.Contains(w, "cells failed") {
					about = append(about, w)
				}
			}
			if tt.want == "" {
				if len(about) > 0 {
					t.Errorf("warnings about failures in a run without any: %q", about)
				}
				return
			}
			if len(s.Warnings) == 0 || !strings.HasPrefix(s.Warnings[0], tt.want) || !strings.Contains(s.Warnings[0], "esp_websocket_client_init returned NULL") {
				t.Errorf("first warning of %q: want one starting %q with the reason", s.Warnings, tt.want)
			}
		})
	}
}
