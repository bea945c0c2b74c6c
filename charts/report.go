package charts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/rundir"
)

// Options tune WriteReportContext.
type Options struct {
	// Log receives progress messages (the npm ci notice); nil for stderr.
	Log io.Writer
	// EChartsJS is the library to inline; nil to find it with EChartsJS.
	EChartsJS []byte
}

// WriteReport writes report.html for the run directory runDir from its
// summary s, reading the plotted cells' timelines from runDir.
func WriteReport(runDir string, s *analysis.Summary) error {
	return WriteReportContext(context.Background(), runDir, s, Options{})
}

// WriteReportContext is WriteReport with a context and options.
func WriteReportContext(ctx context.Context, runDir string, s *analysis.Summary, o Options) error {
	if o.Log == nil {
		o.Log = os.Stderr
	}
	js := o.EChartsJS
	if js == nil {
		var err error
		if js, err = EChartsJS(ctx, o.Log); err != nil {
			return fmt.Errorf("report %s: %w", runDir, err)
		}
	}
	cs, err := Build(ctx, runDir, s)
	if err != nil {
		return fmt.Errorf("report %s: %w", runDir, err)
	}
	var buf bytes.Buffer
	if err := Render(&buf, s, cs, js); err != nil {
		return fmt.Errorf("report %s: %w", runDir, err)
	}
	return rundir.WriteFile(filepath.Join(runDir, rundir.ReportFile), buf.Bytes(), 0o644)
}

type cellView struct {
	Text  string
	Title string // hover text: the interval and n
	Class string
}

type rowView struct {
	Name     string // names the row in the warnings list
	Cells    []cellView
	Warnings []string
}

type tableView struct {
	Head []string
	Rows []rowView
	// Text is the number of leading text (left-aligned) columns.
	Text int
}

type chartView struct {
	ID, Title, Caption string
	Height             int
}

type verdictView struct {
	Board string
	Parts []analysis.VerdictPart
	Flag  bool
}

type pageView struct {
	Title      string
	RunID      string
	Generated  string
	Boards     []string
	Warnings   []string
	Baseline   string
	Headroom   string
	Verdicts   []verdictView
	Variants   tableView
	Sweep      tableView
	Model      string
	Groups     tableView
	Costs      tableView
	Static     tableView
	Charts     []chartView
	Options    template.JS
	JS         template.JS
	Defs       [][2]string
	Confidence string
}

// fmtKiB formats bytes as KiB with one decimal.
func fmtKiB(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return fmt.Sprintf("%.1f", v/1024)
}

func metricCell(m analysis.Metric, ok bool, s *analysis.Summary) cellView {
	if !ok {
		return cellView{Text: "—", Class: "na"}
	}
	var text string
	switch {
	case m.Name == analysis.MetricFixedCost || m.Name == analysis.MetricPerSessionCost || m.Name == analysis.MetricPerSessionPSRAM:
		// Fitted costs in bytes: their intervals are narrower than 0.1 KiB.
		text = fmt.Sprintf("%.0f", m.Value)
		if m.HasInterval() {
			text += fmt.Sprintf(" [%.0f, %.0f]", float64(m.Lo), float64(m.Hi))
		}
	case m.Unit == analysis.UnitBytes || m.Unit == analysis.UnitBytesSession:
		text = fmtKiB(m.Value)
		if m.HasInterval() {
			text += fmt.Sprintf(" [%s, %s]", fmtKiB(float64(m.Lo)), fmtKiB(float64(m.Hi)))
		}
	case m.Unit == analysis.UnitRatio:
		text = fmt.Sprintf("%.0f%%", m.Value*100)
	case m.Unit == analysis.UnitMicros:
		text = fmt.Sprintf("%.1f", m.Value/1000)
	case m.Unit == analysis.UnitBytesCycle:
		text = fmt.Sprintf("%.1f", m.Value)
		if m.HasInterval() {
			text += fmt.Sprintf(" [%.1f, %.1f]", float64(m.Lo), float64(m.Hi))
		}
	default:
		text = fmt.Sprintf("%g", m.Value)
	}
	title := fmt.Sprintf("%s = %g %s, n=%d", m.Name, m.Value, m.Unit, m.N)
	if m.HasInterval() {
		title += fmt.Sprintf(", %.0f%% interval [%g, %g]", m.Confidence*100, float64(m.Lo), float64(m.Hi))
	}
	if len(m.Values) > 1 {
		title += fmt.Sprintf(", repetitions %v", m.Values)
	}
	// Red only where a figure crosses its threshold: a count of resets,
	// watchdog triggers, overflows or panics above zero, a leak whose
	// interval lies above zero, a stack headroom below the matrix's
	// threshold. Sessions that fail for want of memory are what a sweep
	// looks for, not a threshold.
	cls := ""
	switch m.Name {
	case analysis.MetricResets, analysis.MetricWatchdogs, analysis.MetricStackOverflows, analysis.MetricPanics:
		if m.Value > 0 {
			cls = "bad"
		}
	case analysis.MetricLeakPerCycle:
		if m.Significant != nil && *m.Significant && m.Value > 0 {
			cls = "bad"
		}
	case analysis.MetricWSStackHWM:
		text = fmt.Sprintf("%.0f", m.Value)
		if s != nil && m.Value < s.Judgement.WSStackHeadroom {
			cls = "bad"
		}
	}
	return cellView{Text: text, Title: title, Class: cls}
}

// groupsTable lists every cell group (all scenarios) with the figures that
// are not in the sweep table: one short figure per cell (the interval is
// in the hover text), so the table fits a 1400 px window.
func groupsTable(s *analysis.Summary) tableView {
	t := tableView{Head: []string{"board", "variant", "behaviour", "scenario", "N", "reps",
		"lowest free KiB", "largest block KiB", "fragmen\u00adtation", "PSRAM used KiB", "DMA free KiB",
		"ws stack headroom B", "resets", "watch\u00addogs", "failed sessions", "leak B/cycle", "handler p99 ms"}, Text: 4}
	for _, g := range s.Groups {
		get := func(n string) cellView { m, ok := g.Metric(n); return short(metricCell(m, ok, s)) }
		scen := g.Key.Scenario
		if g.Key.Label != "" && g.Key.Label != g.Key.Scenario {
			scen = g.Key.Label
		}
		variant := variantNamer(s)(g.Key.VariantKey())
		row := rowView{Name: fmt.Sprintf("%s · %s · %s · N=%d", g.Key.Board, variant, scen, g.Key.N),
			Cells: []cellView{{Text: g.Key.Board, Class: "l"}, {Text: variant, Class: "l"}, {Text: g.Key.Behaviour, Class: "l"}, {Text: scen, Class: "l"},
				{Text: fmt.Sprint(g.Key.N)}, {Text: fmt.Sprint(len(g.Cells))},
				get(analysis.MetricInternalFreeMin), get(analysis.MetricInternalLargest),
				get(analysis.MetricFragmentation), get(analysis.MetricPSRAMUsed), get(analysis.MetricDMAFree),
				get(analysis.MetricWSStackHWM), get(analysis.MetricResets), get(analysis.MetricWatchdogs),
				get(analysis.MetricSessionFailures), get(analysis.MetricLeakPerCycle), get(analysis.MetricLatencyP99)},
			Warnings: g.Warnings}
		t.Rows = append(t.Rows, row)
	}
	return dropConstant(t, 0, 2)
}

// short drops the interval from a cell's text (the hover keeps it).
func short(c cellView) cellView {
	if i := strings.Index(c.Text, " ["); i > 0 {
		c.Text = c.Text[:i]
	}
	return c
}

// sweepTable is steady free internal RAM by N: one row per variant, one
// column per swept N, the median across repetitions with its interval.
func sweepTable(s *analysis.Summary) tableView {
	nset := map[int]bool{}
	for _, g := range s.Groups {
		if g.Key.Scenario == "sweep" {
			nset[g.Key.N] = true
		}
	}
	ns, _ := sortedNs(nset)
	t := tableView{Head: []string{"board", "variant", "behaviour"}, Text: 3}
	for _, n := range ns {
		t.Head = append(t.Head, fmt.Sprintf("N=%d", n))
	}
	for _, o := range analysis.OrderedOverviews(s) {
		if len(o.Sweep) == 0 {
			continue
		}
		row := rowView{Cells: []cellView{{Text: o.Key.Board, Class: "l"}, {Text: variantNamer(s)(o.Key), Class: "l"}, {Text: o.Key.Behaviour, Class: "l"}}}
		for _, n := range ns {
			g := o.Sweep[n]
			if g == nil {
				row.Cells = append(row.Cells, cellView{Text: "—", Class: "na"})
				continue
			}
			m, ok := g.Metric(analysis.MetricInternalFreeSteady)
			row.Cells = append(row.Cells, metricCell(m, ok, s))
		}
		t.Rows = append(t.Rows, row)
	}
	return dropConstant(t, 0, 2)
}

// variantName names a variant in a table; the branch only when the run
// holds more than one (the page header names a run's one branch).
func variantName(k analysis.VariantKey) string { return k.Variant }

func variantNamer(s *analysis.Summary) func(analysis.VariantKey) string {
	branches := map[string]bool{}
	for _, c := range s.Cells {
		branches[c.Key.Branch] = true
	}
	return func(k analysis.VariantKey) string {
		if len(branches) > 1 && k.Branch != "" {
			return k.Variant + " @" + k.Branch
		}
		return k.Variant
	}
}

// variantsTable is one row per variant: the fitted costs, what fits, and
// the worst of every health figure over all its cells (the definitions of
// the verdicts and the terminal table).
func variantsTable(s *analysis.Summary) tableView {
	t := tableView{Head: []string{"board", "variant", "behaviour", "one-time (client) B [95% CI]", "per TLS session B [95% CI]",
		"free at N=0 KiB (measured)", "most sessions", "lowest free KiB", "ws stack headroom B", "leak B/cycle", "resets", "watchdogs", "failed cells"}, Text: 3}
	for _, o := range analysis.OrderedOverviews(s) {
		cost := func(n string) cellView {
			if o.Cost == nil {
				return cellView{Text: "—", Class: "na"}
			}
			m, ok := o.Cost.Metric(n)
			return metricCell(m, ok, s)
		}
		na := cellView{Text: "—", Class: "na"}
		sessions, minFree, hwm, leak := na, na, na, na
		if o.HasSweep {
			sessions = cellView{Text: fmt.Sprintf("%g", o.SessionsFit), Title: fmt.Sprintf("limit: most TLS sessions open in a sweep group (median over repetitions); N=%d held fewer", o.SessionsTried)}
			if !o.SessionsLimit {
				sessions = cellView{Text: fmt.Sprintf("≥%g", o.SessionsFit), Title: fmt.Sprintf("no limit reached: every N tried (up to %d) held its sessions; the board may fit more", o.SessionsTried)}
			}
		}
		if o.HasMinFree {
			minFree = cellView{Text: fmtKiB(o.MinFree) + " (" + o.MinFreeScen + ")", Title: "least internal_free_min of any cell"}
		}
		if o.HasHWM {
			hwm = cellView{Text: fmt.Sprintf("%.0f (%s)", o.HWM, o.HWMScen), Title: fmt.Sprintf("least ws_stack_hwm of any cell; threshold %.0f B", s.Judgement.WSStackHeadroom)}
			if o.HWM < s.Judgement.WSStackHeadroom {
				hwm.Class = "bad"
			}
		}
		if o.Leak != nil {
			leak = metricCell(*o.Leak, true, s)
			leak.Class = ""
			if o.LeakSig {
				leak.Class = "bad"
			}
		}
		count := func(v float64) cellView {
			c := cellView{Text: fmt.Sprintf("%.0f", v)}
			if v > 0 {
				c.Class = "bad"
			}
			return c
		}
		failed := count(float64(o.Failed))
		if o.Failed > 0 {
			failed.Title = o.FailedReason
		}
		t.Rows = append(t.Rows, rowView{Cells: []cellView{{Text: o.Key.Board, Class: "l"}, {Text: variantNamer(s)(o.Key), Class: "l"}, {Text: o.Key.Behaviour, Class: "l"},
			cost(analysis.MetricFixedCost), cost(analysis.MetricPerSessionCost), cost(analysis.MetricSteadyFreeAtZero),
			sessions, minFree, hwm, leak, count(o.Counts[analysis.MetricResets]), count(o.Counts[analysis.MetricWatchdogs]), failed}})
	}
	return dropConstant(t, 0, 2)
}

// dropConstant removes the columns cols of t whose text is the same on
// every row (one board, one behaviour): the page header says it once.
func dropConstant(t tableView, cols ...int) tableView {
	drop := map[int]bool{}
	for _, c := range cols {
		same := len(t.Rows) > 0
		for _, r := range t.Rows {
			if r.Cells[c].Text != t.Rows[0].Cells[c].Text {
				same = false
			}
		}
		drop[c] = same
	}
	keep := func(cells []cellView) []cellView {
		var out []cellView
		for i, c := range cells {
			if !drop[i] {
				out = append(out, c)
			}
		}
		return out
	}
	var head []string
	for i, h := range t.Head {
		if !drop[i] {
			head = append(head, h)
		}
	}
	t.Head = head
	text := t.Text
	for _, c := range cols {
		if drop[c] && c < text {
			t.Text--
		}
	}
	for i := range t.Rows {
		t.Rows[i].Cells = keep(t.Rows[i].Cells)
	}
	return t
}

func costsTable(s *analysis.Summary) tableView {
	t := tableView{Head: []string{"board", "variant", "behaviour", "N values", "cells", "one-time (client) B [95% CI]",
		"per TLS session B [95% CI]", "free at N=0 KiB (measured) [95% CI]", "per-session PSRAM B [95% CI]"}, Text: 4}
	for _, c := range s.Costs {
		get := func(n string) cellView { m, ok := c.Metric(n); return metricCell(m, ok, s) }
		cells := 0
		if m, ok := c.Metric(analysis.MetricFixedCost); ok {
			cells = m.N
		}
		ns := make([]string, len(c.Ns))
		for i, n := range c.Ns {
			ns[i] = fmt.Sprint(n)
		}
		t.Rows = append(t.Rows, rowView{Cells: []cellView{{Text: c.Variant.Board, Class: "l"}, {Text: variantNamer(s)(c.Variant), Class: "l"}, {Text: c.Variant.Behaviour, Class: "l"},
			{Text: strings.Join(ns, ", "), Class: "l"}, {Text: fmt.Sprint(cells)}, get(analysis.MetricFixedCost), get(analysis.MetricPerSessionCost),
			get(analysis.MetricSteadyFreeAtZero), get(analysis.MetricPerSessionPSRAM)}, Warnings: c.Warnings})
	}
	return dropConstant(t, 0, 2)
}

// staticTable lists the static memory of each flashed image, one row per
// image, one column per memory type (used KiB of total).
func staticTable(s *analysis.Summary) tableView {
	var names []string
	seen := map[string]bool{}
	for _, m := range s.Static {
		for _, u := range m.Memory {
			if !seen[u.Name] {
				seen[u.Name] = true
				names = append(names, u.Name)
			}
		}
	}
	t := tableView{Head: append([]string{"target", "variant", "behaviour"}, names...), Text: 3}
	for _, m := range s.Static {
		row := rowView{Cells: []cellView{{Text: m.Target, Class: "l"}, {Text: m.Variant, Class: "l"}, {Text: m.Behaviour, Class: "l"}}}
		for _, n := range names {
			c := cellView{Text: "—", Class: "na"}
			for _, u := range m.Memory {
				if u.Name == n {
					c = cellView{Text: fmtKiB(float64(u.Used)), Title: fmt.Sprintf("%s: %d of %d bytes used", n, u.Used, u.Total)}
				}
			}
			row.Cells = append(row.Cells, c)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// baseCSS is what both pages (report and comparison) share: the base style
// and the script that draws every chart from the options payload.
const baseCSS = `{{define "base-css"}}body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:1280px;margin:0 auto;padding:16px 24px 48px}
section.card{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:14px 16px;margin:14px 0}
.caption{color:#59636e;font-size:.85rem;margin:0 0 6px}
table{border-collapse:collapse;font-size:.8rem;font-variant-numeric:tabular-nums;width:100%}
th,td{border-bottom:1px solid #e1e4e8;padding:4px 6px;text-align:right;white-space:nowrap}{{end}}
{{define "chart-script"}}<script>{{.JS}}</script>
<script>
"use strict";
(function () {
  var options = {{.Options}};
  var all = [];
  document.querySelectorAll("div.chart").forEach(function (el) {
    var c = echarts.init(el, null, {renderer: "canvas"});
    c.setOption(options[el.id]);
    all.push(c);
  });
  window.addEventListener("resize", function () { all.forEach(function (c) { c.resize(); }); });
})();
</script>
{{end}}`

// chartPayload returns the chart sections of a page and every chart's
// option as one JSON object keyed by chart id. encoding/json escapes <, >
// and & (and U+2028/9), so the options cannot close the <script> element
// whatever a board or matrix named things.
func chartPayload(cs []Chart) ([]chartView, template.JS, error) {
	views := make([]chartView, 0, len(cs))
	all := map[string]map[string]any{}
	for _, c := range cs {
		views = append(views, chartView{ID: c.ID, Title: c.Title, Caption: c.Caption, Height: c.Height})
		all[c.ID] = c.Option
	}
	b, err := json.Marshal(all)
	if err != nil {
		return nil, "", fmt.Errorf("encode chart options: %w", err)
	}
	return views, template.JS(b), nil
}

// Render writes the report page for s with charts cs and the echarts
// library js.
func Render(w io.Writer, s *analysis.Summary, cs []Chart, js []byte) error {
	p := pageView{Title: "wsbench report", RunID: s.RunID, Generated: s.Generated.Format("2006-01-02 15:04:05 UTC"),
		Warnings: allWarnings(s), Groups: groupsTable(s), Costs: costsTable(s), Static: staticTable(s), JS: template.JS(js),
		Confidence: fmt.Sprintf("%.0f%%", s.Confidence*100), Baseline: s.Judgement.Baseline,
		Headroom: fmt.Sprintf("%.0f B", s.Judgement.WSStackHeadroom), Variants: variantsTable(s), Sweep: sweepTable(s), Model: analysis.CostModel}
	boardsSeen := map[string]bool{}
	for _, l := range s.VerdictLines {
		boardsSeen[l.Board] = true
	}
	for _, l := range s.VerdictLines {
		v := verdictView{Parts: l.Parts, Flag: l.Flagged}
		if len(boardsSeen) > 1 {
			v.Board = l.Board
		}
		if len(v.Parts) == 0 {
			v.Parts = []analysis.VerdictPart{{Text: l.Text}}
		}
		p.Verdicts = append(p.Verdicts, v)
	}
	if s.RunID != "" {
		p.Title += ": " + s.RunID
	}
	boards := map[string]bool{}
	for _, c := range s.Cells {
		if c.Chip != "" || c.IDFVersion != "" {
			boards[fmt.Sprintf("%s%s: %s, ESP-IDF %s, %s KiB internal, %s KiB PSRAM, component %s", c.Key.Board, kindLabel(c.BoardKind), c.Chip, c.IDFVersion,
				fmtKiB(float64(c.InternalTotal)), fmtKiB(float64(c.SPIRAMTotal)), c.ComponentVersion)] = true
		}
	}
	for b := range boards {
		p.Boards = append(p.Boards, b)
	}
	sort.Strings(p.Boards)
	for k, v := range s.Definitions {
		p.Defs = append(p.Defs, [2]string{k, v})
	}
	sort.Slice(p.Defs, func(i, j int) bool { return p.Defs[i][0] < p.Defs[j][0] })
	var err error
	if p.Charts, p.Options, err = chartPayload(cs); err != nil {
		return err
	}
	return pageTemplate.Execute(w, p)
}

var pageTemplate = template.Must(template.New("report").Parse(baseCSS + `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
{{template "base-css"}}
h1{font-size:1.5rem;margin:8px 0 4px}h2{font-size:1.2rem;margin:28px 0 8px}h3{font-size:1.05rem;margin:0 0 4px}
.meta{color:#59636e;font-size:.9rem;margin:2px 0}
.scroll{overflow-x:auto}
th{background:#f0f3f6;font-weight:600;white-space:normal;vertical-align:bottom;min-width:3.5em}
td.l{text-align:left}
td.bad{color:#b42318;font-weight:600}td.na{color:#8c959f}
tr.warn td:first-child::before{content:"⚠ ";color:#bf8700}
details{font-size:.8rem;color:#59636e}details li{margin:1px 0}
.warnings{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 12px;font-size:.85rem;color:#1f2328;margin:8px 0}
.warnings ul{max-height:16em;overflow-y:auto}
.verdicts ul{margin:4px 0 8px;padding-left:1.2em;font-size:.95rem;line-height:1.45}.verdicts li{margin:3px 0}
.flag{color:#b42318;font-weight:600}
table.fit td.l{white-space:normal;min-width:6em}
dl{font-size:.8rem;display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}dt{font-family:ui-monospace,monospace}dd{margin:0;color:#59636e}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Verdicts}}<section class="card verdicts" id="verdicts">
<h2 style="margin-top:0">Verdicts against {{.Baseline}} (the baseline variant)</h2>
<ul>{{range .Verdicts}}<li{{if .Flag}} class="flagged"{{end}}>{{if .Board}}<b>{{.Board}}:</b> {{end}}{{range $i, $p := .Parts}}{{if $i}}; {{end}}{{if $p.Flag}}<span class="flag">{{$p.Text}}</span>{{else}}{{$p.Text}}{{end}}{{end}}</li>
{{end}}</ul>
<p class="caption">Freed: Hodges-Lehmann median difference of steady free internal RAM from the baseline across repetitions, with its {{.Confidence}} interval and the Mann-Whitney p (golang.org/x/perf/benchmath); the interval shown spans every N from 1 up. Lowest free, headroom and counts: the worst or the total over every cell of the variant, with the scenario it came from. <span class="flag">Red</span>: past a threshold (ws stack headroom under {{.Headroom}}, a leak, resets, watchdog triggers, failed cells). All rows in summary.json under <code>verdicts</code>.</p>
</section>{{end}}

{{if .Variants.Rows}}<section class="card" id="variants">
<h2 style="margin-top:0">Variants</h2>
<div class="scroll"><table class="fit">
<thead><tr>{{range $i, $h := .Variants.Head}}<th{{if lt $i $.Variants.Text}} style="text-align:left"{{end}}>{{$h}}</th>{{end}}</tr></thead>
<tbody>{{range .Variants.Rows}}<tr>{{range .Cells}}<td{{if .Class}} class="{{.Class}}"{{end}}{{if .Title}} title="{{.Title}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody></table></div>
<p class="caption">One-time (client) and per TLS session: the fit of steady free internal RAM against the sessions open, free = b0 − one-time·1[n≥1] − per-session·n (session 0 is the websocket client, so the one-time term is what the client takes besides its own TLS session), {{.Confidence}} t intervals. Free at N=0: measured, the median of the N=0 cells. Most sessions: the most any sweep held (median over repetitions), a limit when a larger N held fewer; ≥N when every N tried held, so no limit was reached and more may fit.</p>
</section>{{end}}

<p class="meta">Generated {{.Generated}}. Intervals are {{.Confidence}} confidence intervals. Sizes in KiB (1024 bytes); hover a figure for its exact value, n and repetitions.</p>
{{range .Boards}}<p class="meta">{{.}}</p>{{end}}
{{if .Warnings}}<details class="warnings"><summary><strong>{{len .Warnings}} warnings</strong> (the run's, the fits' and every cell's)</summary><ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul></details>{{end}}

{{if .Sweep.Rows}}<section class="card" id="sweep">
<h2 style="margin-top:0">Steady free internal RAM by N sessions (KiB)</h2>
<p class="caption">Median across repetitions of each cell's steady-window median; brackets hold its {{.Confidence}} interval when there are enough repetitions (6).</p>
<div class="scroll"><table class="fit">
<thead><tr>{{range $i, $h := .Sweep.Head}}<th{{if lt $i $.Sweep.Text}} style="text-align:left"{{end}}>{{$h}}</th>{{end}}</tr></thead>
<tbody>{{range .Sweep.Rows}}<tr>{{range .Cells}}<td{{if .Class}} class="{{.Class}}"{{end}}{{if .Title}} title="{{.Title}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody></table></div>
</section>{{end}}

<section class="card" id="summary">
<h2 style="margin-top:0">Every cell group</h2>
<p class="caption">Each figure is the median across repetitions of the per-cell figure (hover for its {{.Confidence}} interval and the repetitions). Rows marked ⚠ carry warnings (listed below the table).</p>
<div class="scroll"><table class="fit">
<thead><tr>{{range $i, $h := .Groups.Head}}<th{{if lt $i $.Groups.Text}} style="text-align:left"{{end}}>{{$h}}</th>{{end}}</tr></thead>
<tbody>{{range .Groups.Rows}}<tr{{if .Warnings}} class="warn"{{end}}>{{range .Cells}}<td{{if .Class}} class="{{.Class}}"{{end}}{{if .Title}} title="{{.Title}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody></table></div>
{{range .Groups.Rows}}{{if .Warnings}}<details><summary>{{.Name}}: {{len .Warnings}} warning(s)</summary><ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul></details>{{end}}{{end}}
</section>

{{if .Costs.Rows}}<section class="card" id="costs">
<h2 style="margin-top:0">Cost fit across N</h2>
<p class="caption">Model: {{.Model}}.</p>
<div class="scroll"><table class="fit">
<thead><tr>{{range $i, $h := .Costs.Head}}<th{{if lt $i $.Costs.Text}} style="text-align:left"{{end}}>{{$h}}</th>{{end}}</tr></thead>
<tbody>{{range .Costs.Rows}}<tr{{if .Warnings}} class="warn" title="{{range .Warnings}}{{.}}; {{end}}"{{end}}>{{range .Cells}}<td{{if .Class}} class="{{.Class}}"{{end}}{{if .Title}} title="{{.Title}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody></table></div>
</section>{{end}}

{{if .Static.Rows}}<section class="card" id="static">
<h2 style="margin-top:0">Static memory of the flashed images (KiB used)</h2>
<p class="caption">From <code>idf.py size --format json2</code> after each build: RAM an image takes before it runs. An option that moves runtime allocations to PSRAM can add code or static data; compare these with the runtime figures above.</p>
<div class="scroll"><table>
<thead><tr>{{range $i, $h := .Static.Head}}<th{{if lt $i $.Static.Text}} style="text-align:left"{{end}}>{{$h}}</th>{{end}}</tr></thead>
<tbody>{{range .Static.Rows}}<tr>{{range .Cells}}<td{{if .Class}} class="{{.Class}}"{{end}}{{if .Title}} title="{{.Title}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody></table></div>
</section>{{end}}

{{range .Charts}}<section class="card" id="c-{{.ID}}">
<h3>{{.Title}}</h3>
<p class="caption">{{.Caption}}</p>
<div class="chart" id="{{.ID}}" style="width:100%;height:{{.Height}}px"></div>
</section>
{{end}}

<section class="card" id="definitions">
<h2 style="margin-top:0">Definitions</h2>
<dl>{{range .Defs}}<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>{{end}}</dl>
</section>
</main>
{{template "chart-script" .}}
</body>
</html>
`))

// allWarnings lists every warning of a summary: the run's, then each
// fit's and each cell's with its name, as many as analysis.CountWarnings
// counts.
func allWarnings(s *analysis.Summary) []string {
	out := append([]string(nil), s.Warnings...)
	for _, c := range s.Costs {
		for _, w := range c.Warnings {
			out = append(out, "fit "+variantName(c.Variant)+": "+w)
		}
	}
	for _, c := range s.Cells {
		for _, w := range c.Warnings {
			out = append(out, c.ID+": "+w)
		}
	}
	return out
}

// kindLabel says what kind of board a report's figures come from.
func kindLabel(kind string) string {
	switch kind {
	case "":
		return ""
	case analysis.BoardKindQEMU:
		return " (qemu: the real firmware in Espressif's QEMU, not a chip)"
	case analysis.BoardKindVirtual:
		return " (virtual: wsbench's memory model)"
	case analysis.BoardKindHardware:
		return " (hardware)"
	}
	return " (" + kind + ")"
}
