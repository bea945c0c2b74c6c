package charts

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/rundir"
)

func TestWriteReport(t *testing.T) {
	js, err := EChartsJS(context.Background(), os.Stderr)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("echarts: %v", err)
		}
		t.Skipf("echarts not installed (run npm ci): %v", err)
	}
	dir, s := fixtureRun(t, 60)
	if err := WriteReportContext(context.Background(), dir, s, Options{EChartsJS: js}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, rundir.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	t.Run("hostile_names_are_escaped", func(t *testing.T) {
		for _, raw := range []string{hostileVariant, hostileIDF, "<img src=x"} {
			if strings.Contains(html, raw) {
				t.Errorf("report contains %q unescaped", raw)
			}
		}
		if !strings.Contains(html, "&lt;script&gt;window.__xss=1&lt;/script&gt;") {
			t.Error("the hostile variant name is not in the table, escaped")
		}
		if !strings.Contains(html, `\u003cscript\u003ewindow.__xss=1\u003c/script\u003e`) {
			t.Error("the hostile variant name is not in the chart options, JSON-escaped")
		}
	})
	t.Run("offline", func(t *testing.T) {
		if !strings.Contains(html, string(js)) {
			t.Fatal("the echarts library is not inlined")
		}
		// The library itself names XML namespaces (http://www.w3.org/...).
		page := strings.Replace(html, string(js), "", 1)
		for _, s := range []string{"<script src", "<link", "http://", "https://", "@import", "url("} {
			if strings.Contains(page, s) {
				t.Errorf("report references %q", s)
			}
		}
	})
	t.Run("has_every_chart", func(t *testing.T) {
		for _, id := range []string{"verdicts", "variants", "freed", "timeline-0", "steady-0", "cost-per_session_internal_cost", "cost-fixed_internal_cost", "psram", "stack", "leak", "latency", "owners"} {
			if !strings.Contains(html, `id="`+id+`"`) {
				t.Errorf("no chart %s", id)
			}
		}
	})
}

func TestEChartsJSMissing(t *testing.T) {
	t.Setenv(EnvECharts, filepath.Join(t.TempDir(), "nope.js"))
	if _, err := EChartsJS(context.Background(), os.Stderr); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want a not-exist error naming the file", err)
	}
	small := filepath.Join(t.TempDir(), "small.js")
	os.WriteFile(small, []byte("var x;"), 0o644)
	t.Setenv(EnvECharts, small)
	if _, err := EChartsJS(context.Background(), os.Stderr); err == nil {
		t.Fatal("a 6-byte file was taken for the library")
	}
}

func TestEChartsJSInstallErrors(t *testing.T) {
	t.Run("no_lockfile", func(t *testing.T) {
		_, err := echartsFrom(context.Background(), io.Discard, []string{t.TempDir()})
		if !errors.Is(err, ErrNoECharts) || !strings.Contains(err.Error(), "package-lock.json") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("npm_not_on_path", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "package-lock.json"), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", t.TempDir())
		_, err := echartsFrom(context.Background(), io.Discard, []string{filepath.Join(dir)})
		if !errors.Is(err, ErrNoECharts) || !strings.Contains(err.Error(), "npm is not on PATH") || !strings.Contains(err.Error(), dir) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestTimelinesAreDownsampled(t *testing.T) {
	dir, s := fixtureRun(t, 4000)
	cs, err := Build(context.Background(), dir, s)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, c := range cs {
		if !strings.HasPrefix(c.ID, "timeline-") {
			continue
		}
		for _, x := range c.Option["series"].([]any) {
			data := x.(map[string]any)["data"].([]any)
			if len(data) > MaxPoints || len(data) < 10 {
				t.Errorf("%s: %d points, want 10..%d", c.ID, len(data), MaxPoints)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no timeline series")
	}
}

func TestStaticMemoryTableIsRenderedAndEscaped(t *testing.T) {
	s := &analysis.Summary{RunID: "hw", Static: []analysis.StaticMemory{{
		Target: "esp32s3", Variant: "<script>alert(1)</script>", Behaviour: "strict",
		Memory: []analysis.StaticUsed{{Name: "DIRAM", Used: 95104, Total: 341760}, {Name: "IRAM", Used: 16384, Total: 16384}},
	}}}
	var b bytes.Buffer
	if err := Render(&b, s, nil, nil); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{"Static memory of the flashed images", "<th>DIRAM</th>", ">92.9<", "&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(html, "<script>alert(1)") {
		t.Error("variant name reached the page unescaped")
	}
}

// The Variants table's most sessions: the figure for a limit (a larger N
// held fewer), ≥figure for a floor (every N tried held).
func TestVariantsTableMostSessions(t *testing.T) {
	group := func(variant string, n int, open float64) analysis.GroupResult {
		return analysis.GroupResult{Key: analysis.Key{Board: "s3", Variant: variant, Scenario: "sweep", Label: "sweep", N: n},
			Metrics: []analysis.Metric{{Name: analysis.MetricSessionsOpen, Value: open}}}
	}
	for _, tc := range []struct {
		name   string
		groups []analysis.GroupResult
		want   string
	}{
		{"limit", []analysis.GroupResult{group("int", 4, 4), group("int", 6, 5), group("int", 8, 5)}, "5"},
		{"floor", []analysis.GroupResult{group("int", 4, 4), group("int", 8, 8)}, "≥8"},
		{"fractional limit", []analysis.GroupResult{group("int", 4, 4), group("int", 6, 5.5)}, "5.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tv := variantsTable(&analysis.Summary{Groups: tc.groups})
			col := -1
			for i, h := range tv.Head {
				if h == "most sessions" {
					col = i
				}
			}
			if col < 0 || len(tv.Rows) != 1 {
				t.Fatalf("table %+v: want a most sessions column and one row", tv)
			}
			if got := tv.Rows[0].Cells[col].Text; got != tc.want {
				t.Errorf("most sessions %q, want %q", got, tc.want)
			}
		})
	}
}
