package charts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/analysis/stats"
	"github.com/wsbench/wsbench/rundir"
)

// WriteComparison writes an HTML page comparing two runs to path: the gate
// outcome, a verdict per variant, the table of every compared figure, and
// overlays of both runs (steady free internal RAM against N, per-session
// cost, and the timeline of the largest-N cell of each variant). baseDir and
// prDir are the run directories the summaries came from.
func WriteComparison(ctx context.Context, path, baseDir, prDir string, base, pr *analysis.Summary, c *analysis.Comparison, o Options) error {
	if o.Log == nil {
		o.Log = os.Stderr
	}
	js := o.EChartsJS
	if js == nil {
		var err error
		if js, err = EChartsJS(ctx, o.Log); err != nil {
			return fmt.Errorf("comparison page: %w", err)
		}
	}
	cs, err := comparisonCharts(ctx, baseDir, prDir, base, pr)
	if err != nil {
		return fmt.Errorf("comparison page: %w", err)
	}
	var buf bytes.Buffer
	if err := renderComparison(&buf, c, cs, js); err != nil {
		return fmt.Errorf("comparison page: %w", err)
	}
	return rundir.WriteFile(path, buf.Bytes(), 0o644)
}

// vkNoBranch drops what base and PR differ in, the branch and the component
// behaviour, so a variant of one run pairs with the same variant of the
// other (as analysis.Compare pairs groups).
func vkNoBranch(k analysis.VariantKey) analysis.VariantKey {
	k.Branch, k.Behaviour = "", ""
	return k
}

// failedKeys returns the groups of s with a failed cell, and one line per
// variant saying what is not drawn because of them.
func failedKeys(s *analysis.Summary, run string) (map[analysis.Key]bool, []string) {
	keys := map[analysis.Key]bool{}
	count := map[analysis.VariantKey]int{}
	reason := map[analysis.VariantKey]string{}
	var order []analysis.VariantKey
	for _, c := range s.Cells {
		if c.Status != rundir.StatusFailed {
			continue
		}
		keys[c.Key] = true
		vk := vkNoBranch(c.Key.VariantKey())
		if count[vk] == 0 {
			order = append(order, vk)
			reason[vk] = c.Reason
		}
		count[vk]++
	}
	var notes []string
	for _, vk := range order {
		notes = append(notes, fmt.Sprintf("%s %s: %d failed cell(s) not drawn (%s)", vk.Variant, run, count[vk], reason[vk]))
	}
	return keys, notes
}

func comparisonCharts(ctx context.Context, baseDir, prDir string, base, pr *analysis.Summary) ([]Chart, error) {
	var out []Chart
	failed := [2]map[analysis.Key]bool{}
	var notes []string
	for ri, s := range []*analysis.Summary{base, pr} {
		var n []string
		failed[ri], n = failedKeys(s, []string{"base", "PR"}[ri])
		notes = append(notes, n...)
	}
	failedNote := ""
	if len(notes) > 0 {
		failedNote = " Failed cells have no figures worth drawing and are left out: " + strings.Join(notes, "; ") + "."
	}
	lab := labelsFor(base, pr)
	lab.branch = false // base and PR differ by branch; the series say which
	// Steady free internal RAM against N, base dashed and PR solid.
	type series struct {
		name string
		run  string
		vk   analysis.VariantKey
		pts  map[int]float64
	}
	nset := map[int]bool{}
	var all []*series
	idx := map[string]*series{}
	for ri, s := range []*analysis.Summary{base, pr} {
		run := []string{"base", "PR"}[ri]
		for _, g := range s.Groups {
			if g.Key.Scenario != "sweep" || failed[ri][g.Key] {
				continue
			}
			m, ok := g.Metric(analysis.MetricInternalFreeSteady)
			if !ok {
				continue
			}
			vk := vkNoBranch(g.Key.VariantKey())
			id := run + "\x00" + vk.String()
			sr := idx[id]
			if sr == nil {
				sr = &series{name: lab.variant(vk) + " " + run, run: run, vk: vk, pts: map[int]float64{}}
				idx[id] = sr
				all = append(all, sr)
			}
			sr.pts[g.Key.N] = m.Value
			nset[g.Key.N] = true
		}
	}
	if len(all) > 0 {
		ns, cats := sortedNs(nset)
		sort.SliceStable(all, func(i, j int) bool {
			if all[i].vk != all[j].vk {
				return all[i].vk.String() < all[j].vk.String()
			}
			return all[i].run < all[j].run
		})
		line := charts.NewLine()
		line.SetXAxis(cats)
		line.SetGlobalOptions(commonOpts("cmp-steady", "axis")...)
		line.SetGlobalOptions(charts.WithXAxisOpts(opts.XAxis{Type: "category", Name: "N sessions", NameLocation: "middle", NameGap: 28}),
			charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "KiB", Scale: opts.Bool(true)}),
			charts.WithGridOpts(opts.Grid{Left: "20", Right: "40", Top: "52", Bottom: "40", ContainLabel: opts.Bool(true)}))
		for _, sr := range all {
			data := make([]opts.LineData, len(ns))
			for i, n := range ns {
				if v, ok := sr.pts[n]; ok {
					data[i] = opts.LineData{Value: kib(v)}
				} else {
					data[i] = opts.LineData{Value: "-"}
				}
			}
			style := opts.LineStyle{Width: 2}
			if sr.run == "base" {
				style = opts.LineStyle{Width: 1.5, Type: "dashed"}
			}
			line.AddSeries(sr.name, data, charts.WithLineChartOpts(opts.LineChart{Symbol: "circle", SymbolSize: 6}), charts.WithLineStyleOpts(style))
		}
		m := optionOf(line)
		pairColors(m)
		out = append(out, Chart{ID: "cmp-steady", Title: "Steady free internal RAM (KiB) against N: base (dashed) and PR (solid)",
			Caption: "Median across repetitions of each group's steady free internal RAM; each variant has one colour, light and dashed for the base, dark and solid for the PR." + failedNote, Option: m})
	}
	// Per-session cost, base vs PR.
	type cost struct{ base, pr float64 }
	costs := map[analysis.VariantKey]*cost{}
	var order []analysis.VariantKey
	for ri, s := range []*analysis.Summary{base, pr} {
		for _, cr := range s.Costs {
			m, ok := cr.Metric(analysis.MetricPerSessionCost)
			if !ok || variantFailed(failed[ri], cr.Variant) {
				continue
			}
			vk := vkNoBranch(cr.Variant)
			if costs[vk] == nil {
				costs[vk] = &cost{math.NaN(), math.NaN()}
				order = append(order, vk)
			}
			if ri == 0 {
				costs[vk].base = m.Value
			} else {
				costs[vk].pr = m.Value
			}
		}
	}
	if len(order) > 0 {
		var cats []string
		var b, p []opts.BarData
		val := func(v float64) opts.BarData {
			if math.IsNaN(v) {
				return opts.BarData{Value: "-"}
			}
			return opts.BarData{Value: kib(v)}
		}
		for _, vk := range order {
			cats = append(cats, lab.variant(vk))
			b = append(b, val(costs[vk].base))
			p = append(p, val(costs[vk].pr))
		}
		bar := charts.NewBar()
		bar.SetXAxis(cats)
		bar.SetGlobalOptions(commonOpts("cmp-cost", "axis")...)
		bar.SetGlobalOptions(charts.WithXAxisOpts(opts.XAxis{Type: "category", AxisLabel: catLabel(cats)}), charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "KiB"}))
		bar.AddSeries("base", b, charts.WithItemStyleOpts(opts.ItemStyle{Color: "#9aa4b1"}))
		bar.AddSeries("PR", p, charts.WithItemStyleOpts(opts.ItemStyle{Color: "#5470c6"}))
		out = append(out, Chart{ID: "cmp-cost", Title: "Internal RAM cost per TLS session: base and PR", Caption: "Minus the slope of steady free internal RAM against N (see the table for intervals and p-values)." + failedNote, Option: optionOf(bar)})
	}
	// Timelines of the largest-N sweep cell of each variant, both runs.
	type pick struct {
		dir  string
		cell *analysis.CellResult
		run  string
	}
	var picks []pick
	for ri, s := range []*analysis.Summary{base, pr} {
		dir := []string{baseDir, prDir}[ri]
		best := map[analysis.VariantKey]*analysis.CellResult{}
		var vks []analysis.VariantKey
		for i := range s.Cells {
			c := &s.Cells[i]
			if c.Key.Scenario != "sweep" || c.Samples == 0 || c.Status == rundir.StatusFailed {
				continue
			}
			vk := vkNoBranch(c.Key.VariantKey())
			if b, ok := best[vk]; !ok || c.Key.N > b.Key.N || (c.Key.N == b.Key.N && c.Rep < b.Rep) {
				if !ok {
					vks = append(vks, vk)
				}
				best[vk] = c
			}
		}
		sort.Slice(vks, func(i, j int) bool { return vks[i].String() < vks[j].String() })
		for _, vk := range vks {
			picks = append(picks, pick{dir, best[vk], []string{"base", "PR"}[ri]})
		}
	}
	sort.SliceStable(picks, func(i, j int) bool {
		a, b := vkNoBranch(picks[i].cell.Key.VariantKey()).String(), vkNoBranch(picks[j].cell.Key.VariantKey()).String()
		if a != b {
			return a < b
		}
		return picks[i].run > picks[j].run // base before PR
	})
	if len(picks) > 0 {
		line := charts.NewLine()
		line.SetGlobalOptions(commonOpts("cmp-timeline", "axis")...)
		line.SetGlobalOptions(charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "seconds", NameLocation: "middle", NameGap: 26}),
			charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "KiB", Scale: opts.Bool(true)}),
			charts.WithDataZoomOpts(opts.DataZoom{Type: "inside", XAxisIndex: 0}, opts.DataZoom{Type: "slider", XAxisIndex: 0}),
			charts.WithGridOpts(opts.Grid{Left: "20", Right: "40", Top: "52", Bottom: "75", ContainLabel: opts.Bool(true)}))
		for _, pk := range picks {
			if pk.dir == "" {
				continue // compared from summary.json alone
			}
			tl, err := analysis.ReadTimeline(ctx, rundir.CellDir(pk.dir, pk.cell.ID))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if len(tl.T) == 0 {
				continue
			}
			idx := stats.LTTB(tl.T, tl.InternalFree, MaxPoints)
			data := make([]opts.LineData, len(idx))
			for i, k := range idx {
				data[i] = opts.LineData{Value: []float64{math.Round(tl.T[k]*1000) / 1000, kib(tl.InternalFree[k])}}
			}
			style := opts.LineStyle{Width: 1.5}
			if pk.run == "base" {
				style.Type = "dashed"
			}
			line.AddSeries(fmt.Sprintf("%s N=%d %s", lab.variant(vkNoBranch(pk.cell.Key.VariantKey())), pk.cell.Key.N, pk.run), data,
				charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false), Symbol: "none"}), charts.WithLineStyleOpts(style))
		}
		m := optionOf(line)
		pairColors(m)
		if s, _ := m["series"].([]any); len(s) > 0 {
			out = append(out, Chart{ID: "cmp-timeline", Title: "Free internal RAM (KiB) over time at the largest N: base (dashed) and PR (solid)", Height: 460,
				Caption: fmt.Sprintf("One repetition per variant and run, downsampled to at most %d points (LTTB); base light and dashed, PR dark and solid.", MaxPoints) + failedNote, Option: m})
		}
	}
	for i := range out {
		if e, ok := out[i].Option[optionError]; ok {
			return nil, fmt.Errorf("chart %q: %v", out[i].Title, e)
		}
		if out[i].Height == 0 {
			out[i].Height = 420
		}
	}
	return out, nil
}

// pairColors gives a variant's base and PR series one hue (series come in
// base, PR pairs sorted by variant; a series without its pair gets its
// own): the PR in the full colour, the base in a light tint of it, so two
// identical lines stay told apart.
func pairColors(m map[string]any) {
	palette := []string{"#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc"}
	series, _ := m["series"].([]any)
	color, prev := -1, ""
	for _, x := range series {
		s, ok := x.(map[string]any)
		if !ok {
			continue
		}
		name, _ := s["name"].(string)
		stem, isBase := name, false
		for _, suf := range []string{" base", " PR"} {
			if len(stem) > len(suf) && stem[len(stem)-len(suf):] == suf {
				stem = stem[:len(stem)-len(suf)]
				isBase = suf == " base"
			}
		}
		if stem != prev {
			color++
			prev = stem
		}
		c := palette[color%len(palette)]
		if isBase {
			c = tint(c, 0.55)
		}
		s["color"] = c
		if ls, ok := s["lineStyle"].(map[string]any); ok {
			ls["color"] = c
		}
		if is, ok := s["itemStyle"].(map[string]any); ok {
			is["color"] = c
		} else {
			s["itemStyle"] = map[string]any{"color": c}
		}
	}
}

// tint mixes the colour #rrggbb with white by f (0: unchanged, 1: white).
func tint(hex string, f float64) string {
	var r, g, b int
	if _, err := fmt.Sscanf(hex, "#%02x%02x%02x", &r, &g, &b); err != nil {
		return hex
	}
	mix := func(c int) int { return c + int(math.Round(float64(255-c)*f)) }
	return fmt.Sprintf("#%02x%02x%02x", mix(r), mix(g), mix(b))
}

// variantFailed reports whether any failed group of a run belongs to vk.
func variantFailed(failed map[analysis.Key]bool, vk analysis.VariantKey) bool {
	for k := range failed {
		if k.Scenario == "sweep" && k.VariantKey() == vk {
			return true
		}
	}
	return false
}

type cmpRow struct {
	Board, Variant, Scenario, Metric string
	Unit                             string
	Old, New, Change, Pct, P, N      string
	Verdict                          string
	Class                            string
	Gates                            []analysis.GateResult
}

type cmpFailed struct {
	Board, Variant, Scenario string
	Base, PR, Mark           string
	New                      bool
	Reasons                  []string
}

type cmpPage struct {
	Title       string
	Headline    string
	Failed      bool
	Gates       []string
	Failures    []string
	FailedCells []cmpFailed
	Verdicts    []analysis.VariantVerdict
	Rows        []cmpRow
	Warnings    []string
	Charts      []chartView
	Options     template.JS
	JS          template.JS
	Alpha       string
}

func renderComparison(w io.Writer, c *analysis.Comparison, cs []Chart, js []byte) error {
	p := cmpPage{Title: fmt.Sprintf("wsbench compare: %s → %s", c.Base, c.PR), Headline: c.Headline(), Failed: c.Failed(), Gates: c.Gates,
		Verdicts: c.Verdicts, Warnings: c.Warnings, JS: template.JS(js), Alpha: fmt.Sprintf("%.2f", c.Alpha)}
	for _, f := range c.Failures {
		if !strings.HasPrefix(f, "FAIL cells: ") { // the failed-cells table shows those
			p.Failures = append(p.Failures, f)
		}
	}
	for _, f := range c.FailedCells {
		mark := "in both runs"
		switch {
		case f.New && c.AllowFailedCells:
			mark = "new (allowed)"
		case f.New:
			mark = "new"
		case f.PRFailed < f.BaseFailed:
			mark = "fewer"
		}
		p.FailedCells = append(p.FailedCells, cmpFailed{Board: f.Key.Board, Variant: f.Key.VariantLabel(), Scenario: f.Key.ScenarioLabel(),
			Base: f.BaseCount(), PR: f.PRCount(), Mark: mark, New: f.New, Reasons: f.Reasons})
	}
	// One unit per metric, as in the Markdown.
	scales := map[string]analysis.Scale{}
	vals := map[string][]float64{}
	for _, r := range c.Rows {
		vals[r.Metric] = append(vals[r.Metric], r.Old, r.New)
	}
	for _, r := range c.Rows {
		if _, ok := scales[r.Metric]; !ok {
			scales[r.Metric] = analysis.ScaleFor(r.Unit, vals[r.Metric]...)
		}
	}
	for _, r := range c.Rows {
		cls := ""
		switch r.Verdict {
		case analysis.Worse:
			cls = "worse"
		case analysis.Better:
			cls = "better"
		}
		sc := scales[r.Metric]
		pct := "—"
		if d := float64(r.DeltaPct); !math.IsNaN(d) {
			pct = fmt.Sprintf("%+.2f%%", d)
		}
		verdict := r.Verdict
		if verdict == analysis.Same {
			verdict = "~"
		}
		p.Rows = append(p.Rows, cmpRow{Board: r.Key.Board, Variant: r.Key.VariantLabel(), Scenario: r.Key.ScenarioLabel(), Metric: r.Metric, Unit: sc.Unit,
			Old: sc.Format(r.Old), New: sc.Format(r.New), Change: sc.FormatChange(r.Change), Pct: pct, Verdict: verdict,
			P: analysis.FormatP(r.P), N: fmt.Sprintf("%d+%d", r.OldN, r.NewN), Class: cls, Gates: r.Gates})
	}
	var err error
	if p.Charts, p.Options, err = chartPayload(cs); err != nil {
		return err
	}
	return comparisonTemplate.Execute(w, p)
}

var comparisonTemplate = template.Must(template.New("compare").Parse(baseCSS + `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
{{template "base-css"}}
h1{font-size:1.5rem;margin:8px 0 4px}h2{font-size:1.2rem;margin:0 0 8px}h3{font-size:1.05rem;margin:0 0 4px}
.scroll{overflow-x:auto;max-height:640px;overflow-y:auto}
th{background:#f0f3f6;font-weight:600;position:sticky;top:0}
td.l,th.l{text-align:left}
tr.worse td{background:#ffebe9}tr.better td{background:#dafbe1}
.fail{color:#b42318;font-weight:600}.pass{color:#1a7f37;font-weight:600}
.verdict-worse{color:#b42318;font-weight:700}
td.reason code{white-space:normal;word-break:break-word}.verdict-better{color:#1a7f37;font-weight:700}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p class="caption">Medians across repetitions, each metric in the unit of its unit column; Δ = PR − base in that unit, Δ% relative to the base; p-values from the Mann-Whitney U test as benchstat computes it (golang.org/x/perf/benchmath), per-session costs from a t test on the two slopes; alpha {{.Alpha}}. "~": no significant difference. Failed cells are counted, not tested.</p>
<section class="card"><p class="{{if .Failed}}fail{{else}}pass{{end}}" id="headline">{{.Headline}}</p>
{{if .Failures}}<ul>{{range .Failures}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Gates}}<p class="caption">Gates: {{range .Gates}}<code>{{.}}</code> {{end}}</p>{{end}}</section>
{{if .FailedCells}}<section class="card"><h2>Cells that failed</h2>
<p class="caption">A failed cell has no figures worth comparing: its group is left out of the table and the charts.</p>
<table id="failed-cells"><thead><tr><th class="l">board</th><th class="l">variant</th><th class="l">scenario</th><th>base failed</th><th>PR failed</th><th class="l"></th><th class="l">reason</th></tr></thead><tbody>
{{range .FailedCells}}<tr{{if .New}} class="worse"{{end}}><td class="l">{{.Board}}</td><td class="l">{{.Variant}}</td><td class="l">{{.Scenario}}</td><td>{{.Base}}</td><td>{{.PR}}</td><td class="l">{{.Mark}}</td><td class="l reason">{{range .Reasons}}<code>{{.}}</code><br>{{end}}</td></tr>
{{end}}</tbody></table></section>{{end}}
<section class="card"><h2>Verdict per variant</h2>
<table><thead><tr><th class="l">board</th><th class="l">variant</th><th class="l">verdict</th><th class="l">better</th><th class="l">worse</th></tr></thead><tbody>
{{range .Verdicts}}<tr><td class="l">{{.Variant.Board}}</td><td class="l">{{.Variant.Variant}}{{if .Variant.Behaviour}} ({{.Variant.Behaviour}}){{end}}</td><td class="l verdict-{{.Verdict}}">{{.Verdict}}</td><td class="l">{{range .Better}}{{.}}<br>{{end}}</td><td class="l">{{range .Worse}}{{.}}<br>{{end}}</td></tr>
{{end}}</tbody></table></section>
{{range .Charts}}<section class="card">
<h3>{{.Title}}</h3>
<p class="caption">{{.Caption}}</p>
<div class="chart" id="{{.ID}}" style="width:100%;height:{{.Height}}px"></div>
</section>
{{end}}
<section class="card"><h2>Every compared figure</h2><div class="scroll"><table>
<thead><tr><th class="l">metric</th><th class="l">unit</th><th class="l">board</th><th class="l">variant</th><th class="l">scenario</th><th>base</th><th>PR</th><th>Δ</th><th>Δ%</th><th>p</th><th>n</th><th class="l">verdict</th><th class="l">gates</th></tr></thead><tbody>
{{range .Rows}}<tr{{if .Class}} class="{{.Class}}"{{end}}><td class="l">{{.Metric}}</td><td class="l">{{.Unit}}</td><td class="l">{{.Board}}</td><td class="l">{{.Variant}}</td><td class="l">{{.Scenario}}</td><td>{{.Old}}</td><td>{{.New}}</td><td>{{.Change}}</td><td>{{.Pct}}</td><td>{{.P}}</td><td>{{.N}}</td><td class="l">{{.Verdict}}</td><td class="l">{{range .Gates}}<span class="{{if .Failed}}fail{{else}}pass{{end}}" title="{{.Reason}}">{{.Gate}}</span> {{end}}</td></tr>
{{end}}</tbody></table></div></section>
{{if .Warnings}}<section class="card"><h2>Warnings</h2><ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul></section>{{end}}
</main>
{{template "chart-script" .}}
</body>
</html>
`))
