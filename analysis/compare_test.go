package analysis_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/analysis/synth"
	"github.com/wsbench/wsbench/rundir"
	"golang.org/x/perf/benchmath"
)

func TestParseGate(t *testing.T) {
	tests := []struct {
		in    string
		kind  analysis.GateKind
		limit float64
		// err, when set, must appear in the error.
		err string
	}{
		{in: "internal_free_steady:-1KB", kind: analysis.GateChange, limit: -1024},
		{in: " internal_free_steady : -1KiB ", kind: analysis.GateChange, limit: -1024},
		{in: "internal_free_steady:-2%", kind: analysis.GateRelative, limit: -2},
		{in: "leak_per_cycle:significant", kind: analysis.GateSignificant},
		{in: "per_session_internal_cost:+512B", kind: analysis.GateChange, limit: 512},
		{in: "ws_stack_hwm:-0.5K", kind: analysis.GateChange, limit: -512},
		{in: "handler_latency_p99:+10%", kind: analysis.GateRelative, limit: 10},
		{in: "handler_latency_p99:+2ms", kind: analysis.GateChange, limit: 2000},
		{in: "handler_latency_p99>5ms", kind: analysis.GateAbove, limit: 5000},
		{in: "ws_stack_hwm<512B", kind: analysis.GateBelow, limit: 512},
		{in: "internal_free_min<16KiB", kind: analysis.GateBelow, limit: 16384},
		{in: "resets>0", kind: analysis.GateAbove, limit: 0},
		{in: "cells_failed>0", kind: analysis.GateAbove, limit: 0},
		{in: "internal_fragmentation>50%", kind: analysis.GateAbove, limit: 0.5},
		{in: "resets:+1", kind: analysis.GateChange, limit: 1},
		// An unsigned change says how to write it.
		{in: "internal_free_steady:1KB", err: "write internal_free_steady:-1KB"},
		{in: "per_session_internal_cost:512B", err: "write per_session_internal_cost:+512B"},
		{in: "internal_free_steady:2%", err: "write internal_free_steady:-2%"},
		// A sign in the better direction would fail an improvement.
		{in: "internal_free_steady:+1KB", err: "would fail when it improves; write internal_free_steady:-1KB"},
		{in: "leak_per_cycle:-8B", err: "write leak_per_cycle:+8B"},
		{in: "ws_stack_hwm<-512B", err: "plain value"},
		{in: "nope:-1KB", err: "unknown metric"},
		{in: "internal_fre_steady:-1KB", err: "did you mean internal_free_steady?"},
		{in: "internal_free_steady", err: "want METRIC:CHANGE"},
		{in: "resets:+1KB", err: "a count"},
		{in: "handler_latency_p99:+1KB", err: "time (us, ms, s)"},
		{in: "internal_free_steady:-abc", err: "the metric is bytes"},
		{in: "internal_free_steady:-NaN", err: "bytes"},
		{in: ":-1KB", err: "want METRIC"},
		{in: "ws_stack_hwm<", err: "want METRIC"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			g, err := analysis.ParseGate(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g.Kind != tt.kind || g.Limit != tt.limit {
				t.Errorf("got kind %d limit %v, want %d %v", g.Kind, g.Limit, tt.kind, tt.limit)
			}
		})
	}
}

func rowOf(t *testing.T, c *analysis.Comparison, metric, variant string, n int) analysis.Row {
	t.Helper()
	for _, r := range c.Rows {
		if r.Metric == metric && r.Key.Variant == variant && r.Key.N == n {
			return r
		}
	}
	t.Fatalf("no row %s %s N=%d", metric, variant, n)
	return analysis.Row{}
}

func TestCompare(t *testing.T) {
	ns := []int{1, 4, 8}
	base, _ := analyze(t, synth.Sweep("esp32s3", []string{"a", "b"}, map[string]uint32{"a": 20000, "b": 16000}, ns, 6, 600))
	// The same measurements on another branch: nothing may be significant.
	// (Different draws from one distribution are stats.TestCompare's job:
	// with ~90 metric rows some would pass alpha 0.05 by chance.)
	same := synth.Sweep("esp32s3", []string{"a", "b"}, map[string]uint32{"a": 20000, "b": 16000}, ns, 6, 600)
	for i := range same {
		same[i].Cell.Branch = "pr"
	}
	prSame, _ := analyze(t, same)
	// Variant a costs 1000 B more per session in the PR.
	worse := synth.Sweep("esp32s3", []string{"a", "b"}, map[string]uint32{"a": 21000, "b": 16000}, ns, 6, 600)
	for i := range worse {
		worse[i].Seed += 77
	}
	worse = append(worse, synth.Cell{Cell: rundir.Cell{ID: "leak", Board: "esp32s3", Variant: "a", Behaviour: "fallback", Scenario: "churn", N: 2},
		Cycles: 50, LeakPerCycle: 80, Noise: 200, PerSession: 21000})
	prWorse, _ := analyze(t, worse)

	t.Run("identical_measurements_are_not_significant", func(t *testing.T) {
		c := analysis.Compare(base, prSame, analysis.DefaultThresholds())
		if len(c.Rows) == 0 {
			t.Fatal("no rows (branch must not stop matching)")
		}
		for _, r := range c.Rows {
			if r.Significant {
				t.Errorf("%s %s: significant (p=%v, %v -> %v)", r.Metric, r.Key, r.P, r.Old, r.New)
			}
			if r.Delta != "~" && !r.Significant {
				t.Errorf("%s: delta %q for a non-significant row", r.Metric, r.Delta)
			}
		}
		for _, v := range c.Verdicts {
			if v.Verdict != analysis.Same {
				t.Errorf("%s: verdict %s", v.Variant, v.Verdict)
			}
		}
	})
	t.Run("shifted_distribution_is_significant_with_benchmath_p", func(t *testing.T) {
		c := analysis.Compare(base, prWorse, analysis.DefaultThresholds())
		r := rowOf(t, c, analysis.MetricInternalFreeSteady, "a", 8)
		if !r.Significant || r.Verdict != analysis.Worse || !strings.HasPrefix(r.Delta, "-") {
			t.Errorf("a N=8: %+v", r)
		}
		// p must be exactly benchmath's on the same per-repetition values.
		var og, ng analysis.GroupResult
		for _, g := range base.Groups {
			if g.Key.Variant == "a" && g.Key.N == 8 {
				og = g
			}
		}
		for _, g := range prWorse.Groups {
			if g.Key.Variant == "a" && g.Key.N == 8 {
				ng = g
			}
		}
		om, _ := og.Metric(analysis.MetricInternalFreeSteady)
		nm, _ := ng.Metric(analysis.MetricInternalFreeSteady)
		th := &benchmath.DefaultThresholds
		want := benchmath.AssumeNothing.Compare(benchmath.NewSample(slices.Clone(om.Values), th), benchmath.NewSample(slices.Clone(nm.Values), th))
		if r.P != want.P {
			t.Errorf("p = %v, benchmath %v", r.P, want.P)
		}
		if d := want.FormatDelta(om.Value, nm.Value); d != r.Delta {
			t.Errorf("delta %q, benchmath %q", r.Delta, d)
		}
		if rb := rowOf(t, c, analysis.MetricInternalFreeSteady, "b", 8); rb.Significant {
			t.Errorf("b did not change but p=%v", rb.P)
		}
		cost := rowOf(t, c, analysis.MetricPerSessionCost, "a", analysis.FitAcrossN)
		if !cost.Significant || cost.Verdict != analysis.Worse || math.Abs(cost.New-cost.Old-1000) > 200 {
			t.Errorf("per-session cost row: %+v", cost)
		}
		verdict := map[string]string{}
		for _, v := range c.Verdicts {
			verdict[v.Variant.Variant] = v.Verdict
		}
		if verdict["a"] != analysis.Worse || verdict["b"] != analysis.Same {
			t.Errorf("verdicts %v", verdict)
		}
	})
	t.Run("gates", func(t *testing.T) {
		var gates []analysis.Gate
		for _, s := range []string{"internal_free_steady:-1KB", "internal_free_steady:-2%", "leak_per_cycle:significant"} {
			g, err := analysis.ParseGate(s)
			if err != nil {
				t.Fatal(err)
			}
			gates = append(gates, g)
		}
		th := analysis.DefaultThresholds()
		th.Gates = gates
		if c := analysis.Compare(base, prSame, th); c.Failed() {
			t.Errorf("unchanged PR failed gates: %q", c.Failures)
		}
		c := analysis.Compare(base, prWorse, th)
		failed := map[string]bool{}
		for _, r := range c.Rows {
			for _, g := range r.Gates {
				if g.Failed {
					failed[g.Gate+" "+r.Key.Variant+" "+string(rune('0'+r.Key.N))] = true
				}
			}
		}
		// a loses ~1000 B at N=1 (within 1 KiB), 4000 B at N=4, 8000 B at N=8.
		for k, want := range map[string]bool{
			"internal_free_steady:-1KB a 1": false, "internal_free_steady:-1KB a 4": true, "internal_free_steady:-1KB a 8": true,
			"internal_free_steady:-2% a 1": false, "internal_free_steady:-2% a 4": false, "internal_free_steady:-2% a 8": true,
			"internal_free_steady:-1KB b 8": false,
		} {
			if failed[k] != want {
				t.Errorf("%s: failed=%v, want %v", k, failed[k], want)
			}
		}
		leak := false
		for _, f := range c.Failures {
			if strings.Contains(f, "leak_per_cycle:significant") && strings.Contains(f, "leak") {
				leak = true
			}
		}
		if !leak {
			t.Errorf("the leaking PR cell did not fail leak_per_cycle:significant: %q", c.Failures)
		}

		var md bytes.Buffer
		if err := analysis.WriteMarkdown(&md, c); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"**FAIL: ", "| esp32s3 | a | **worse** |", "#### internal_free_steady (KiB)", "❌ FAIL `internal_free_steady:-1KB`"} {
			if !strings.Contains(md.String(), want) {
				t.Errorf("markdown lacks %q:\n%s", want, md.String())
			}
		}
		var ju bytes.Buffer
		if err := analysis.WriteJUnit(&ju, c); err != nil {
			t.Fatal(err)
		}
		var parsed struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Suites   []struct {
				Name  string `xml:"name,attr"`
				Cases []struct {
					Name    string    `xml:"name,attr"`
					Failure *struct{} `xml:"failure"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal(ju.Bytes(), &parsed); err != nil {
			t.Fatalf("junit does not parse: %v", err)
		}
		if len(parsed.Suites) != 3 || parsed.Failures != len(c.Failures) || parsed.Tests < 13 || len(c.Failures) == 0 {
			t.Errorf("junit: %d suites, %d tests, %d failures (comparison has %d failures)", len(parsed.Suites), parsed.Tests, parsed.Failures, len(c.Failures))
		}
	})
}

func TestMarkdownEscapesNames(t *testing.T) {
	c := &analysis.Comparison{Base: "main", PR: "<b>pr</b>", Rows: []analysis.Row{{Key: analysis.Key{Board: "x|y", Variant: "<script>alert(1)</script>", N: 1},
		Metric: analysis.MetricInternalFreeSteady, Unit: "B", Old: 1, New: 2, Delta: "~", Verdict: analysis.Same}}}
	var b bytes.Buffer
	if err := analysis.WriteMarkdown(&b, c); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>") || strings.Contains(b.String(), "<b>") || strings.Contains(b.String(), "x|y") {
		t.Errorf("unescaped:\n%s", b.String())
	}
}

func TestCompareAcrossBehavioursReportsNewlyFailingCells(t *testing.T) {
	mk := func(behaviour string, failB bool) *analysis.Summary {
		s := &analysis.Summary{}
		for _, v := range []string{"a", "b"} {
			k := analysis.Key{Board: "s3", Variant: v, Behaviour: behaviour, Scenario: "sweep", N: 1}
			g := analysis.GroupResult{Key: k}
			for rep := 1; rep <= 3; rep++ {
				c := analysis.CellResult{ID: fmt.Sprintf("%s-%d", v, rep), Key: k, Rep: rep, Status: "ok"}
				if v == "b" && failB {
					c.Status, c.Reason = "failed", "esp_websocket_client_init returned NULL"
				}
				s.Cells = append(s.Cells, c)
			}
			g.Metrics = []analysis.Metric{{Name: analysis.MetricInternalFreeSteady, Unit: "B", Value: 150000,
				Values: []float64{150000, 150000, 150000}, N: 3, Lo: analysis.Float(math.NaN()), Hi: analysis.Float(math.NaN())}}
			s.Groups = append(s.Groups, g)
		}
		return s
	}
	base, pr := mk("fallback", false), mk("strict", true)
	gate, err := analysis.ParseGate("internal_free_steady:-1KB")
	if err != nil {
		t.Fatal(err)
	}
	c := analysis.Compare(base, pr, analysis.Thresholds{Gates: []analysis.Gate{gate}})
	if len(c.Warnings) != 0 {
		t.Errorf("groups did not match across behaviours: %v", c.Warnings)
	}
	for _, r := range c.Rows {
		if r.Key.Variant == "b" {
			t.Errorf("variant b keeps row %s although its PR cells failed", r.Metric)
		}
	}
	if len(c.FailedCells) != 1 {
		t.Fatalf("failed cells: %+v", c.FailedCells)
	}
	if f := c.FailedCells[0]; f.Key.Variant != "b" || f.BaseFailed != 0 || f.PRFailed != 3 || f.PRTotal != 3 || !f.New ||
		len(f.Reasons) != 1 || f.Reasons[0] != "esp_websocket_client_init returned NULL" {
		t.Fatalf("failed group: %+v", f)
	}
	if !c.Failed() || !strings.Contains(strings.Join(c.Failures, "\n"), "3 of 3 cells fail in the PR") {
		t.Fatalf("failures: %v", c.Failures)
	}
	var md bytes.Buffer
	if err := analysis.WriteMarkdown(&md, c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**FAIL: 1 cell group(s) fail", "`esp_websocket_client_init returned NULL`", "| 0 of 3 | 3 of 3 | ❌ new |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	if strings.Contains(md.String(), "cells_failed (") {
		t.Errorf("failed cells got a table with a test statistic:\n%s", md.String())
	}
	checkJUnitFailures(t, c)
	for _, v := range c.Verdicts {
		want := analysis.Same
		if v.Variant.Variant == "b" {
			want = analysis.Worse
		}
		if v.Verdict != want {
			t.Errorf("variant %s: verdict %s, want %s", v.Variant.Variant, v.Verdict, want)
		}
	}
}

// TestExitStatusAndJUnitAgree: JUnit's failures are exactly the reasons the
// comparison fails, with or without gates and with failed cells allowed.
func TestExitStatusAndJUnitAgree(t *testing.T) {
	nan := analysis.Float(math.NaN())
	mk := func(free float64, hwm float64, failB bool) *analysis.Summary {
		s := &analysis.Summary{}
		for _, v := range []string{"a", "b"} {
			k := analysis.Key{Board: "s3", Variant: v, Scenario: "sweep", N: 1}
			g := analysis.GroupResult{Key: k}
			for rep := 1; rep <= 6; rep++ {
				c := analysis.CellResult{ID: fmt.Sprintf("%s-%d", v, rep), Key: k, Rep: rep, Status: "ok"}
				if v == "b" && failB {
					c.Status, c.Reason = "failed", "esp_websocket_client_init returned NULL"
				}
				s.Cells = append(s.Cells, c)
			}
			vals := []float64{free, free + 1, free + 2, free + 3, free + 4, free + 5}
			g.Metrics = []analysis.Metric{
				{Name: analysis.MetricInternalFreeSteady, Unit: "B", Value: free + 2.5, Values: vals, N: 6, Lo: nan, Hi: nan},
				{Name: analysis.MetricWSStackHWM, Unit: "B", Value: hwm, Values: []float64{hwm, hwm, hwm, hwm, hwm, hwm}, N: 6, Lo: nan, Hi: nan},
			}
			s.Groups = append(s.Groups, g)
		}
		return s
	}
	gates := func(ss ...string) []analysis.Gate {
		var gs []analysis.Gate
		for _, s := range ss {
			g, err := analysis.ParseGate(s)
			if err != nil {
				t.Fatal(err)
			}
			gs = append(gs, g)
		}
		return gs
	}
	tests := []struct {
		name     string
		base, pr *analysis.Summary
		th       analysis.Thresholds
		failures int
	}{
		{"no gates, nothing failed", mk(150000, 600, false), mk(150000, 600, false), analysis.Thresholds{}, 0},
		{"no gates, significantly worse: informational", mk(150000, 600, false), mk(140000, 600, false), analysis.Thresholds{}, 0},
		{"no gates, cells newly fail", mk(150000, 600, false), mk(150000, 600, true), analysis.Thresholds{}, 1},
		{"cells fail in both runs", mk(150000, 600, true), mk(150000, 600, true), analysis.Thresholds{}, 0},
		{"cells newly fail, allowed", mk(150000, 600, false), mk(150000, 600, true), analysis.Thresholds{AllowFailedCells: true}, 0},
		{"change gate fails for a and b", mk(150000, 600, false), mk(140000, 600, false), analysis.Thresholds{Gates: gates("internal_free_steady:-1KB")}, 2},
		{"change gate passes", mk(150000, 600, false), mk(149500, 600, false), analysis.Thresholds{Gates: gates("internal_free_steady:-1KB")}, 0},
		{"floor fails for a and b", mk(150000, 600, false), mk(150000, 300, false), analysis.Thresholds{Gates: gates("ws_stack_hwm<512B")}, 2},
		{"floor skips the failed group, cells fail", mk(150000, 600, false), mk(150000, 300, true), analysis.Thresholds{Gates: gates("ws_stack_hwm<512B")}, 2},
		{"ceiling on failed cells", mk(150000, 600, true), mk(150000, 600, true), analysis.Thresholds{Gates: gates("cells_failed>0"), AllowFailedCells: true}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := analysis.Compare(tt.base, tt.pr, tt.th)
			if len(c.Failures) != tt.failures || c.Failed() != (tt.failures > 0) {
				t.Errorf("failures %q, want %d", c.Failures, tt.failures)
			}
			for _, f := range c.Failures {
				if !strings.HasPrefix(f, "FAIL") {
					t.Errorf("failure %q does not start with FAIL", f)
				}
			}
			if h := c.Headline(); strings.HasPrefix(h, "FAIL") != c.Failed() || !strings.HasPrefix(h, "FAIL") && !strings.HasPrefix(h, "PASS") {
				t.Errorf("headline %q, failed %v", h, c.Failed())
			}
			if h := c.Headline(); len(c.FailedCells) > c.NewlyFailing() && !strings.Contains(h, "failed cells in the base as well") {
				t.Errorf("headline %q does not mention the failures both runs share", h)
			}
			checkJUnitFailures(t, c)
			for _, ch := range c.Checks {
				if !strings.HasPrefix(ch.Message, map[bool]string{true: "FAIL ", false: "PASS "}[ch.Failed]) {
					t.Errorf("check message %q (failed %v)", ch.Message, ch.Failed)
				}
			}
		})
	}
}

// TestMarkdownTablesUseOneUnit: a table's heading names the unit of all of
// its cells; small and large values share it; latencies stay in time.
func TestMarkdownTablesUseOneUnit(t *testing.T) {
	nan := analysis.Float(math.NaN())
	mk := func(free, hwm, p99 float64) *analysis.Summary {
		s := &analysis.Summary{}
		for i, n := range []int{1, 8} {
			k := analysis.Key{Board: "s3", Variant: "int", Scenario: "sweep", N: n}
			f := free / float64(1+7*i) // 150000 at N=1, ~18750 and below 10 KiB for small inputs
			s.Groups = append(s.Groups, analysis.GroupResult{Key: k, Metrics: []analysis.Metric{
				{Name: analysis.MetricInternalFreeSteady, Unit: analysis.UnitBytes, Value: f, Values: []float64{f, f, f, f, f, f}, N: 6, Lo: nan, Hi: nan},
				{Name: analysis.MetricWSStackHWM, Unit: analysis.UnitBytes, Value: hwm, Values: []float64{hwm, hwm, hwm, hwm, hwm, hwm}, N: 6, Lo: nan, Hi: nan},
				{Name: analysis.MetricLatencyP99, Unit: analysis.UnitMicros, Value: p99, Values: []float64{p99, p99, p99, p99, p99, p99}, N: 6, Lo: nan, Hi: nan},
			}})
		}
		return s
	}
	c := analysis.Compare(mk(81184, 45, 3417000), mk(77084, 28, 3517000), analysis.Thresholds{})
	var md bytes.Buffer
	if err := analysis.WriteMarkdown(&md, c); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, want := range []string{
		"#### internal_free_steady (KiB)",
		"| s3 | int | sweep N=8 | 9.9 | 9.4 | -0.50 | -5.05% |",   // 10148 B: below 10 KiB, still in KiB
		"| s3 | int | sweep N=1 | 79.3 | 75.3 | -4.00 | -5.05% |", // -4100 B
		"#### ws_stack_hwm (B)",
		"| 45 | 28 | -17 | -37.78% |",
		"#### handler_latency_p99 (ms)",
		"| 3417.00 | 3517.00 | +100.000 | +2.93% |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{" KiB |", " B |", " ms |", "(us)"} {
		if strings.Contains(out, bad) {
			t.Errorf("a cell carries its own unit %q:\n%s", bad, out)
		}
	}
}

// TestGateMessagesSayPassOrFailFirst pins the wording of change gates.
func TestGateMessagesSayPassOrFailFirst(t *testing.T) {
	nan := analysis.Float(math.NaN())
	mk := func(vals ...float64) *analysis.Summary {
		k := analysis.Key{Board: "s3", Variant: "both-ext", Scenario: "sweep", N: 4}
		sorted := slices.Sorted(slices.Values(vals))
		med := (sorted[(len(vals)-1)/2] + sorted[len(vals)/2]) / 2
		return &analysis.Summary{Groups: []analysis.GroupResult{{Key: k, Metrics: []analysis.Metric{
			{Name: analysis.MetricInternalFreeSteady, Unit: analysis.UnitBytes, Value: med, Values: vals, N: len(vals), Lo: nan, Hi: nan}}}}}
	}
	gate, err := analysis.ParseGate("internal_free_steady:-1KB")
	if err != nil {
		t.Fatal(err)
	}
	th := analysis.Thresholds{Gates: []analysis.Gate{gate}}
	tests := []struct {
		name     string
		base, pr *analysis.Summary
		want     string
	}{
		{"significant drop", mk(54900, 54901, 54902, 54903, 54904, 54905), mk(50800, 50801, 50802, 50803, 50804, 50805),
			"FAIL internal_free_steady:-1KB: board=s3 variant=both-ext scenario=sweep n=4: base 53.6 KiB, PR 49.6 KiB: a drop of 4100 B (-7.47%), more than the 1024 B drop allowed, and significant (p=0.002)"},
		{"small drop", mk(54900, 54901, 54902, 54903, 54904, 54905), mk(54700, 54701, 54702, 54703, 54704, 54705),
			"PASS internal_free_steady:-1KB: board=s3 variant=both-ext scenario=sweep n=4: base 53.6 KiB, PR 53.4 KiB: a drop of 200 B (-0.36%), within the 1024 B drop allowed"},
		{"too few to test", mk(54900, 54901, 54902), mk(50800, 50801, 50802),
			"FAIL internal_free_steady:-1KB: board=s3 variant=both-ext scenario=sweep n=4: base 53.6 KiB, PR 49.6 KiB: a drop of 4100 B (-7.47%), more than the 1024 B drop allowed; 3+3 repetitions are too few to test significance, so the change alone fails it"},
		{"noise", mk(54900, 50000, 59000, 51000, 58000, 52000), mk(50800, 50000, 59000, 51000, 58000, 52000),
			"PASS internal_free_steady:-1KB: board=s3 variant=both-ext scenario=sweep n=4: base 52.2 KiB, PR 50.3 KiB: a drop of 1950 B (-3.65%), more than the 1024 B drop allowed, but not significant (p=0.771): within the noise"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := analysis.Compare(tt.base, tt.pr, th)
			if len(c.Checks) != 1 || c.Checks[0].Message != tt.want {
				t.Errorf("checks %+v\nwant %q", c.Checks, tt.want)
			}
		})
	}
}

func TestCompareWarnsWhenRepetitionsCannotReachSignificance(t *testing.T) {
	mk := func(vals []float64) *analysis.Summary {
		k := analysis.Key{Board: "s3", Variant: "int", Scenario: "churn", N: 1}
		return &analysis.Summary{Groups: []analysis.GroupResult{{Key: k, Metrics: []analysis.Metric{{Name: analysis.MetricLeakPerCycle, Unit: analysis.UnitBytesCycle,
			Value: vals[0], Values: vals, N: len(vals), Lo: analysis.Float(math.NaN()), Hi: analysis.Float(math.NaN())}}}}}
	}
	tests := []struct {
		name     string
		old, new []float64
		warn     bool
	}{
		{"3+3 repetitions: a 68 B/cycle leak cannot be significant", []float64{0, 0, 0}, []float64{68, 68, 68}, true},
		{"6+6 repetitions: testable", []float64{0, 0, 0, 0, 0, 0}, []float64{68, 68, 68, 68, 68, 68}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := analysis.Compare(mk(tt.old), mk(tt.new), analysis.Thresholds{})
			got := strings.Contains(strings.Join(c.Warnings, "\n"), "untested, not unchanged")
			if got != tt.warn {
				t.Errorf("warnings %q: untested warning %v, want %v", c.Warnings, got, tt.warn)
			}
			var md bytes.Buffer
			if err := analysis.WriteMarkdown(&md, c); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(md.String(), "untested, not unchanged") != tt.warn {
				t.Errorf("markdown and warning disagree:\n%s", md.String())
			}
		})
	}
}

func TestGatedCompareOfUnrelatedRunsFails(t *testing.T) {
	mk := func(board string) *analysis.Summary {
		k := analysis.Key{Board: board, Variant: "int", Scenario: "sweep", N: 1}
		nan := analysis.Float(math.NaN())
		return &analysis.Summary{Groups: []analysis.GroupResult{{Key: k, Metrics: []analysis.Metric{
			{Name: analysis.MetricInternalFreeSteady, Value: 1, Values: []float64{1, 1, 1}, N: 3, Lo: nan, Hi: nan}}}}}
	}
	gate, err := analysis.ParseGate("internal_free_steady:-1KB")
	if err != nil {
		t.Fatal(err)
	}
	c := analysis.Compare(mk("esp32s3"), mk("esp32"), analysis.Thresholds{Gates: []analysis.Gate{gate}})
	if !c.Failed() || c.Failures[len(c.Failures)-1] != analysis.NothingCompared || !strings.HasPrefix(c.Headline(), "FAIL") {
		t.Fatalf("failures %v, want %q", c.Failures, analysis.NothingCompared)
	}
	var junit bytes.Buffer
	if err := analysis.WriteJUnit(&junit, c); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(junit.String(), `failures="1"`) {
		t.Errorf("JUnit does not fail:\n%s", junit.String())
	}
	// Ungated, the same comparison only reports what it could not match.
	if c := analysis.Compare(mk("esp32s3"), mk("esp32"), analysis.Thresholds{}); c.Failed() {
		t.Errorf("ungated comparison failed: %v", c.Failures)
	}
}

func TestDeltaFromZeroIsAbsolute(t *testing.T) {
	mk := func(v float64) *analysis.Summary {
		nan := analysis.Float(math.NaN())
		k := analysis.Key{Board: "s3", Variant: "int", Scenario: "churn", N: 1}
		return &analysis.Summary{Groups: []analysis.GroupResult{{Key: k, Metrics: []analysis.Metric{
			{Name: analysis.MetricLeakPerCycle, Unit: analysis.UnitBytesCycle, Value: v, Values: []float64{v, v, v, v, v, v}, N: 6, Lo: nan, Hi: nan}}}}}
	}
	c := analysis.Compare(mk(0), mk(68), analysis.Thresholds{})
	if len(c.Rows) != 1 || !c.Rows[0].Significant || !strings.HasPrefix(c.Rows[0].Delta, "+68") || c.Rows[0].Verdict != analysis.Worse {
		t.Fatalf("rows %+v", c.Rows)
	}
}

func TestVerdictIsUntestedWithTooFewRepetitions(t *testing.T) {
	mk := func(v float64, reps int) *analysis.Summary {
		nan := analysis.Float(math.NaN())
		vals := make([]float64, reps)
		for i := range vals {
			vals[i] = v
		}
		k := analysis.Key{Board: "s3", Variant: "int", Scenario: "sweep", N: 1}
		return &analysis.Summary{Groups: []analysis.GroupResult{{Key: k, Metrics: []analysis.Metric{
			{Name: analysis.MetricInternalFreeSteady, Unit: analysis.UnitBytes, Value: v, Values: vals, N: reps, Lo: nan, Hi: nan}}}}}
	}
	for _, tt := range []struct {
		reps int
		want string
	}{{3, analysis.Untested}, {6, analysis.Worse}} {
		c := analysis.Compare(mk(150000, tt.reps), mk(140000, tt.reps), analysis.Thresholds{})
		if len(c.Verdicts) != 1 || c.Verdicts[0].Verdict != tt.want {
			t.Errorf("%d+%d repetitions: verdicts %+v, want %s", tt.reps, tt.reps, c.Verdicts, tt.want)
		}
	}
}

// checkJUnitFailures: the JUnit report of c parses and counts one failure
// per failure of the comparison.
func checkJUnitFailures(t *testing.T, c *analysis.Comparison) {
	t.Helper()
	var ju bytes.Buffer
	if err := analysis.WriteJUnit(&ju, c); err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(ju.Bytes(), &parsed); err != nil {
		t.Fatalf("junit does not parse: %v", err)
	}
	if parsed.Failures != len(c.Failures) {
		t.Errorf("junit has %d failures, the comparison %d (%q):\n%s", parsed.Failures, len(c.Failures), c.Failures, ju.String())
	}
}
