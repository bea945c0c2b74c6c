package analysis

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/perf/benchfmt"
)

// benchUnits maps metric names to Go benchmark units. Units ending in "-B"
// are bytes to benchstat (binary scaling); the rest are plain numbers.
var benchUnits = []struct{ metric, unit string }{
	{MetricInternalFreeSteady, "internal-free-B"},
	{MetricInternalFreeBaseline, "internal-free-baseline-B"},
	{MetricInternalFreeMin, "internal-free-min-B"},
	{MetricInternalLargest, "internal-largest-B"},
	{MetricPSRAMUsed, "psram-used-B"},
	{MetricDMAFree, "dma-free-B"},
	{MetricWSStackHWM, "ws-stack-hwm-B"},
	{MetricLeakPerCycle, "leak-B/cycle"},
	{MetricLatencyP50, "handler-p50-us"},
	{MetricLatencyP99, "handler-p99-us"},
	{MetricResets, "resets"},
	{MetricWatchdogs, "watchdogs"},
	{MetricSessionFailures, "session-failures"},
}

// nameSafe makes s usable as a benchmark name part or config value: no
// spaces, no '/', no '=', no control characters.
func nameSafe(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' || r == '=' {
			return '_'
		}
		return r
	}, s)
}

func benchName(kind string, k Key, withN bool) string {
	// benchfmt.Writer adds the "Benchmark" prefix.
	var b strings.Builder
	if kind == "" {
		kind = "Run"
	}
	b.WriteString(nameSafe(strings.ToUpper(kind[:1]) + kind[1:]))
	// No behaviour and no branch: they are what two runs of two branches
	// differ in, and compare matches groups without them too.
	fmt.Fprintf(&b, "/board=%s/variant=%s", nameSafe(k.Board), nameSafe(k.Variant))
	if k.Label != "" && k.Label != k.Scenario {
		fmt.Fprintf(&b, "/label=%s", nameSafe(k.Label))
	}
	if withN {
		fmt.Fprintf(&b, "/n=%d", k.N)
	}
	return b.String()
}

// WriteBenchfmt writes s in the Go benchmark format (golang.org/x/perf
// benchfmt) so benchstat can read it: one result line per cell, e.g.
//
//	BenchmarkSweep/board=esp32s3-n8r8/variant=stack-ext/n=4 1 123456 internal-free-B 4096 ws-stack-hwm-B ...
//
// and one per variant's fit across N (BenchmarkCost/...). Repetitions of a
// cell are repeated lines, which benchstat summarizes; neither the run nor
// the branch nor the behaviour appears, so `benchstat base.txt pr.txt`
// lines up two branches. Failed cells are left out, as compare leaves out
// their figures: a cell that never got going allocated nothing and would
// read as an improvement.
func WriteBenchfmt(w io.Writer, s *Summary) error {
	bw := benchfmt.NewWriter(w)
	cells := append([]CellResult(nil), s.Cells...)
	sort.SliceStable(cells, func(i, j int) bool {
		if cells[i].Key != cells[j].Key {
			return keyLess(cells[i].Key, cells[j].Key)
		}
		return cells[i].Rep < cells[j].Rep
	})
	// File configuration lines ("key: value") precede the results they
	// apply to. Run id and branch are left out: benchstat splits tables by
	// configuration, and two runs of two branches must line up.
	cfg := func(r *benchfmt.Result, chip, idf string) {
		add := func(k, v string) {
			r.Config = append(r.Config, benchfmt.Config{Key: k, Value: []byte(nameSafe(v)), File: true})
		}
		add("chip", chip)
		add("idf", idf)
	}
	for _, c := range cells {
		if c.Status == "failed" {
			continue
		}
		r := &benchfmt.Result{Iters: 1, Name: benchfmt.Name(benchName(c.Key.Scenario, c.Key, true))}
		cfg(r, c.Chip, c.IDFVersion)
		for _, u := range benchUnits {
			if m, ok := c.Metric(u.metric); ok {
				r.Values = append(r.Values, benchfmt.Value{Value: m.Value, Unit: u.unit})
			}
		}
		if len(r.Values) == 0 {
			continue
		}
		if err := bw.Write(r); err != nil {
			return fmt.Errorf("benchfmt: %w", err)
		}
	}
	for _, cr := range s.Costs {
		k := Key{Board: cr.Variant.Board, Variant: cr.Variant.Variant, Behaviour: cr.Variant.Behaviour}
		r := &benchfmt.Result{Iters: 1, Name: benchfmt.Name(benchName("cost", k, false))}
		cfg(r, "", "")
		for _, u := range []struct{ metric, unit string }{{MetricPerSessionCost, "per-session-internal-B"}, {MetricFixedCost, "fixed-internal-B"}, {MetricPerSessionPSRAM, "per-session-psram-B"}} {
			if m, ok := cr.Metric(u.metric); ok {
				r.Values = append(r.Values, benchfmt.Value{Value: m.Value, Unit: u.unit})
			}
		}
		if len(r.Values) == 0 {
			continue
		}
		if err := bw.Write(r); err != nil {
			return fmt.Errorf("benchfmt: %w", err)
		}
	}
	return nil
}
