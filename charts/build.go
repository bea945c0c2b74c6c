package charts

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/analysis/stats"
	"github.com/wsbench/wsbench/rundir"
)

// MaxPoints is the number of points a timeline series is downsampled to.
const MaxPoints = 1500

// timelinePalette colours the timeline's groups.
var timelinePalette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79",
	"#637939", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363", "#9c9ede", "#cedb9c", "#e7ba52", "#ad494a", "#a55194", "#6baed6"}

// maxMarks bounds the reset/watchdog marks drawn on one series.
const maxMarks = 60

// Chart is one chart of a report: an HTML title and caption and the echarts
// option (a JSON-ready map built with go-echarts).
type Chart struct {
	ID      string
	Title   string
	Caption string
	Height  int
	Option  map[string]any
}

func kib(v float64) float64 { return math.Round(v/1024*100) / 100 }

func commonOpts(id, trigger string) []charts.GlobalOpts {
	return []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{ChartID: id, Width: "100%", Height: "420px"}),
		charts.WithAnimation(false),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: trigger}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Type: "scroll", Top: "0"}),
		charts.WithGridOpts(opts.Grid{Left: "20", Right: "40", Top: "52", Bottom: "30", ContainLabel: opts.Bool(true)}),
	}
}

// optionError is the key under which optionOf reports an option that did
// not encode (a NaN that slipped through); Build turns it into an error.
const optionError = "wsbenchOptionError"

// optionOf validates a go-echarts chart and returns its option map.
func optionOf(c interface {
	Validate()
	JSON() map[string]interface{}
}) map[string]any {
	c.Validate()
	// Round-trip through encoding/json so later patches work on plain maps
	// and every string is escaped the same way.
	b, err := json.Marshal(c.JSON())
	var m map[string]any
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		return map[string]any{optionError: err.Error()}
	}
	delete(m, "toolbox")
	series, _ := m["series"].([]any)
	for _, x := range series {
		if s, ok := x.(map[string]any); ok && s["type"] == "bar" {
			s["barMaxWidth"] = 64
		}
	}
	if t, ok := m["title"].(map[string]any); ok && t["text"] == nil {
		delete(m, "title")
	}
	// Wrapped category labels get a numeric line height (see catLabel).
	xs, _ := m["xAxis"].([]any)
	for _, x := range xs {
		if ax, ok := x.(map[string]any); ok {
			if al, ok := ax["axisLabel"].(map[string]any); ok && al["overflow"] == "break" {
				al["lineHeight"] = 14
			}
			// Slanted labels reach left of the grid: make room.
			if al, ok := ax["axisLabel"].(map[string]any); ok && al["rotate"] != nil {
				gs, _ := m["grid"].([]any)
				for _, x := range gs {
					if g, ok := x.(map[string]any); ok {
						g["left"] = 90
					}
				}
			}
		}
	}
	return m
}

// labeler names variants for legends and axes, leaving out the parts every
// variant shares (one board, one behaviour, one branch).
type labeler struct{ board, behaviour, branch bool }

func labelsFor(ss ...*analysis.Summary) labeler {
	boards, behaviours, branches := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, s := range ss {
		for _, c := range s.Cells {
			boards[c.Key.Board] = true
			behaviours[c.Key.Behaviour] = true
			branches[c.Key.Branch] = true
		}
	}
	return labeler{board: len(boards) > 1, behaviour: len(behaviours) > 1, branch: len(branches) > 1}
}

// variant names a variant on a board.
func (l labeler) variant(k analysis.VariantKey) string {
	s := k.Variant
	if l.behaviour && k.Behaviour != "" {
		s += " (" + k.Behaviour + ")"
	}
	if l.branch && k.Branch != "" {
		s += " @" + k.Branch
	}
	if l.board {
		s = k.Board + " · " + s
	}
	return s
}

// Build returns the charts of a report, reading each plotted cell's
// timeline from runDir. Charts without data are left out.
func Build(ctx context.Context, runDir string, s *analysis.Summary) ([]Chart, error) {
	var out []Chart
	tl, err := timelineCharts(ctx, runDir, s)
	if err != nil {
		return nil, err
	}
	out = append(out, tl...)
	if c, ok := freedChart(s); ok {
		out = append(out, c)
	}
	out = append(out, steadyVsN(s)...)
	for _, f := range []func(*analysis.Summary) (Chart, bool){costChart(analysis.MetricPerSessionCost), costChart(analysis.MetricFixedCost),
		internalVsPSRAM, stackChart, leakChart, latencyChart, ownersChart} {
		if c, ok := f(s); ok {
			out = append(out, c)
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

// largestNGroups returns, per variant, the sweep group with the largest N.
func largestNGroups(s *analysis.Summary) []analysis.GroupResult {
	best := map[analysis.VariantKey]int{}
	var order []analysis.VariantKey
	for i, g := range s.Groups {
		if g.Key.Scenario != "sweep" {
			continue
		}
		vk := g.Key.VariantKey()
		j, ok := best[vk]
		if !ok {
			order = append(order, vk)
			best[vk] = i
		} else if g.Key.N > s.Groups[j].Key.N {
			best[vk] = i
		}
	}
	var out []analysis.GroupResult
	for _, vk := range order {
		out = append(out, s.Groups[best[vk]])
	}
	return out
}

func timelineCharts(ctx context.Context, runDir string, s *analysis.Summary) ([]Chart, error) {
	type panel struct{ board, scenario string }
	var panels []panel
	cellsOf := map[panel][]*analysis.CellResult{}
	for i := range s.Cells {
		c := &s.Cells[i]
		if c.Samples == 0 {
			continue // every repetition with samples is drawn
		}
		p := panel{c.Key.Board, c.Key.Scenario}
		if _, ok := cellsOf[p]; !ok {
			panels = append(panels, p)
		}
		cellsOf[p] = append(cellsOf[p], c)
	}
	sort.Slice(panels, func(i, j int) bool {
		if panels[i].board != panels[j].board {
			return panels[i].board < panels[j].board
		}
		return panels[i].scenario < panels[j].scenario
	})
	var out []Chart
	lab := labelsFor(s)
	lab.board = false // one chart per board
	for pi, p := range panels {
		id := fmt.Sprintf("timeline-%d", pi)
		line := charts.NewLine()
		line.SetGlobalOptions(commonOpts(id, "axis")...)
		line.SetGlobalOptions(
			charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "board time (s)", NameLocation: "middle", NameGap: 26, Scale: opts.Bool(true)}),
			charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "KiB", Scale: opts.Bool(true)}),
			charts.WithDataZoomOpts(opts.DataZoom{Type: "inside", XAxisIndex: 0}, opts.DataZoom{Type: "slider", XAxisIndex: 0, Start: 0, End: 100}),
			charts.WithGridOpts(opts.Grid{Left: "20", Right: "40", Top: "52", Bottom: "75", ContainLabel: opts.Bool(true)}),
		)
		cells := cellsOf[p]
		sort.SliceStable(cells, func(i, j int) bool {
			a, b := cells[i].Key, cells[j].Key
			if a.Variant != b.Variant {
				return a.Variant < b.Variant
			}
			if a.Label != b.Label {
				return a.Label < b.Label
			}
			if a.N != b.N {
				return a.N < b.N
			}
			return cells[i].Rep < cells[j].Rep
		})
		// Every repetition of a group is one series name (one legend entry
		// that shows or hides them all) in one colour.
		colors := map[string]string{}
		// Show the largest N of each variant; the legend brings back the rest.
		largest := map[string]int{}
		for _, c := range cells {
			v := c.Key.Variant + "\x00" + c.Key.Behaviour + "\x00" + c.Key.Label
			largest[v] = max(largest[v], c.Key.N)
		}
		selected := map[string]bool{}
		hidden := 0
		points, marks := 0, 0
		for _, c := range cells {
			tl, err := analysis.ReadTimeline(ctx, rundir.CellDir(runDir, c.ID))
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
			name := lab.variant(c.Key.VariantKey())
			if c.Key.Label != "" && c.Key.Label != c.Key.Scenario {
				name += " " + c.Key.Label
			}
			name += fmt.Sprintf(" N=%d", c.Key.N)
			if _, ok := colors[name]; !ok {
				colors[name] = timelinePalette[len(colors)%len(timelinePalette)]
				selected[name] = c.Key.N == largest[c.Key.Variant+"\x00"+c.Key.Behaviour+"\x00"+c.Key.Label]
				if !selected[name] {
					hidden++
				}
			}
			var mps []opts.MarkPointNameCoordItem
			for _, m := range tl.Marks {
				if len(mps) == maxMarks {
					break
				}
				j, _ := slices.BinarySearch(tl.T, m.T)
				j = min(j, len(tl.T)-1)
				color, sym := "#d62728", "R"
				if m.Kind == "watchdog" {
					color, sym = "#ff7f0e", "W"
				} else if m.Kind != "reset" {
					color, sym = "#9467bd", "!"
				}
				mps = append(mps, opts.MarkPointNameCoordItem{
					Name:       m.Kind + ": " + m.Text,
					Coordinate: []interface{}{math.Round(m.T*1000) / 1000, kib(tl.InternalFree[j])},
					Value:      sym, Symbol: "pin", SymbolSize: 34,
					ItemStyle: &opts.ItemStyle{Color: color},
				})
			}
			marks += len(mps)
			points += len(data)
			sopts := []charts.SeriesOpts{charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false), Symbol: "none"}),
				charts.WithLineStyleOpts(opts.LineStyle{Width: 1.2, Color: colors[name]}), charts.WithItemStyleOpts(opts.ItemStyle{Color: colors[name]})}
			if len(mps) > 0 {
				sopts = append(sopts, charts.WithMarkPointNameCoordItemOpts(mps...))
			}
			line.AddSeries(name, data, sopts...)
		}
		if points == 0 {
			continue
		}
		caption := "Every repetition of every variant and N, one colour per variant and N. Board clock, seconds since the first sample (a reset continues the axis). " +
			fmt.Sprintf("Each series is downsampled to at most %d points (LTTB) for display; the figures use every sample.", MaxPoints)
		if hidden > 0 {
			caption += " Only the largest N of each variant is shown at first: click the legend for the others."
		}
		if marks > 0 {
			caption += " Pins mark resets (R, red), watchdog triggers (W, orange) and panics or stack overflows (!, purple)."
		}
		m := optionOf(line)
		if lg, ok := m["legend"].(map[string]any); ok && hidden > 0 {
			lg["selected"] = selected
		}
		out = append(out, Chart{ID: id, Title: fmt.Sprintf("Free internal RAM (KiB) over time: %s, %s", p.board, p.scenario), Caption: caption, Height: 460, Option: m})
	}
	return out, nil
}

func steadyVsN(s *analysis.Summary) []Chart {
	lab := labelsFor(s)
	lab.board = false // one chart per board
	boards := []string{}
	byBoard := map[string][]analysis.GroupResult{}
	for _, g := range s.Groups {
		if g.Key.Scenario != "sweep" {
			continue
		}
		if _, ok := g.Metric(analysis.MetricInternalFreeSteady); !ok {
			continue
		}
		if _, ok := byBoard[g.Key.Board]; !ok {
			boards = append(boards, g.Key.Board)
		}
		byBoard[g.Key.Board] = append(byBoard[g.Key.Board], g)
	}
	sort.Strings(boards)
	var out []Chart
	for bi, board := range boards {
		groups := byBoard[board]
		nset := map[int]bool{}
		for _, g := range groups {
			nset[g.Key.N] = true
		}
		ns, cats := sortedNs(nset)
		pos := map[int]int{}
		for i, n := range ns {
			pos[n] = i
		}
		id := fmt.Sprintf("steady-%d", bi)
		line := charts.NewLine()
		line.SetXAxis(cats)
		line.SetGlobalOptions(commonOpts(id, "item")...)
		line.SetGlobalOptions(
			charts.WithXAxisOpts(opts.XAxis{Type: "category", Name: "N sessions", NameLocation: "middle", NameGap: 28, Data: cats}),
			charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "KiB", Scale: opts.Bool(true)}),
			charts.WithGridOpts(opts.Grid{Left: "20", Right: "40", Top: "52", Bottom: "40", ContainLabel: opts.Bool(true)}),
		)
		var variants []analysis.VariantKey
		byVariant := map[analysis.VariantKey][]analysis.GroupResult{}
		for _, g := range groups {
			vk := g.Key.VariantKey()
			if _, ok := byVariant[vk]; !ok {
				variants = append(variants, vk)
			}
			byVariant[vk] = append(byVariant[vk], g)
		}
		var legend []string
		anyCI, anyRange := false, false
		for _, vk := range variants {
			name := lab.variant(vk)
			med := make([]opts.LineData, len(ns))
			lo := make([]opts.LineData, len(ns))
			width := make([]opts.LineData, len(ns))
			for i := range ns {
				med[i], lo[i], width[i] = opts.LineData{Value: "-"}, opts.LineData{Value: "-"}, opts.LineData{Value: "-"}
			}
			for _, g := range byVariant[vk] {
				m, _ := g.Metric(analysis.MetricInternalFreeSteady)
				i := pos[g.Key.N]
				med[i] = opts.LineData{Value: kib(m.Value)}
				l, h := float64(m.Lo), float64(m.Hi)
				if m.HasInterval() {
					anyCI = true
				} else if len(m.Values) > 1 {
					l, h = slices.Min(m.Values), slices.Max(m.Values)
					anyRange = true
				} else {
					l, h = m.Value, m.Value
				}
				lo[i] = opts.LineData{Value: kib(l)}
				width[i] = opts.LineData{Value: kib(h) - kib(l)}
			}
			legend = append(legend, name)
			addBand(line, name, med, lo, width, 0.18)
			for _, cr := range s.Costs {
				if cr.Variant != vk {
					continue
				}
				pc, ok1 := cr.Metric(analysis.MetricPerSessionCost)
				fx, ok2 := cr.Metric(analysis.MetricFixedCost)
				if !ok1 || !ok2 || cr.B0 == 0 {
					continue
				}
				// The fit is in sessions actually open: evaluate it there.
				fit := make([]opts.LineData, len(ns))
				for i := range ns {
					fit[i] = opts.LineData{Value: "-"}
				}
				for _, g := range byVariant[vk] {
					x := float64(g.Key.N)
					if so, ok := g.Metric(analysis.MetricSessionsOpen); ok {
						x = so.Value
					}
					one := 0.0
					if x >= 1 {
						one = 1
					}
					fit[pos[g.Key.N]] = opts.LineData{Value: kib(cr.B0 - fx.Value*one - pc.Value*x)}
				}
				line.AddSeries(name+" fit", fit, charts.WithLineChartOpts(opts.LineChart{Symbol: "none"}),
					charts.WithLineStyleOpts(opts.LineStyle{Type: "dashed", Width: 1}))
				legend = append(legend, name+" fit")
			}
		}
		m := optionOf(line)
		colorBands(m)
		if lg, ok := m["legend"].(map[string]any); ok {
			lg["data"] = legend
		}
		band := "Shaded: the 95% confidence interval of the median across repetitions."
		if anyRange && !anyCI {
			band = "Shaded: the range of the repetitions (too few repetitions for a 95% interval of the median; 6 are needed)."
		} else if anyRange {
			band = "Shaded: the 95% interval of the median where there are at least 6 repetitions, else the range of the repetitions."
		}
		out = append(out, Chart{ID: id, Title: "Steady free internal RAM (KiB) against N sessions: " + board,
			Caption: "Median across repetitions of each cell's steady-window median. " + band + " Dashed: the cost fit b0 − one-time·1[n≥1] − per-session·n at the number of sessions actually open (below N where sessions failed).",
			Option:  m})
	}
	return out
}

// freedChart draws the verdicts' first figure: internal RAM each variant
// frees against the baseline variant at every swept N, with the 95%
// interval of that median difference.
func freedChart(s *analysis.Summary) (Chart, bool) {
	type key struct {
		board, variant string
	}
	nset := map[int]bool{}
	rows := map[key]map[int]analysis.Verdict{}
	var order []key
	for _, v := range s.Verdicts {
		if v.Metric != analysis.MetricInternalFreeSteady || v.Variant == v.Baseline || math.IsNaN(float64(v.Delta)) {
			continue
		}
		k := key{v.Board, v.Variant}
		if rows[k] == nil {
			rows[k] = map[int]analysis.Verdict{}
			order = append(order, k)
		}
		rows[k][v.N] = v
		nset[v.N] = true
	}
	if len(order) == 0 {
		return Chart{}, false
	}
	boards := map[string]bool{}
	for _, k := range order {
		boards[k.board] = true
	}
	ns, cats := sortedNs(nset)
	line := charts.NewLine()
	line.SetXAxis(cats)
	line.SetGlobalOptions(commonOpts("freed", "item")...)
	top, bottom := 0.0, 0.0
	var legend []string
	anyCI := false
	for _, k := range order {
		med := make([]opts.LineData, len(ns))
		lo := make([]opts.LineData, len(ns))
		width := make([]opts.LineData, len(ns))
		for i, n := range ns {
			med[i], lo[i], width[i] = opts.LineData{Value: "-"}, opts.LineData{Value: "-"}, opts.LineData{Value: "-"}
			v, ok := rows[k][n]
			if !ok {
				continue
			}
			d := kib(float64(v.Delta))
			med[i] = opts.LineData{Value: d}
			top, bottom = math.Max(top, d), math.Min(bottom, d)
			l, h := d, d
			if !math.IsNaN(float64(v.Lo)) && !math.IsNaN(float64(v.Hi)) {
				l, h = kib(float64(v.Lo)), kib(float64(v.Hi))
				anyCI = true
			}
			top, bottom = math.Max(top, h), math.Min(bottom, l)
			lo[i], width[i] = opts.LineData{Value: l}, opts.LineData{Value: math.Round((h-l)*100) / 100}
		}
		name := k.variant
		if len(boards) > 1 {
			name = k.board + " · " + name
		}
		legend = append(legend, name)
		addBand(line, name, med, lo, width, 0.25)
	}
	line.SetGlobalOptions(charts.WithXAxisOpts(opts.XAxis{Type: "category", Name: "N sessions", NameLocation: "middle", NameGap: 28, Data: cats}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "KiB freed", Min: niceFloor(bottom), Max: niceCeil(top)}),
		charts.WithGridOpts(opts.Grid{Left: "20", Right: "40", Top: "52", Bottom: "40", ContainLabel: opts.Bool(true)}))
	m := optionOf(line)
	colorBands(m)
	if lg, ok := m["legend"].(map[string]any); ok {
		lg["data"] = legend
	}
	base := s.Judgement.Baseline
	band := "Shaded: its 95% interval."
	if !anyCI {
		band = "No interval: fewer than 6 repetitions."
	}
	return Chart{ID: "freed", Title: "Internal RAM freed against " + base + " at each N (KiB)",
		Caption: "Steady free internal RAM of the variant minus that of " + base + ": the median of the pairwise differences of the repetitions (Hodges-Lehmann), as in the verdicts. " + band + " The axis includes every interval. Above zero: the option frees internal RAM. At N=0 no client runs, so nothing can differ.",
		Option:  m}, true
}

// sortedNs returns the N of set in order and their axis labels.
func sortedNs(set map[int]bool) ([]int, []string) {
	ns := slices.Sorted(maps.Keys(set))
	cats := make([]string, len(ns))
	for i, n := range ns {
		cats[i] = fmt.Sprint(n)
	}
	return ns, cats
}

// addBand adds a variant's median line and its interval to line: a
// transparent "interval low" series and the interval's width stacked on it,
// shaded at opacity. colorBands gives the three one colour.
func addBand(line *charts.Line, name string, med, lo, width []opts.LineData, opacity float32) {
	line.AddSeries(name, med, charts.WithLineChartOpts(opts.LineChart{Symbol: "circle", SymbolSize: 7}))
	stack := "band:" + name
	line.AddSeries(name+" interval low", lo, charts.WithLineChartOpts(opts.LineChart{Stack: stack, Symbol: "none"}),
		charts.WithLineStyleOpts(opts.LineStyle{Opacity: opts.Float(0)}))
	line.AddSeries(name+" interval", width, charts.WithLineChartOpts(opts.LineChart{Stack: stack, Symbol: "none"}),
		charts.WithLineStyleOpts(opts.LineStyle{Opacity: opts.Float(0)}), charts.WithAreaStyleOpts(opts.AreaStyle{Opacity: opts.Float(opacity)}))
}

// colorBands gives each band series the color of the median series it
// belongs to (series order: median, low, width, [fit]) and keeps bands out
// of tooltips.
func colorBands(m map[string]any) {
	palette := []string{"#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc"}
	series, _ := m["series"].([]any)
	v := -1
	for _, x := range series {
		s, ok := x.(map[string]any)
		if !ok {
			continue
		}
		name, _ := s["name"].(string)
		band := strings.HasSuffix(name, " interval low") || strings.HasSuffix(name, " interval")
		if !band && !strings.HasSuffix(name, " fit") {
			v++
		}
		c := palette[max(v, 0)%len(palette)]
		s["color"] = c
		if band {
			s["tooltip"] = map[string]any{"show": false}
			s["silent"] = true
		}
		if as, ok := s["areaStyle"].(map[string]any); ok {
			as["color"] = c
		}
	}
}

// errorBars adds a vertical interval line per category to a bar series.
func errorBars(cats []string, lo, hi []float64) charts.SeriesOpts {
	var items []opts.MarkLineNameCoordItem
	for i, c := range cats {
		if math.IsNaN(lo[i]) || math.IsNaN(hi[i]) {
			continue
		}
		items = append(items, opts.MarkLineNameCoordItem{Coordinate0: []interface{}{c, lo[i]}, Coordinate1: []interface{}{c, hi[i]}})
	}
	return func(s *charts.SingleSeries) {
		if len(items) == 0 {
			return
		}
		charts.WithMarkLineNameCoordItemOpts(items...)(s)
		charts.WithMarkLineStyleOpts(opts.MarkLineStyle{Symbol: []string{"none", "none"}, Label: &opts.Label{Show: opts.Bool(false)},
			LineStyle: &opts.LineStyle{Color: "#222", Width: 2, Type: "solid"}})(s)
		s.MarkLines.Data = append([]interface{}(nil), s.MarkLines.Data...)
	}
}

func costChart(metric string) func(*analysis.Summary) (Chart, bool) {
	return func(s *analysis.Summary) (Chart, bool) {
		lab := labelsFor(s)
		var cats []string
		var vals []opts.BarData
		var lo, hi []float64
		top, bottom := 0.0, 0.0
		for _, cr := range s.Costs {
			m, ok := cr.Metric(metric)
			if !ok {
				continue
			}
			cats = append(cats, lab.variant(cr.Variant))
			vals = append(vals, opts.BarData{Value: kib(m.Value)})
			l, h := math.NaN(), math.NaN()
			if m.HasInterval() {
				l, h = kib(float64(m.Lo)), kib(float64(m.Hi))
			}
			lo, hi = append(lo, l), append(hi, h)
			// The axis holds every bar and every interval drawn.
			for _, v := range []float64{kib(m.Value), l, h} {
				if !math.IsNaN(v) {
					top, bottom = math.Max(top, v), math.Min(bottom, v)
				}
			}
		}
		if len(cats) == 0 {
			return Chart{}, false
		}
		id := "cost-" + metric
		bar := charts.NewBar()
		bar.SetXAxis(cats)
		bar.SetGlobalOptions(commonOpts(id, "axis")...)
		bar.SetGlobalOptions(charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: cats, AxisLabel: catLabel(cats)}),
			charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "KiB", Min: niceFloor(bottom), Max: niceCeil(top)}))
		title := "Internal RAM per TLS session"
		caption := "per_session in the fit free = b0 − one-time·1[n≥1] − per-session·n of every sweep cell's steady free internal RAM against the sessions open: what one more TLS session takes. Black line: its 95% t interval (the axis includes every interval)."
		name := "per TLS session (KiB)"
		if metric == analysis.MetricFixedCost {
			title = "One-time internal cost of the websocket client"
			caption = "one-time in the same fit: what free internal RAM loses once when the first session opens, besides that session's TLS cost. Session 0 is the websocket client, so this is its task stack, struct, config and event loop; moving the 4096-byte stack to PSRAM should take 4096 B (and a 4-byte block header) off it. Black line: its 95% interval (Welch t; the axis includes every interval)."
			name = "one-time (client) cost (KiB)"
		}
		bar.AddSeries(name, vals, errorBars(cats, lo, hi))
		return Chart{ID: id, Title: title, Caption: caption, Option: noLegend(optionOf(bar))}, true
	}
}

// niceFloor and niceCeil round an axis bound outwards to a round step, so
// the axis holds the bound with a margin.
func niceFloor(v float64) float64 {
	if v >= 0 {
		return 0
	}
	return -niceCeil(-v)
}

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 0
	}
	step := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 2, 2.5, 5, 10} {
		if f*step >= v*1.05 {
			return f * step
		}
	}
	return 10 * step
}

// catLabel shows every category label, wrapped to the width a category gets.
func catLabel(cats []string) *opts.AxisLabel {
	// No LineHeight here: go-echarts writes it as a string ("14"), and
	// echarts then lays out wrapped labels wrongly (the axis jumps to the top
	// of the grid and the first line of every label disappears); optionOf
	// sets it as a number.
	if len(cats) > 12 {
		// Too many for wrapped labels side by side (they would overlap):
		// slanted, one line each.
		return &opts.AxisLabel{Interval: "0", Rotate: 40}
	}
	return &opts.AxisLabel{Interval: "0", Width: max(70, 1000/max(len(cats), 1)-12), Overflow: "break"}
}

// noLegend hides the legend of a one-series chart (the title says it all).
func noLegend(m map[string]any) map[string]any {
	if lg, ok := m["legend"].(map[string]any); ok {
		lg["show"] = false
	}
	return m
}

func internalVsPSRAM(s *analysis.Summary) (Chart, bool) {
	lab := labelsFor(s)
	var cats []string
	var in, ps, free []opts.BarData
	for _, g := range largestNGroups(s) {
		iu, ok1 := g.Metric(analysis.MetricInternalUsed)
		pu, ok2 := g.Metric(analysis.MetricPSRAMUsed)
		fr, ok3 := g.Metric(analysis.MetricInternalFreeSteady)
		if !ok1 && !ok2 {
			continue
		}
		cats = append(cats, lab.variant(g.Key.VariantKey())+fmt.Sprintf(" N=%d", g.Key.N))
		in = append(in, barVal(iu, ok1))
		ps = append(ps, barVal(pu, ok2))
		free = append(free, barVal(fr, ok3))
	}
	if len(cats) == 0 {
		return Chart{}, false
	}
	bar := charts.NewBar()
	bar.SetXAxis(cats)
	bar.SetGlobalOptions(commonOpts("psram", "axis")...)
	bar.SetGlobalOptions(charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: cats, AxisLabel: catLabel(cats)}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "KiB"}))
	bar.AddSeries("internal used", in)
	bar.AddSeries("PSRAM used", ps)
	bar.AddSeries("internal free", free)
	return Chart{ID: "psram", Title: "Internal vs PSRAM use at the largest N",
		Caption: "Medians across repetitions of the steady window: internal used = internal total - free; PSRAM used = SPIRAM total - free. Moving an allocation to PSRAM shows as internal used going down and PSRAM used going up.",
		Option:  optionOf(bar)}, true
}

func barVal(m analysis.Metric, ok bool) opts.BarData {
	if !ok {
		return opts.BarData{Value: "-"}
	}
	return opts.BarData{Value: kib(m.Value)}
}

// stackChart draws each variant's websocket task stack headroom with the
// definition of the verdicts and the terminal: the least ws_stack_hwm of
// any cell of the variant, naming the scenario it came from.
func stackChart(s *analysis.Summary) (Chart, bool) {
	lab := labelsFor(s)
	th := s.Judgement.WSStackHeadroom
	var cats []string
	var vals []opts.BarData
	top := th
	for _, o := range analysis.Overviews(s) {
		if !o.HasHWM {
			continue
		}
		label := fmt.Sprintf("%.0f B", o.HWM)
		cats = append(cats, lab.variant(o.Key)+" ("+o.HWMScen+")")
		color := "#3ba272"
		if o.HWM < th {
			color = "#ee6666"
		}
		top = math.Max(top, o.HWM)
		vals = append(vals, opts.BarData{Value: o.HWM, Label: &opts.Label{Show: opts.Bool(true), Position: "top", Formatter: label},
			ItemStyle: &opts.ItemStyle{Color: color}})
	}
	if len(cats) == 0 {
		return Chart{}, false
	}
	thLabel := fmt.Sprintf("%.0f B", th)
	bar := charts.NewBar()
	bar.SetXAxis(cats)
	bar.SetGlobalOptions(commonOpts("stack", "axis")...)
	bar.SetGlobalOptions(charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: cats, AxisLabel: catLabel(cats)}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "bytes never used", Min: 0, Max: niceCeil(top)}))
	bar.AddSeries("websocket task stack headroom", vals,
		charts.WithMarkLineNameYAxisItemOpts(opts.MarkLineNameYAxisItem{Name: thLabel, YAxis: th}),
		charts.WithMarkLineStyleOpts(opts.MarkLineStyle{Symbol: []string{"none", "none"}, LineStyle: &opts.LineStyle{Color: "#ee6666", Type: "dashed"},
			Label: &opts.Label{Show: opts.Bool(true), Position: "insideEndTop", Formatter: "threshold " + thLabel}}))
	return Chart{ID: "stack", Title: "Websocket task stack headroom (least over every cell)",
		Caption: fmt.Sprintf("The smallest high-water mark (stack bytes never used) any cell of the variant reported, in brackets the scenario it came from: the figure of the verdicts and the terminal table. Red: under the matrix's threshold (%s, dashed).", thLabel),
		Option:  noLegend(optionOf(bar))}, true
}

func leakChart(s *analysis.Summary) (Chart, bool) {
	lab := labelsFor(s)
	var cats []string
	var vals []opts.BarData
	var lo, hi []float64
	for _, c := range s.Cells {
		m, ok := c.Metric(analysis.MetricLeakPerCycle)
		if !ok {
			continue
		}
		name := lab.variant(c.Key.VariantKey()) + fmt.Sprintf(" N=%d", c.Key.N)
		if c.Rep > 0 || len(s.Cells) > 1 {
			name += fmt.Sprintf(" r%d", c.Rep)
		}
		cats = append(cats, name)
		color := "#5470c6"
		if m.Significant != nil && *m.Significant && m.Value > 0 {
			color = "#ee6666"
		}
		vals = append(vals, opts.BarData{Value: math.Round(m.Value*10) / 10, ItemStyle: &opts.ItemStyle{Color: color},
			Label: &opts.Label{Show: opts.Bool(true), Position: "top", Formatter: fmt.Sprintf("%.1f", m.Value)}})
		lo = append(lo, math.Round(float64(m.Lo)*10)/10)
		hi = append(hi, math.Round(float64(m.Hi)*10)/10)
	}
	if len(cats) == 0 {
		return Chart{}, false
	}
	// The axis holds every bar and every interval (echarts leaves mark
	// lines out of its extent).
	top, bottom := 0.0, 0.0
	for i := range lo {
		for _, v := range []float64{lo[i], hi[i]} {
			if !math.IsNaN(v) {
				top, bottom = math.Max(top, v), math.Min(bottom, v)
			}
		}
	}
	for _, v := range vals {
		if f, ok := v.Value.(float64); ok {
			top, bottom = math.Max(top, f), math.Min(bottom, f)
		}
	}
	bar := charts.NewBar()
	bar.SetXAxis(cats)
	bar.SetGlobalOptions(commonOpts("leak", "axis")...)
	bar.SetGlobalOptions(charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: cats, AxisLabel: catLabel(cats)}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "B/cycle", Min: niceFloor(bottom), Max: niceCeil(top)}))
	bar.AddSeries("leak per cycle (B)", vals, errorBars(cats, lo, hi))
	return Chart{ID: "leak", Title: "Leak per churn cycle",
		Caption: "Bytes of internal RAM lost per open/close cycle: minus the slope of free internal RAM after each cycle against the cycle index, with its 95% interval (black). Red: the interval excludes zero, a leak.",
		Option:  noLegend(optionOf(bar))}, true
}

func latencyChart(s *analysis.Summary) (Chart, bool) {
	lab := labelsFor(s)
	var cats []string
	lowest := math.Inf(1)
	series := map[string][]opts.BarData{}
	names := []string{analysis.MetricLatencyP50, analysis.MetricLatencyP90, analysis.MetricLatencyP99, analysis.MetricLatencyMax}
	for _, g := range s.Groups {
		if _, ok := g.Metric(analysis.MetricLatencyP50); !ok {
			continue
		}
		name := lab.variant(g.Key.VariantKey())
		if g.Key.Label != "" {
			name += " " + g.Key.Label
		}
		cats = append(cats, name+fmt.Sprintf(" N=%d", g.Key.N))
		for _, n := range names {
			m, ok := g.Metric(n)
			series[n] = append(series[n], func() opts.BarData {
				if !ok {
					return opts.BarData{Value: "-"}
				}
				v := math.Max(math.Round(m.Value)/1000, 0.001)
				lowest = math.Min(lowest, v)
				return opts.BarData{Value: v}
			}())
		}
	}
	if len(cats) == 0 {
		return Chart{}, false
	}
	bar := charts.NewBar()
	bar.SetXAxis(cats)
	bar.SetGlobalOptions(commonOpts("latency", "axis")...)
	bar.SetGlobalOptions(charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: cats, AxisLabel: catLabel(cats)}),
		charts.WithYAxisOpts(opts.YAxis{Type: "log", Name: "ms (log)", Min: math.Pow(10, math.Floor(math.Log10(lowest)))}))
	for _, n := range names {
		bar.AddSeries(strings.TrimPrefix(n, "handler_latency_"), series[n])
	}
	return Chart{ID: "latency", Title: "Event handler latency",
		Caption: "From event post to work done, per handler mode: percentiles over every handler_latency event, median across repetitions. Log scale.",
		Option:  optionOf(bar)}, true
}

var ownerIndex = regexp.MustCompile(`\[\d+\]`)

// ownerPalette has distinct colours for the named owners; "other" is
// grey and "unattributed" light grey, never one of these.
// (Kelly's colours of maximum contrast, without grey and white).
var ownerPalette = []string{"#0067A5", "#F38400", "#008856", "#BE0032", "#875692", "#F3C300", "#A1CAF1", "#C2B280",
	"#E68FAC", "#604E97", "#F99379", "#8DB600", "#882D17", "#DCD300", "#2B3D26", "#B3446C", "#654522"}

// ownersChart accounts for the internal RAM in use at the steady owner
// snapshot of every repetition at each variant's largest N: the named
// owners, the rest of the named owners as "other", and the bytes in use
// that no owner names as "unattributed", so each bar is internal total −
// internal free at that sample.
func ownersChart(s *analysis.Summary) (Chart, bool) {
	lab := labelsFor(s)
	type entry struct {
		cat          string
		bytes        map[string]float64
		unattributed float64
	}
	byID := map[string]*analysis.CellResult{}
	for i := range s.Cells {
		byID[s.Cells[i].ID] = &s.Cells[i]
	}
	var entries []entry
	totals := map[string]float64{}
	for _, g := range largestNGroups(s) {
		for _, id := range g.Cells {
			c := byID[id]
			if c == nil || len(c.Owners) == 0 {
				continue
			}
			e := entry{cat: lab.variant(g.Key.VariantKey()) + fmt.Sprintf(" N=%d r%d", g.Key.N, c.Rep), bytes: map[string]float64{},
				unattributed: math.Max(float64(c.OwnersUnattributed), 0)}
			for _, o := range c.Owners {
				if o.Heap != "internal" {
					continue
				}
				l := ownerIndex.ReplaceAllString(o.Label, "")
				e.bytes[l] += float64(o.Bytes)
				totals[l] += float64(o.Bytes)
			}
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 || len(totals) == 0 {
		return Chart{}, false
	}
	labels := make([]string, 0, len(totals))
	for l := range totals {
		labels = append(labels, l)
	}
	sort.Slice(labels, func(i, j int) bool {
		if totals[labels[i]] != totals[labels[j]] {
			return totals[labels[i]] > totals[labels[j]]
		}
		return labels[i] < labels[j]
	})
	// The largest owners get a colour each, and so does every websocket
	// client allocation (what the placement options move), however small.
	var named, other []string
	for _, l := range labels {
		if len(named) < len(ownerPalette) && (len(named) < 11 || strings.HasPrefix(l, "ws/")) {
			named = append(named, l)
		} else {
			other = append(other, l)
		}
	}
	var cats []string
	for _, e := range entries {
		cats = append(cats, e.cat)
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(commonOpts("owners", "axis")...)
	bar.SetGlobalOptions(charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "KiB"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: cats, Inverse: opts.Bool(true)}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Type: "plain", Top: "0"}),
		charts.WithGridOpts(opts.Grid{Left: "20", Right: "40", Top: "84", Bottom: "30", ContainLabel: opts.Bool(true)}))
	add := func(name, color string, get func(e entry) float64) {
		data := make([]opts.BarData, len(entries))
		for i, e := range entries {
			data[i] = opts.BarData{Value: kib(get(e))}
		}
		bar.AddSeries(name, data, charts.WithBarChartOpts(opts.BarChart{Stack: "owners"}), charts.WithItemStyleOpts(opts.ItemStyle{Color: color}))
	}
	for i, l := range named {
		add(l, ownerPalette[i], func(e entry) float64 { return e.bytes[l] })
	}
	if len(other) > 0 {
		add(fmt.Sprintf("other (%d labels)", len(other)), "#8c959f", func(e entry) float64 {
			var sum float64
			for _, l := range other {
				sum += e.bytes[l]
			}
			return sum
		})
	}
	add("unattributed", "#d0d7de", func(e entry) float64 { return e.unattributed })
	h := max(300, 130+24*len(cats))
	return Chart{ID: "owners", Title: "Where the internal RAM went (by owner label)",
		Caption: "Internal heap in use at the steady phase's owner snapshot of every repetition at the largest N, by owner label (session indexes [0], [1], ... summed; every frame of a snapshot counted). Unattributed: internal total − free at that sample minus what the owners name (allocations without a label, allocator overhead), so each bar is the internal RAM in use. Reported by the board when heap tracing is built in.",
		Height:  h, Option: optionOf(bar)}, true
}
