package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/analysis/synth"
	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/rundir"
)

func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(testctx.New(t))
	return out.String(), err
}

func echartsOrSkip(t *testing.T) {
	t.Helper()
	if p := os.Getenv("WSBENCH_ECHARTS"); p != "" {
		return
	}
	for dir, _ := os.Getwd(); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "node_modules/echarts/dist/echarts.min.js")); err == nil {
			return
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("node_modules/echarts missing (npm ci)")
	}
	t.Skip("node_modules/echarts missing: run npm ci")
}

// TestReportCompareExport runs the three commands on two synthetic runs:
// the PR's variant a costs 1000 B more per session.
func TestReportCompareExport(t *testing.T) {
	echartsOrSkip(t)
	dir := t.TempDir()
	base, pr := filepath.Join(dir, "main"), filepath.Join(dir, "pr")
	ns := []int{1, 4, 8}
	if err := synth.WriteRun(base, synth.Sweep("esp32s3-n8r8", []string{"a", "b"}, map[string]uint32{"a": 20000, "b": 16000}, ns, 4, 400)); err != nil {
		t.Fatal(err)
	}
	cells := synth.Sweep("esp32s3-n8r8", []string{"a", "b"}, map[string]uint32{"a": 21000, "b": 16000}, ns, 4, 400)
	for i := range cells {
		cells[i].Seed += 99
	}
	if err := synth.WriteRun(pr, cells); err != nil {
		t.Fatal(err)
	}

	t.Run("report_writes_summary_and_html", func(t *testing.T) {
		out, err := execute(t, "report", base)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{rundir.SummaryFile, rundir.ReportFile} {
			if _, err := os.Stat(filepath.Join(base, f)); err != nil || !strings.Contains(out, f) {
				t.Errorf("%s: %v (stdout %q)", f, err, out)
			}
		}
		if _, err := analysis.ReadSummary(base); err != nil {
			t.Error(err)
		}
	})
	t.Run("compare_passes_without_gates", func(t *testing.T) {
		out, err := execute(t, "compare", base, pr)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "| esp32s3-n8r8 | a | **worse** |") {
			t.Errorf("markdown:\n%s", out)
		}
	})
	t.Run("compare_gate_fails_with_exit_1", func(t *testing.T) {
		html, md, junit := filepath.Join(dir, "cmp.html"), filepath.Join(dir, "cmp.md"), filepath.Join(dir, "cmp.xml")
		// base as summary.json, PR as a run directory.
		_, err := execute(t, "compare", filepath.Join(base, rundir.SummaryFile), pr, "--fail-on", "internal_free_steady:-1KB,leak_per_cycle:significant",
			"--html", html, "--md", md, "--junit", junit)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 1 || exitCode(err) != 1 {
			t.Fatalf("err = %v, want an exit error with code 1", err)
		}
		b, _ := os.ReadFile(junit)
		var suites struct {
			Failures int `xml:"failures,attr"`
		}
		if err := xml.Unmarshal(b, &suites); err != nil || suites.Failures != 2 {
			t.Errorf("junit failures %d (a N=4 and N=8), err %v:\n%s", suites.Failures, err, b)
		}
		if b, _ := os.ReadFile(md); !strings.Contains(string(b), "**FAIL: 2 of ") {
			t.Errorf("md:\n%s", b)
		}
		if b, _ := os.ReadFile(html); !strings.Contains(string(b), `id="cmp-steady"`) || !strings.Contains(string(b), `id="cmp-timeline"`) {
			t.Errorf("html lacks overlays")
		}
	})
	t.Run("bad_gate_is_a_usage_error", func(t *testing.T) {
		_, err := execute(t, "compare", base, pr, "--fail-on", "nope:-1KB")
		if err == nil || exitCode(err) != 2 {
			t.Fatalf("err = %v (code %d), want a usage error, code 2", err, exitCode(err))
		}
	})
	t.Run("export_benchfmt_parses", func(t *testing.T) {
		out, err := execute(t, "export", "--benchfmt", pr)
		if err != nil {
			t.Fatal(err)
		}
		// The only format is the default.
		if plain, err := execute(t, "export", pr); err != nil || plain != out {
			t.Errorf("export without --benchfmt: err %v, same output %v", err, plain == out)
		}
		rd := benchfmt.NewReader(strings.NewReader(out), "pr.txt")
		n := 0
		for rd.Scan() {
			if r, ok := rd.Result().(*benchfmt.Result); ok {
				if _, ok := r.Value("internal-free-B"); ok {
					n++
				}
			}
		}
		if rd.Err() != nil || n != 24 {
			t.Errorf("%d results with internal-free-B (want 24), err %v", n, rd.Err())
		}
	})
}

func TestCompareRejectsImpossibleAlpha(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	if err := synth.WriteRun(run, synth.Sweep("esp32s3-n8r8", []string{"a"}, map[string]uint32{"a": 20000}, []int{1, 4}, 2, 0)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		alpha   string
		wantErr bool
	}{
		{"0.05", false},
		{"0.2", false},
		{"0", true},
		{"1", true},
		{"2", true},
		{"-0.05", true},
		{"NaN", true},
	}
	for _, tt := range tests {
		t.Run(tt.alpha, func(t *testing.T) {
			_, err := execute(t, "compare", run, run, "--alpha", tt.alpha)
			if (err != nil) != tt.wantErr || (err != nil && !strings.Contains(err.Error(), "--alpha")) {
				t.Errorf("--alpha %s: err %v, want error %v", tt.alpha, err, tt.wantErr)
			}
		})
	}
}

// TestCompareExitStatus: compare exits 1 exactly when its JUnit has
// failures; cells that newly fail in the PR fail it without gates, unless
// --allow-failed-cells; a backwards or unsigned change limit is a usage
// error that shows the rule to write.
func TestCompareExitStatus(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, failB bool, hwm float64) string {
		s := &analysis.Summary{Schema: analysis.SchemaVersion, RunID: name}
		nan := analysis.Float(math.NaN())
		for _, v := range []string{"a", "b"} {
			k := analysis.Key{Board: "s3", Variant: v, Scenario: "sweep", N: 1}
			for rep := 1; rep <= 6; rep++ {
				c := analysis.CellResult{ID: fmt.Sprintf("%s-%d", v, rep), Key: k, Rep: rep, Status: "ok"}
				if v == "b" && failB {
					c.Status, c.Reason = "failed", "esp_websocket_client_init returned NULL"
				}
				s.Cells = append(s.Cells, c)
			}
			s.Groups = append(s.Groups, analysis.GroupResult{Key: k, Metrics: []analysis.Metric{
				{Name: analysis.MetricWSStackHWM, Unit: "B", Value: hwm, Values: []float64{hwm, hwm, hwm, hwm, hwm, hwm}, N: 6, Lo: nan, Hi: nan}}})
		}
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := analysis.WriteSummary(d, s); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(d, rundir.SummaryFile)
	}
	base, prOK, prFailed, prLowHWM := mk("base", false, 600), mk("ok", false, 600), mk("failed", true, 600), mk("low", false, 300)
	tests := []struct {
		name    string
		args    []string
		code    int
		junit   int
		inError string
	}{
		{"unchanged", []string{base, prOK}, 0, 0, ""},
		{"cells newly fail, no gates", []string{base, prFailed}, 1, 1, "esp_websocket_client_init returned NULL"},
		{"cells newly fail, allowed", []string{base, prFailed, "--allow-failed-cells"}, 0, 0, ""},
		{"floor", []string{base, prLowHWM, "--fail-on", "ws_stack_hwm<512B"}, 1, 2, "FAIL ws_stack_hwm<512B"},
		{"floor passes", []string{base, prOK, "--fail-on", "ws_stack_hwm<512B"}, 0, 0, ""},
		{"unsigned change limit", []string{base, prOK, "--fail-on", "ws_stack_hwm:100B"}, 2, -1, "write ws_stack_hwm:-100B"},
		{"backwards change limit", []string{base, prOK, "--fail-on", "ws_stack_hwm:+100B"}, 2, -1, "would fail when it improves"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			junit := filepath.Join(dir, fmt.Sprintf("j%d.xml", i))
			out, err := execute(t, append(append([]string{"compare"}, tt.args...), "--junit", junit)...)
			code := 0
			if err != nil {
				code = exitCode(err)
			}
			if code != tt.code || (tt.inError != "" && (err == nil || !strings.Contains(err.Error(), tt.inError))) {
				t.Fatalf("exit %d (err %v), want %d with %q\n%s", code, err, tt.code, tt.inError, out)
			}
			if tt.junit < 0 {
				return
			}
			b, err := os.ReadFile(junit)
			if err != nil {
				t.Fatal(err)
			}
			var suites struct {
				Failures int `xml:"failures,attr"`
			}
			if err := xml.Unmarshal(b, &suites); err != nil || suites.Failures != tt.junit {
				t.Errorf("junit failures %d, want %d (err %v):\n%s", suites.Failures, tt.junit, err, b)
			}
			wantHead := map[bool]string{true: "**FAIL: ", false: "**PASS: "}[tt.code == 1]
			if !strings.Contains(out, wantHead) {
				t.Errorf("markdown lacks %q:\n%s", wantHead, out)
			}
		})
	}
}
