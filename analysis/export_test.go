package analysis_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/analysis/synth"
	"golang.org/x/perf/benchfmt"
)

func TestWriteBenchfmtParsesBack(t *testing.T) {
	cells := synth.Sweep("esp32s3-n8r8", []string{"stack-ext", "odd name/with=chars"}, map[string]uint32{"stack-ext": 20000, "odd name/with=chars": 18000}, []int{1, 4}, 2, 0)
	s, _ := analyze(t, cells)
	var buf bytes.Buffer
	if err := analysis.WriteBenchfmt(&buf, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains("\n"+buf.String(), "\nBenchmarkSweep/board=esp32s3-n8r8/variant=stack-ext/n=4 1 ") {
		t.Errorf("no sweep line for stack-ext n=4:\n%s", buf.String())
	}
	text := buf.String()
	rd := benchfmt.NewReader(&buf, "export.txt")
	results, costs := 0, 0
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Fatalf("syntax error: %v", rec)
		case *benchfmt.Result:
			base, parts := rec.Name.Parts()
			if string(base) == "Cost" {
				costs++
				if v, ok := rec.Value("per-session-internal-B"); !ok || (v != 20000 && v != 18000) {
					t.Errorf("%s: per-session cost %v", rec.Name, v)
				}
				continue
			}
			results++
			if string(base) != "Sweep" || len(parts) != 3 {
				t.Errorf("name %s: base %s, %d parts", rec.Name, base, len(parts))
			}
			v, ok := rec.Value("internal-free-B")
			if !ok || v <= 0 {
				t.Errorf("%s: internal-free-B = %v, %v", rec.Name, v, ok)
			}
			if hwm, _ := rec.Value("ws-stack-hwm-B"); hwm != 1200 {
				t.Errorf("%s: ws-stack-hwm-B = %v", rec.Name, hwm)
			}
			if rec.GetConfig("chip") != "esp32s3" || rec.GetConfig("idf") != "v5.4.1" {
				t.Errorf("%s: config chip=%q idf=%q", rec.Name, rec.GetConfig("chip"), rec.GetConfig("idf"))
			}
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	// No cost lines: one fit per variant would be "± ∞ n=1" in benchstat.
	if results != len(cells) || costs != 0 {
		t.Errorf("%d cell results and %d cost results, want %d and 0", results, costs, len(cells))
	}
	if !strings.Contains(text, "# Some cells have only 2 repetitions") {
		t.Errorf("no note that 2 repetitions give no interval:\n%s", text)
	}
	if strings.Contains(buf.String(), "odd name/with=chars") {
		t.Error("an unsafe variant name went into a benchmark name as is")
	}
}

func TestWriteBenchfmtLinesUpBranchesAndMarksFailedCells(t *testing.T) {
	cell := func(behaviour, branch, variant, status string) analysis.CellResult {
		return analysis.CellResult{ID: variant + "-" + behaviour, Rep: 1, Status: status, Chip: "esp32s3", IDFVersion: "v5.3.1",
			Key:     analysis.Key{Board: "s3", Variant: variant, Behaviour: behaviour, Branch: branch, Scenario: "sweep", N: 1},
			Metrics: []analysis.Metric{{Name: analysis.MetricInternalFreeMin, Unit: "B", Value: 150000, N: 1}}}
	}
	tests := []struct {
		name      string
		cell      analysis.CellResult
		wantLines []string
	}{
		{"fallback branch", cell("fallback", "pr-980", "int", "ok"), []string{"BenchmarkSweep/board=s3/variant=int/n=1 1 150000 internal-free-min-B 0 failed-cells"}},
		{"strict branch names the same benchmark", cell("strict", "pr-1117", "int", "ok"), []string{"BenchmarkSweep/board=s3/variant=int/n=1 1 150000 internal-free-min-B 0 failed-cells"}},
		{"failed cell has failed-cells 1 and no figures", cell("strict", "pr-1117", "both-ext", "failed"), []string{"BenchmarkSweep/board=s3/variant=both-ext/n=1 1 1 failed-cells"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := analysis.WriteBenchfmt(&buf, &analysis.Summary{Cells: []analysis.CellResult{tt.cell}}); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range strings.Split(buf.String(), "\n") {
				if strings.HasPrefix(l, "Benchmark") {
					got = append(got, l)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.wantLines, "\n") {
				t.Errorf("result lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wantLines, "\n"))
			}
		})
	}
}
