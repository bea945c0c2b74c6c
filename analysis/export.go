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

// commentSafe makes s one comment line: control characters become spaces.
func commentSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// WriteBenchfmt writes s in the Go benchmark format (golang.org/x/perf
// benchfmt) so benchstat can read it: one result line per cell, e.g.
//
//	BenchmarkSweep/board=esp32s3-n8r8/variant=stack-ext/n=4 1 123456 internal-free-B 4096 ws-stack-hwm-B ... 0 failed-cells
//
// Repetitions of a cell are repeated lines, which benchstat summarizes;
// neither the run nor the branch nor the behaviour appears, so `benchstat
// base.txt pr.txt` lines up two branches.
//
// A failed cell is a line with "1 failed-cells" and no figures (a cell
// that never got going allocated nothing and would read as an
// improvement), so benchstat shows a failed-cells table going from 0 to 1;
// a comment line above the results gives its reason. The fits across N
// (per-session cost) are left out: one value per variant has no interval,
// and benchstat would print it as "± ∞"; they are in summary.json and
// compare.
func WriteBenchfmt(w io.Writer, s *Summary) error {
	cells := append([]CellResult(nil), s.Cells...)
	sort.SliceStable(cells, func(i, j int) bool {
		if cells[i].Key != cells[j].Key {
			return keyLess(cells[i].Key, cells[j].Key)
		}
		return cells[i].Rep < cells[j].Rep
	})
	var head strings.Builder
	fmt.Fprintf(&head, "# wsbench export of run %s: one result line per cell; a failed cell has 1 failed-cells and no figures.\n", commentSafe(orDash(s.RunID)))
	head.WriteString("# Fits across N (per-session cost) are in summary.json and wsbench compare, not here: one value per variant has no interval.\n")
	reps := map[Key]int{}
	fewest := 0
	for _, c := range cells {
		reps[c.Key]++
	}
	for _, n := range reps {
		if fewest == 0 || n < fewest {
			fewest = n
		}
	}
	if fewest > 0 && fewest < 6 {
		fmt.Fprintf(&head, "# Some cells have only %d repetitions: benchstat needs 6 for a 95%% interval and prints \"± ∞\" below that.\n", fewest)
	}
	for _, c := range cells {
		if c.Status == "failed" {
			fmt.Fprintf(&head, "# FAILED %s: %s\n", commentSafe(c.ID), commentSafe(c.Reason))
		}
	}
	head.WriteString("\n")
	if _, err := io.WriteString(w, head.String()); err != nil {
		return fmt.Errorf("benchfmt: %w", err)
	}
	bw := benchfmt.NewWriter(w)
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
		r := &benchfmt.Result{Iters: 1, Name: benchfmt.Name(benchName(c.Key.Scenario, c.Key, true))}
		cfg(r, c.Chip, c.IDFVersion)
		if c.Status == "failed" {
			r.Values = append(r.Values, benchfmt.Value{Value: 1, Unit: "failed-cells"})
		} else {
			for _, u := range benchUnits {
				if m, ok := c.Metric(u.metric); ok {
					r.Values = append(r.Values, benchfmt.Value{Value: m.Value, Unit: u.unit})
				}
			}
			if len(r.Values) == 0 {
				continue
			}
			r.Values = append(r.Values, benchfmt.Value{Value: 0, Unit: "failed-cells"})
		}
		if err := bw.Write(r); err != nil {
			return fmt.Errorf("benchfmt: %w", err)
		}
	}
	return nil
}
