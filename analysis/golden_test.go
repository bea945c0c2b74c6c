package analysis_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/analysis/synth"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", path, got)
	}
}

// TestGoldenOutputs pins the Markdown table, the JUnit XML and the benchfmt
// export of one comparison of two synthetic runs.
func TestGoldenOutputs(t *testing.T) {
	ns := []int{1, 4, 8}
	base, _ := analyze(t, synth.Sweep("esp32s3-n8r8", []string{"int", "stack-ext"}, map[string]uint32{"int": 24000, "stack-ext": 20000}, ns, 4, 500))
	cells := synth.Sweep("esp32s3-n8r8", []string{"int", "stack-ext"}, map[string]uint32{"int": 24000, "stack-ext": 21500}, ns, 4, 500)
	for i := range cells {
		cells[i].Seed += 1000
	}
	pr, _ := analyze(t, cells)
	base.RunID, pr.RunID = "main", "pr-1117"
	th := analysis.DefaultThresholds()
	for _, s := range []string{"internal_free_steady:-1KB", "per_session_internal_cost:+2%"} {
		g, err := analysis.ParseGate(s)
		if err != nil {
			t.Fatal(err)
		}
		th.Gates = append(th.Gates, g)
	}
	c := analysis.Compare(base, pr, th)
	var md, ju, bf bytes.Buffer
	if err := analysis.WriteMarkdown(&md, c); err != nil {
		t.Fatal(err)
	}
	if err := analysis.WriteJUnit(&ju, c); err != nil {
		t.Fatal(err)
	}
	if err := analysis.WriteBenchfmt(&bf, pr); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.md", md.Bytes())
	golden(t, "compare.junit.xml", ju.Bytes())
	golden(t, "export.benchfmt.txt", bf.Bytes())
}
