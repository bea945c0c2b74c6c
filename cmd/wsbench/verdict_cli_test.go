package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const twoVariantMatrix = `
repetitions: 2
boards:
  - name: v
    virtual: esp32s3-n8r8
    count: 2
variants:
  - name: int
  - name: stack-ext
    stack_in_ext_ram: true
thresholds:
  ws_stack_headroom: 300
scenarios:
  - scenario: sweep
    n: [0, 1, 2]
    baseline: 500ms
    window: 1s
`

// summaryBlock is what run and report print after the analysis: from the
// verdicts to the warning count.
func summaryBlock(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, "verdicts against ")
	j := strings.Index(out, "\nreport:")
	if i < 0 || j < i {
		t.Fatalf("no verdicts and table in the output:\n%s", out)
	}
	return out[i:j]
}

// run and report print the same verdicts, table and warning count, and
// compare RUN judges the run's variants against its baseline variant.
func TestRunReportAndCompareRunAgree(t *testing.T) {
	echartsOrSkip(t)
	dir := t.TempDir()
	m := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(m, []byte(twoVariantMatrix), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := wsbench("run", m, "--results", filepath.Join(dir, "results"), "--run-id", "r", "--plain")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	runBlock := summaryBlock(t, out)
	for _, want := range []string{"verdicts against int", "threshold 300 B", "stack-ext: internal RAM freed 4.0 KiB at every N from 1 to 2, not significant", "one-time (client)", "per TLS session"} {
		if !strings.Contains(runBlock, want) {
			t.Errorf("run output lacks %q:\n%s", want, runBlock)
		}
	}
	runDir := filepath.Join(dir, "results", "r")
	rep, err := wsbench("report", runDir)
	if err != nil {
		t.Fatalf("report: %v\n%s", err, rep)
	}
	if got := summaryBlock(t, rep); got != runBlock {
		t.Errorf("report prints\n%s\nrun printed\n%s", got, runBlock)
	}
	cmp, err := wsbench("compare", runDir)
	if err != nil {
		t.Fatalf("compare RUN: %v\n%s", err, cmp)
	}
	for _, want := range []string{"variants against int", "| v | stack-ext | int | 1 | internal_free_steady (sweep) |", "fixed_internal_cost"} {
		if !strings.Contains(cmp, want) {
			t.Errorf("compare RUN lacks %q:\n%s", want, cmp)
		}
	}
}
