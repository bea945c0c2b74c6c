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
		bad   bool
	}{
		{in: "internal_free_steady:-1KB", kind: analysis.GateAbsolute, limit: -1024},
		{in: "internal_free_steady:-2%", kind: analysis.GateRelative, limit: -2},
		{in: "leak_per_cycle:significant", kind: analysis.GateSignificant},
		{in: "per_session_internal_cost:+512B", kind: analysis.GateAbsolute, limit: 512},
		{in: "internal_free_steady:1KiB", kind: analysis.GateAbsolute, limit: -1024}, // unsigned: the worse direction
		{in: "ws_stack_hwm:-0.5K", kind: analysis.GateAbsolute, limit: -512},
		{in: "handler_latency_p99:+10%", kind: analysis.GateRelative, limit: 10},
		{in: "nope:-1KB", bad: true},
		{in: "internal_free_steady", bad: true},
		{in: "resets:1KB", bad: true},
		{in: "internal_free_steady:abc", bad: true},
		{in: ":-1KB", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			g, err := analysis.ParseGate(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("no error for %q", tt.in)
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
		for _, want := range []string{"gate failure", "| esp32s3 | a | **worse** |", "#### internal_free_steady (B)", "❌"} {
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
		if len(parsed.Suites) != 3 || parsed.Failures != len(c.Failures) || parsed.Tests < 13 {
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
	var failedRow *analysis.Row
	for i, r := range c.Rows {
		if r.Key.Variant == "b" && r.Metric != analysis.MetricCellsFailed {
			t.Errorf("variant b keeps row %s although its PR cells failed", r.Metric)
		}
		if r.Metric == analysis.MetricCellsFailed {
			failedRow = &c.Rows[i]
		}
	}
	if failedRow == nil || failedRow.Key.Variant != "b" || failedRow.Old != 0 || failedRow.New != 3 || failedRow.Verdict != analysis.Worse {
		t.Fatalf("cells_failed row: %+v", failedRow)
	}
	if !c.Failed() || !strings.Contains(strings.Join(c.Failures, "\n"), "3 of 3 cells fail in the PR") {
		t.Fatalf("failures: %v", c.Failures)
	}
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
	for _, v := range c.Verdicts {
		want := analysis.Same
		if v.Variant.Variant == "b" {
			want = analysis.Worse
		}
		if v.Verdict != want {
			t.Errorf("variant %s: verdict %s, want %s", v.Variant.Variant, v.Verdict, want)
		}
	}
	// Without gates the failure is reported but does not fail the comparison.
	if c := analysis.Compare(base, pr, analysis.Thresholds{}); c.Failed() {
		t.Errorf("no gate given, yet failed: %v", c.Failures)
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
	if !c.Failed() || c.Failures[len(c.Failures)-1] != analysis.NothingCompared {
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
