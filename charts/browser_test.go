package charts

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/rundir"
)

var (
	screenshot = flag.String("screenshot", "", "write a full-page PNG of the browser test's report to this file")
	shotsDir   = flag.String("shots", "", "write a 1400x900 PNG of the report's first screen and of each section to this directory")
	reportFile = flag.String("report", "", "check this report.html (e.g. of a real run) instead of the fixture's")
)

// chromiumPath finds Debian's chromium; in CI its absence fails the test.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("WSBENCH_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (apt-get install -y --no-install-recommends chromium)")
	}
	t.Skip("chromium not found: install it with apt-get install -y --no-install-recommends chromium")
	return ""
}

type chartState struct {
	ID     string `json:"id"`
	Series []int  `json:"series"` // data length of each series
}

// TestReportInBrowser opens report.html from disk in headless Chromium with
// no network: no console errors or exceptions, every chart holds data, and
// hostile names run no script, also when tooltips show them.
func TestReportInBrowser(t *testing.T) {
	exe := chromiumPath(t)
	js := echartsOrSkip(t)
	if *reportFile != "" {
		checkInBrowser(t, exe, *reportFile, 1, 0, *screenshot, "")
		return
	}
	dir, s := fixtureRun(t, 200)
	if err := WriteReportContext(context.Background(), dir, s, Options{EChartsJS: js}); err != nil {
		t.Fatal(err)
	}
	checkInBrowser(t, exe, filepath.Join(dir, rundir.ReportFile), 9, 2, *screenshot, hostileVariant)
}

// layout is what a reviewer sees first in a 1400x900 window.
type layout struct {
	ScrollWidth   int     `json:"scrollWidth"`
	ClientWidth   int     `json:"clientWidth"`
	InnerHeight   int     `json:"innerHeight"`
	VerdictBottom float64 `json:"verdictBottom"` // -1 without a verdict block
	Wide          string  `json:"wide"`          // the first element wider than the page, if any
}

// checkLayout asserts, at 1400x900: the verdict block (when wantVerdicts)
// lies in the first screen, and the page does not scroll sideways.
func checkLayout(t *testing.T, ctx context.Context, wantVerdicts bool) {
	t.Helper()
	l, err := chromedp.Run(ctx, chromedp.Evaluate[layout](`(function () {
		var d = document.documentElement, v = document.getElementById("verdicts"), wide = "";
		document.querySelectorAll("body *").forEach(function (el) {
			if (!wide && el.getBoundingClientRect().right > d.clientWidth + 0.5) { wide = el.tagName + (el.id ? "#" + el.id : "") + " " + (el.textContent || "").slice(0, 60); }
		});
		return {scrollWidth: d.scrollWidth, clientWidth: d.clientWidth, innerHeight: window.innerHeight,
			verdictBottom: v ? v.getBoundingClientRect().bottom + window.scrollY : -1, wide: wide};
	})()`))
	if err != nil {
		t.Fatalf("layout: %v", err)
	}
	if l.InnerHeight != 900 {
		t.Fatalf("viewport height %d, want 900", l.InnerHeight)
	}
	if l.ScrollWidth > l.ClientWidth {
		t.Errorf("the page scrolls sideways at 1400 px: scrollWidth %d > clientWidth %d (first wide element: %s)", l.ScrollWidth, l.ClientWidth, l.Wide)
	}
	if wantVerdicts {
		switch {
		case l.VerdictBottom < 0:
			t.Errorf("no verdict block (#verdicts)")
		case l.VerdictBottom > float64(l.InnerHeight):
			t.Errorf("the verdict block ends at %.0f px, below the first screen (%d px)", l.VerdictBottom, l.InnerHeight)
		}
	}
}

// sectionShots writes the first screen and each section of the page as PNGs.
func sectionShots(t *testing.T, ctx context.Context, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "first-screen.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("section[id]")).map(function (s) { return s.id; })`))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		png, err := chromedp.Run(ctx, chromedp.Screenshot("#"+id))
		if err != nil {
			t.Fatalf("screenshot %s: %v", id, err)
		}
		if err := os.WriteFile(filepath.Join(dir, id+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestComparisonInBrowser does the same for the comparison page.
func TestComparisonInBrowser(t *testing.T) {
	exe := chromiumPath(t)
	js := echartsOrSkip(t)
	baseDir, base := fixtureRun(t, 50)
	prDir, pr := fixtureRun(t, 50)
	c := analysis.Compare(base, pr, analysis.DefaultThresholds())
	page := filepath.Join(t.TempDir(), "compare.html")
	if err := WriteComparison(context.Background(), page, baseDir, prDir, base, pr, c, Options{EChartsJS: js}); err != nil {
		t.Fatal(err)
	}
	checkInBrowser(t, exe, page, 3, 0, "", hostileVariant)
}

func echartsOrSkip(t *testing.T) []byte {
	js, err := EChartsJS(context.Background(), os.Stderr)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("echarts: %v", err)
		}
		t.Skipf("echarts not installed (run npm ci): %v", err)
	}
	return js
}

// checkInBrowser opens file and checks it; wantText must show as plain text
// in a tooltip (a hostile name, escaped) unless empty.
func checkInBrowser(t *testing.T, exe, file string, minCharts, minMarks int, shot, wantText string) {
	t.Helper()
	page := "file://" + file
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true),
		// No network at all: every host resolves to nothing.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
		chromedp.WindowSize(1400, 900))
	defer acancel()
	tctx, tcancel := chromedp.NewContext(actx)
	defer tcancel()

	var mu sync.Mutex
	var msgs []string
	consoleDone := make(chan struct{})
	messages := chromedp.Console(tctx)
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() || m.Type == chromedp.ConsoleWarning {
				mu.Lock()
				msgs = append(msgs, fmt.Sprintf("%s: %s", m.Type, m.String()))
				mu.Unlock()
			}
		}
	}()
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(1400, 900), chromedp.Navigate(page)); err != nil {
		t.Fatalf("navigate %s: %v", page, err)
	}
	checkLayout(t, tctx, strings.HasSuffix(file, rundir.ReportFile))
	if *shotsDir != "" && strings.HasSuffix(file, rundir.ReportFile) {
		sectionShots(t, tctx, *shotsDir)
	}
	states, err := chromedp.Run(tctx, chromedp.Evaluate[[]chartState](`Array.from(document.querySelectorAll("div.chart")).map(function (el) {
		var c = echarts.getInstanceByDom(el);
		var o = c ? c.getOption() : {series: []};
		return {id: el.id, series: o.series.map(function (s) { return (s.data || []).length; })};
	})`))
	if err != nil {
		t.Fatalf("query charts: %v", err)
	}
	if len(states) < minCharts {
		t.Errorf("%d charts, want at least %d", len(states), minCharts)
	}
	for _, st := range states {
		if len(st.Series) == 0 {
			t.Errorf("chart %s has no series", st.ID)
		}
		for i, n := range st.Series {
			if n == 0 {
				t.Errorf("chart %s series %d has no data", st.ID, i)
			}
		}
	}
	if shot != "" {
		png, err := chromedp.Run(tctx, chromedp.FullScreenshot(90))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Show every tooltip once: echarts renders series and item names as
	// HTML there.
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[int](`(function () {
		var n = 0;
		document.querySelectorAll("div.chart").forEach(function (el) {
			var c = echarts.getInstanceByDom(el);
			c.getOption().series.forEach(function (s, si) {
				for (var i = 0; i < Math.min((s.data || []).length, 12); i++) {
					c.dispatchAction({type: "showTip", seriesIndex: si, dataIndex: i}); n++;
				}
			});
		});
		return n;
	})()`)); err != nil {
		t.Fatalf("show tooltips: %v", err)
	}
	const visibleTips = `Array.from(document.querySelectorAll("div.chart > div")).filter(function (d) { return d.style.display !== "none" && d.textContent; }).map(function (d) { return d.textContent; }).join(" | ")`
	time.Sleep(200 * time.Millisecond)
	tip, err := chromedp.Run(tctx, chromedp.Evaluate[string](visibleTips))
	if err != nil {
		t.Fatal(err)
	}
	tips := []string{tip}
	// Hover every mark point (reset and watchdog pins carry board text such
	// as task names) and read the tooltip each one shows.
	type markPos struct {
		Chart string  `json:"chart"`
		Name  string  `json:"name"`
		X     float64 `json:"x"`
		Y     float64 `json:"y"`
	}
	marks, err := chromedp.Run(tctx, chromedp.Evaluate[[]markPos](`(function () {
		var out = [];
		document.querySelectorAll("div.chart").forEach(function (el) {
			var c = echarts.getInstanceByDom(el);
			c.getOption().series.forEach(function (s, si) {
				((s.markPoint && s.markPoint.data) || []).forEach(function (mp) {
					var p = mp.coord && c.convertToPixel({seriesIndex: si}, mp.coord);
					if (p) { out.push({chart: el.id, name: mp.name, x: p[0], y: p[1] - 18}); }
				});
			});
		});
		return out;
	})()`))
	if err != nil {
		t.Fatalf("find marks: %v", err)
	}
	for _, m := range marks {
		if _, err := chromedp.Run(tctx, chromedp.Evaluate[bool](fmt.Sprintf(`(function () {
			var el = document.getElementById(%q);
			el.scrollIntoView();
			var canvas = el.querySelector("canvas"), r = canvas.getBoundingClientRect();
			canvas.dispatchEvent(new MouseEvent("mousemove", {clientX: r.left + %f, clientY: r.top + %f, bubbles: true}));
			return true;
		})()`, m.Chart, m.X, m.Y))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond)
		tip, err := chromedp.Run(tctx, chromedp.Evaluate[string](visibleTips))
		if err != nil {
			t.Fatal(err)
		}
		tips = append(tips, tip)
	}
	if len(marks) < minMarks {
		t.Errorf("%d mark points to hover, want %d", len(marks), minMarks)
	}
	if wantText != "" && !strings.Contains(strings.Join(tips, ""), wantText) {
		t.Errorf("no tooltip shows %q as text; tooltips: %q", wantText, tips)
	}
	xss, err := chromedp.Run(tctx, chromedp.Evaluate[string](`String(window.__xss)`))
	if err != nil {
		t.Fatal(err)
	}
	if xss != "undefined" {
		t.Errorf("a hostile name ran script: window.__xss = %s", xss)
	}
	resources, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](`performance.getEntriesByType("resource").map(function (e) { return e.name; })`))
	if err != nil {
		t.Fatal(err)
	}
	if len(resources) > 0 {
		t.Errorf("the page loaded resources: %v", resources)
	}
	tcancel()
	select {
	case <-consoleDone:
	case <-time.After(30 * time.Second):
		t.Fatal("console listener still running 30 s after the tab was closed")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(msgs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(msgs, "\n"))
	}
}
