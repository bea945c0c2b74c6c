package analysis_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/rundir"
)

// TestVerdicts: a variant that moves the 4096-byte stack is judged against
// the baseline variant per N, with the fields summary.json promises, and
// its line says what it frees and what crossed a threshold.
func TestVerdicts(t *testing.T) {
	m := coverageModel(11, 6)
	m.StackHWM = map[string]int32{"int": 1200, "stack-ext": 300}
	s, _ := analyze(t, m.Cells())
	if s.Judgement.Baseline != "int" || s.Judgement.WSStackHeadroom != 512 {
		t.Fatalf("judgement %+v, want the defaults", s.Judgement)
	}
	var freed []analysis.Verdict
	for _, v := range s.Verdicts {
		if v.Variant == "stack-ext" && v.Metric == analysis.MetricInternalFreeSteady && v.N >= 1 {
			freed = append(freed, v)
		}
	}
	if len(freed) != 5 {
		t.Fatalf("%d internal_free_steady verdicts at N>=1, want 5 (N=1,2,4,6,8)", len(freed))
	}
	for _, v := range freed {
		if v.Baseline != "int" || v.Unit != "B" || !(float64(v.Lo) <= float64(v.Delta) && float64(v.Delta) <= float64(v.Hi)) || float64(v.P) > 0.01 {
			t.Errorf("N=%d: %+v, want an interval around the delta and p <= 0.01", v.N, v)
		}
		if d := float64(v.Delta); d < 4096-700 || d > 4096+700 {
			t.Errorf("N=%d: frees %v, want about 4100", v.N, d)
		}
	}
	b, err := json.Marshal(s.Verdicts[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"variant", "baseline", "n", "metric", "delta", "ci_low", "ci_high", "p", "unit", "flag"} {
		if !bytes.Contains(b, []byte(`"`+field+`":`)) {
			t.Errorf("verdict JSON lacks %q: %s", field, b)
		}
	}
	var line string
	for _, l := range s.VerdictLines {
		if l.Variant == "stack-ext" {
			line = l.Text
		}
	}
	for _, want := range []string{"stack-ext frees 4.0 KiB [", "of internal RAM at every N from 1 to 8 (p<0.01)", "5 sessions fit (the 6th failed), as with int", "leak not measured", "ws stack headroom 300 B (sweep), below 512 B"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
	var hwm *analysis.Verdict
	for i, v := range s.Verdicts {
		if v.Variant == "stack-ext" && v.Metric == analysis.MetricWSStackHWM {
			hwm = &s.Verdicts[i]
		}
	}
	if hwm == nil || hwm.Flag != analysis.FlagBelowThreshold || hwm.Threshold != 512 {
		t.Errorf("ws_stack_hwm verdict %+v, want flagged below 512", hwm)
	}
	var out bytes.Buffer
	if err := analysis.WriteVerdictTable(&out, s); err != nil || !strings.Contains(out.String(), "| s3 | stack-ext | int | 1 | internal_free_steady (sweep) |") {
		t.Errorf("verdict table (%v):\n%s", err, out.String())
	}
}

// A variant whose cells all failed says so first, and the figures those
// cells captured before failing are no variant's lowest free RAM.
func TestVerdictAllCellsFailed(t *testing.T) {
	m := coverageModel(12, 2)
	cells := m.Cells()
	for i := range cells {
		if cells[i].Cell.Variant == "stack-ext" {
			cells[i].Cell.Status, cells[i].Cell.Reason = rundir.StatusFailed, "esp_websocket_client_init returned NULL"
		}
	}
	s, _ := analyze(t, cells)
	for _, l := range s.VerdictLines {
		if l.Variant != "stack-ext" {
			continue
		}
		if !strings.HasPrefix(l.Text, "stack-ext: all 12 cells failed (esp_websocket_client_init returned NULL)") || !l.Flagged {
			t.Errorf("line %q (flagged %v)", l.Text, l.Flagged)
		}
		if strings.Contains(l.Text, "lowest free") {
			t.Errorf("line %q quotes a failed cell's lowest free RAM", l.Text)
		}
	}
	for _, o := range analysis.Overviews(s) {
		if o.Key.Variant == "stack-ext" && (o.HasMinFree || o.HasHWM || o.Failed != 12) {
			t.Errorf("overview of the failed variant: %+v", o)
		}
	}
}
