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
	if !strings.Contains("\n"+buf.String(), "\nBenchmarkSweep/board=esp32s3-n8r8/variant=stack-ext/behaviour=fallback/n=4 1 ") {
		t.Errorf("no sweep line for stack-ext n=4:\n%s", buf.String())
	}
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
			if string(base) != "Sweep" || len(parts) != 4 {
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
	if results != len(cells) || costs != 2 {
		t.Errorf("%d cell results and %d cost results, want %d and 2", results, costs, len(cells))
	}
	if strings.Contains(buf.String(), "odd name/with=chars") {
		t.Error("an unsafe variant name went into a benchmark name as is")
	}
}
