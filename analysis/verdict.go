package analysis

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/wsbench/wsbench/analysis/stats"
	"github.com/wsbench/wsbench/internal/termsafe"
	"github.com/wsbench/wsbench/rundir"
)

// DefaultBaselineVariant is the variant the others are judged against
// when the matrix names none.
const DefaultBaselineVariant = "int"

// DefaultWSStackHeadroom is the websocket task stack headroom (bytes never
// used, ws_stack_hwm) below which a variant is flagged.
const DefaultWSStackHeadroom = 512

// Verdict metric names that are not cell metrics.
const (
	VerdictSessionsFit = "sessions_fit" // count: most sessions open in a sweep group (median over repetitions); Bound says limit or floor
	VerdictCellsFailed = MetricCellsFailed
)

// Flags of a verdict row.
const (
	FlagBelowThreshold = "below_threshold" // a figure crossed its threshold
	FlagLeak           = "leak"            // leak_per_cycle significantly above zero
	FlagNonZero        = "nonzero"         // a count of bad events is above zero
	FlagFewer          = "fewer"           // fewer sessions fit than with the baseline
)

// Bounds of a sessions_fit figure (Verdict.Bound, Verdict.BaselineBound).
const (
	// BoundLimit: a swept N above the figure held fewer sessions (median
	// over repetitions), so the figure is the most that fit.
	BoundLimit = "limit"
	// BoundFloor: every swept N held its sessions; the figure is the
	// largest N tried and at least that many fit (no limit reached).
	BoundFloor = "floor"
)

// Verdict is one figure of a variant judged against the baseline variant on
// the same board: Value and BaselineValue in Unit, Delta = Value -
// BaselineValue (for internal_free_steady a positive delta is internal RAM
// freed), its 95% interval and p-value where a test applies (NaN, null in
// JSON, where it does not), and Flag when the figure crosses a threshold.
// N is the swept N, or -1 for a figure of the whole variant (a fit across
// N, the worst over every scenario); Scenario says where the figure comes
// from.
type Verdict struct {
	Board         string  `json:"board"`
	Variant       string  `json:"variant"`
	Baseline      string  `json:"baseline"`
	N             int     `json:"n"`
	Scenario      string  `json:"scenario,omitempty"`
	Metric        string  `json:"metric"`
	Value         Float   `json:"value"`
	BaselineValue Float   `json:"baseline_value"`
	Delta         Float   `json:"delta"`
	Lo            Float   `json:"ci_low"`
	Hi            Float   `json:"ci_high"`
	P             Float   `json:"p"`
	Unit          string  `json:"unit"`
	Flag          string  `json:"flag"`
	Threshold     float64 `json:"threshold,omitempty"`
	// Bound and BaselineBound are set on sessions_fit rows only: "limit"
	// when a swept N above the figure held fewer sessions, "floor" when
	// every N tried held (the figure is the largest N tried, not a limit).
	Bound         string `json:"bound,omitempty"`
	BaselineBound string `json:"baseline_bound,omitempty"`
}

// VerdictLine is the plain sentence about one variant.
type VerdictLine struct {
	Board    string `json:"board"`
	Variant  string `json:"variant"`
	Baseline string `json:"baseline"`
	Text     string `json:"text"`
	// Parts are the clauses of Text ("; " between them); Flag marks a
	// clause about a figure past its threshold.
	Parts []VerdictPart `json:"parts"`
	// Flagged is true when any of the variant's rows has a flag.
	Flagged bool `json:"flagged"`
}

// VerdictPart is one clause of a verdict line.
type VerdictPart struct {
	Text string `json:"text"`
	Flag bool   `json:"flag,omitempty"`
}

// Judgement holds what the verdicts were judged with.
type Judgement struct {
	Baseline string `json:"baseline_variant"`
	// WSStackHeadroom: ws_stack_hwm below this many bytes is flagged.
	WSStackHeadroom float64 `json:"ws_stack_headroom"`
	Alpha           float64 `json:"alpha"`
}

// JudgementFromManifest reads baseline_variant and thresholds from the
// matrix recorded in a run's manifest; absent fields take the defaults.
func JudgementFromManifest(m rundir.Manifest) (Judgement, error) {
	j := Judgement{Baseline: DefaultBaselineVariant, WSStackHeadroom: DefaultWSStackHeadroom, Alpha: 0.05}
	if len(m.Matrix) == 0 {
		return j, nil
	}
	var mx struct {
		Baseline   string `json:"baseline_variant"`
		Thresholds struct {
			WSStackHeadroom *float64 `json:"ws_stack_headroom"`
		} `json:"thresholds"`
	}
	if err := json.Unmarshal(m.Matrix, &mx); err != nil {
		return j, fmt.Errorf("manifest matrix: %w", err)
	}
	if mx.Baseline != "" {
		j.Baseline = mx.Baseline
	}
	if mx.Thresholds.WSStackHeadroom != nil {
		j.WSStackHeadroom = *mx.Thresholds.WSStackHeadroom
	}
	return j, nil
}

// variantFigures gathers one variant's figures for judging.
type variantFigures struct {
	key VariantKey
	// sweepGroups are the sweep groups by N (labels pooled, sweepByN);
	// sweep[N][metric] are their per-repetition values.
	sweepGroups map[int]*GroupResult
	sweep       map[int]map[string][]float64
	cost        *CostResult
	sessionsFit float64
	hasSweep    bool
	// sessionsTried is the largest N of a sweep group with a
	// sessions_open figure (any label: a "limit" sweep counts too).
	sessionsTried int
	minFree       float64
	minFreeScen   string
	hwm           float64
	hwmScen       string
	hasHWM        bool
	leak          *Metric
	leakSig       bool
	counts        map[string]float64
	countScen     map[string][]string
	failed        int
	failedReason  string
	cells         int
}

func gatherFigures(s *Summary) (map[VariantKey]*variantFigures, []VariantKey) {
	by := map[VariantKey]*variantFigures{}
	var order []VariantKey
	get := func(k VariantKey) *variantFigures {
		v := by[k]
		if v == nil {
			v = &variantFigures{key: k, sweep: map[int]map[string][]float64{}, minFree: math.Inf(1), hwm: math.Inf(1),
				counts: map[string]float64{}, countScen: map[string][]string{}}
			by[k] = v
			order = append(order, k)
		}
		return v
	}
	sweeps, _ := sweepByN(s)
	for i := range s.Groups {
		g := &s.Groups[i]
		v := get(g.Key.VariantKey())
		if g.Key.Scenario == "sweep" {
			// The per-N figures of every sweep label at this N, pooled.
			v.sweepGroups = sweeps[g.Key.VariantKey()]
			pg := v.sweepGroups[g.Key.N]
			m := map[string][]float64{}
			for _, mt := range pg.Metrics {
				m[mt.Name] = mt.Values
			}
			v.sweep[g.Key.N] = m
			if so, ok := pg.Metric(MetricSessionsOpen); ok {
				v.hasSweep = true
				v.sessionsFit = max(v.sessionsFit, so.Value)
				v.sessionsTried = max(v.sessionsTried, g.Key.N)
			}
		}
		if lk, ok := g.Metric(MetricLeakPerCycle); ok && (v.leak == nil || lk.Value > v.leak.Value) {
			v.leak = &lk
		}
	}
	for i := range s.Cells {
		c := &s.Cells[i]
		v := get(c.Key.VariantKey())
		v.cells++
		label := c.Key.Label
		if label == "" {
			label = c.Key.Scenario
		}
		failed := c.Status == rundir.StatusFailed
		if failed {
			if v.failed == 0 {
				v.failedReason = c.Reason
			}
			v.failed++
		}
		// A failed cell's own figures stand for what it managed before it
		// failed (often nothing but the baseline): they are no variant's
		// lowest free RAM or headroom. Its counts still count.
		if m, ok := c.Metric(MetricInternalFreeMin); ok && !failed && m.Value < v.minFree {
			v.minFree, v.minFreeScen = m.Value, label
		}
		if m, ok := c.Metric(MetricWSStackHWM); ok && !failed && m.Value < v.hwm {
			v.hwm, v.hwmScen, v.hasHWM = m.Value, label, true
		}
		if m, ok := c.Metric(MetricLeakPerCycle); ok && m.Significant != nil && *m.Significant && m.Value > 0 {
			v.leakSig = true
		}
		for _, name := range []string{MetricResets, MetricWatchdogs, MetricSessionFailures, MetricStackOverflows, MetricPanics} {
			if m, ok := c.Metric(name); ok && m.Value > 0 {
				v.counts[name] += m.Value
				if !slices.Contains(v.countScen[name], label) {
					v.countScen[name] = append(v.countScen[name], label)
				}
			}
		}
	}
	for i := range s.Costs {
		get(s.Costs[i].Variant).cost = &s.Costs[i]
	}
	sort.Slice(order, func(i, j int) bool { return variantLess(order[i], order[j]) })
	return by, order
}

func nan() Float { return Float(math.NaN()) }

// Judge compares every variant with the baseline variant of its board
// (same behaviour and branch) and returns the verdict rows and one line per
// variant, the baseline's own line first. A board without the baseline
// variant gets a line saying so.
func Judge(s *Summary, j Judgement) ([]Verdict, []VerdictLine) {
	if j.Alpha == 0 {
		j.Alpha = 0.05
	}
	by, order := gatherFigures(s)
	var rows []Verdict
	var lines []VerdictLine
	sortBaselineFirst(order, func(k VariantKey) VariantKey { return k }, j.Baseline)
	for _, k := range order {
		v := by[k]
		bk := k
		bk.Variant = j.Baseline
		base := by[bk]
		if k.Variant == j.Baseline {
			r, line := judgeOne(v, v, j)
			rows = append(rows, r...)
			lines = append(lines, line)
			continue
		}
		if base == nil {
			lines = append(lines, VerdictLine{Board: k.Board, Variant: k.Variant, Baseline: j.Baseline,
				Text: fmt.Sprintf("%s: no baseline variant %q on board %s to compare with (set baseline_variant in the matrix)", k.Variant, j.Baseline, k.Board)})
			continue
		}
		r, line := judgeOne(v, base, j)
		rows = append(rows, r...)
		lines = append(lines, line)
	}
	return rows, lines
}

// judgeOne judges v against base (v == base for the baseline's own line).
func judgeOne(v, base *variantFigures, j Judgement) ([]Verdict, VerdictLine) {
	self := v == base
	row := func(n int, scen, metric, unit string) Verdict {
		return Verdict{Board: v.key.Board, Variant: v.key.Variant, Baseline: base.key.Variant, N: n, Scenario: scen, Metric: metric,
			Value: nan(), BaselineValue: nan(), Delta: nan(), Lo: nan(), Hi: nan(), P: nan(), Unit: unit}
	}
	var rows []Verdict
	var parts []VerdictPart
	flagged := false
	add := func(text string, flag bool) { parts = append(parts, VerdictPart{Text: text, Flag: flag}) }

	// Internal RAM freed at each swept N: median difference (Hodges-Lehmann)
	// with its interval, Mann-Whitney p.
	var ns []int
	for n := range v.sweep {
		if _, ok := base.sweep[n]; ok {
			ns = append(ns, n)
		}
	}
	sort.Ints(ns)
	var fr []freedAt
	for _, n := range ns {
		for _, metric := range []string{MetricInternalFreeSteady, MetricSessionsOpen, MetricInternalFreeMin, MetricWSStackHWM} {
			a, b := base.sweep[n][metric], v.sweep[n][metric]
			if len(a) == 0 || len(b) == 0 {
				continue
			}
			r := row(n, "sweep", metric, UnitBytes)
			r.Value, r.BaselineValue = Float(stats.Median(b, Confidence).Center), Float(stats.Median(a, Confidence).Center)
			if metric == MetricSessionsOpen {
				r.Unit = UnitCount
				if !self && r.Value < r.BaselineValue {
					r.Flag = FlagFewer
				}
			}
			if metric == MetricWSStackHWM {
				r.Threshold = j.WSStackHeadroom
				if float64(r.Value) < j.WSStackHeadroom {
					r.Flag = FlagBelowThreshold
				}
			}
			switch {
			case self:
			case metric == MetricSessionsOpen:
				// A count of sessions: the difference of the medians, no test.
				r.Delta = r.Value - r.BaselineValue
			default:
				sh := stats.ShiftOf(a, b, Confidence)
				r.Delta, r.Lo, r.Hi, r.P = Float(sh.Delta), Float(sh.Lo), Float(sh.Hi), Float(sh.P)
				if metric == MetricInternalFreeSteady && n > 0 {
					fr = append(fr, freedAt{n, sh})
				}
			}
			rows = append(rows, r)
		}
	}
	switch {
	case v.cells > 0 && v.failed == v.cells:
		// Nothing was measured: say so first.
		add(fmt.Sprintf("%s: all %d cells failed (%s)", v.key.Variant, v.cells, v.failedReason), true)
	case !self:
		add(freedText(v.key.Variant, fr, j.Alpha), false)
	default:
		add(v.key.Variant+" is the baseline", false)
	}

	// The fitted costs.
	if v.cost != nil && base.cost != nil {
		for _, metric := range []string{MetricFixedCost, MetricPerSessionCost} {
			m, ok1 := v.cost.Metric(metric)
			bm, ok2 := base.cost.Metric(metric)
			if !ok1 || !ok2 {
				continue
			}
			r := row(-1, "sweep", metric, m.Unit)
			r.Value, r.BaselineValue = Float(m.Value), Float(bm.Value)
			if !self {
				if d, err := CostDifference(base.cost, v.cost, metric); err == nil {
					r.Delta, r.Lo, r.Hi, r.P = Float(d.Delta), Float(d.Lo), Float(d.Hi), Float(d.P)
				}
			} else {
				r.Lo, r.Hi = m.Lo, m.Hi
			}
			rows = append(rows, r)
		}
	}

	// Sessions that fit: a limit when a swept N above the figure held
	// fewer, a floor when every N tried held (then the board may fit more).
	if v.hasSweep {
		r := row(-1, "sweep", VerdictSessionsFit, UnitCount)
		r.Value, r.BaselineValue, r.Delta = Float(v.sessionsFit), Float(base.sessionsFit), Float(v.sessionsFit-base.sessionsFit)
		r.Bound = v.sessionsBound()
		if base.hasSweep {
			r.BaselineBound = base.sessionsBound()
		} else {
			r.BaselineValue, r.Delta = nan(), nan()
		}
		txt := sessionsText(v.sessionsFit, v.sessionsTried)
		switch {
		case self:
		case !base.hasSweep:
			txt += fmt.Sprintf(", no sweep with %s", base.key.Variant)
		case v.sessionsFit == base.sessionsFit && r.Bound == r.BaselineBound:
			txt += ", as with " + base.key.Variant
		default:
			// Fewer only when the variant's own limit lies below what the
			// baseline is shown to fit: a floor below the baseline's figure
			// says the variant was not tried that far, not that it fits fewer.
			if r.Bound == BoundLimit && v.sessionsFit < base.sessionsFit {
				r.Flag, flagged = FlagFewer, true
			}
			if r.BaselineBound == BoundLimit {
				txt += fmt.Sprintf(", %s fits %g", base.key.Variant, base.sessionsFit)
			} else {
				txt += fmt.Sprintf(", %s fits all %g tried", base.key.Variant, base.sessionsFit)
			}
		}
		add(txt, r.Flag != "")
		rows = append(rows, r)
	}

	// Lowest free internal RAM over every cell.
	if !math.IsInf(v.minFree, 1) {
		r := row(-1, v.minFreeScen, MetricInternalFreeMin, UnitBytes)
		r.Value = Float(v.minFree)
		txt := fmt.Sprintf("lowest free internal %s (%s)", KiB(v.minFree), v.minFreeScen)
		if !math.IsInf(base.minFree, 1) {
			r.BaselineValue, r.Delta = Float(base.minFree), Float(v.minFree-base.minFree)
			if !self {
				txt += fmt.Sprintf(", %s with %s", KiB(base.minFree), base.key.Variant)
			}
		}
		add(txt, false)
		rows = append(rows, r)
	}

	// Leak per churn cycle.
	if v.leak != nil {
		r := row(-1, "churn", MetricLeakPerCycle, UnitBytesCycle)
		r.Value, r.Lo, r.Hi = Float(v.leak.Value), v.leak.Lo, v.leak.Hi
		if base.leak != nil {
			r.BaselineValue, r.Delta = Float(base.leak.Value), Float(v.leak.Value-base.leak.Value)
		}
		if v.leakSig {
			r.Flag, flagged = FlagLeak, true
			add(fmt.Sprintf("leaks %.0f B per cycle", v.leak.Value), true)
		} else {
			add("no leak", false)
		}
		rows = append(rows, r)
	} else {
		add("leak not measured (no churn figures)", false)
	}

	// Websocket task stack headroom: the least over every cell.
	if v.hasHWM {
		r := row(-1, v.hwmScen, MetricWSStackHWM, UnitBytes)
		r.Value, r.Threshold = Float(v.hwm), j.WSStackHeadroom
		if base.hasHWM {
			r.BaselineValue, r.Delta = Float(base.hwm), Float(v.hwm-base.hwm)
		}
		txt := fmt.Sprintf("ws stack headroom %.0f B (%s)", v.hwm, v.hwmScen)
		if v.hwm < j.WSStackHeadroom {
			r.Flag, flagged = FlagBelowThreshold, true
			txt += fmt.Sprintf(", below %.0f B", j.WSStackHeadroom)
		}
		add(txt, r.Flag != "")
		rows = append(rows, r)
	}

	// Counts of things that went wrong.
	var bad []VerdictPart
	for _, c := range []struct{ metric, what string }{
		{MetricResets, "reset"}, {MetricWatchdogs, "watchdog trigger"}, {MetricStackOverflows, "stack overflow"},
		{MetricPanics, "panic"}, {MetricSessionFailures, "failed session"},
	} {
		r := row(-1, strings.Join(v.countScen[c.metric], ","), c.metric, UnitCount)
		r.Value, r.BaselineValue, r.Delta = Float(v.counts[c.metric]), Float(base.counts[c.metric]), Float(v.counts[c.metric]-base.counts[c.metric])
		// Sessions that fail for want of memory at large N are what a sweep
		// looks for: flagged only when more fail than with the baseline.
		if v.counts[c.metric] > 0 && (c.metric != MetricSessionFailures || v.counts[c.metric] > base.counts[c.metric]) {
			r.Flag, flagged = FlagNonZero, true
		}
		if v.counts[c.metric] > 0 {
			txt := fmt.Sprintf("%g %s", v.counts[c.metric], plural(c.what, v.counts[c.metric]))
			txt += " (" + strings.Join(v.countScen[c.metric], ", ")
			if !self {
				txt += fmt.Sprintf("; %g with %s", base.counts[c.metric], base.key.Variant)
			}
			bad = append(bad, VerdictPart{Text: txt + ")", Flag: r.Flag != ""})
		}
		rows = append(rows, r)
	}
	r := row(-1, "", VerdictCellsFailed, UnitCount)
	r.Value, r.BaselineValue, r.Delta = Float(v.failed), Float(base.failed), Float(v.failed-base.failed)
	if v.failed > 0 {
		r.Flag, flagged = FlagNonZero, true
		if v.failed < v.cells {
			bad = append(bad, VerdictPart{Text: fmt.Sprintf("%d of %d cells failed (%s)", v.failed, v.cells, v.failedReason), Flag: true})
		}
	}
	rows = append(rows, r)
	if len(bad) == 0 {
		add("no resets, watchdogs or failures", false)
	} else {
		parts = append(parts, bad...)
	}
	texts := make([]string, len(parts))
	for i, p := range parts {
		texts[i] = p.Text
	}
	return rows, VerdictLine{Board: v.key.Board, Variant: v.key.Variant, Baseline: base.key.Variant, Text: strings.Join(texts, "; "), Parts: parts, Flagged: flagged}
}

// sessionsBound is BoundLimit when a sweep group above the figure held
// fewer sessions, else BoundFloor.
func (v *variantFigures) sessionsBound() string {
	if float64(v.sessionsTried) > v.sessionsFit {
		return BoundLimit
	}
	return BoundFloor
}

// sessionsText says how many sessions fit and whether that is a limit
// (tried > fit: an N above it held fewer) or a floor (every N tried held).
func sessionsText(fit float64, tried int) string {
	if float64(tried) <= fit {
		switch fit {
		case 0:
			return "no sessions tried (N=0 only)"
		case 1:
			return "the 1 session tried fits (no limit reached)"
		}
		return fmt.Sprintf("all %g tried fit (no limit reached)", fit)
	}
	s := fmt.Sprintf("%g sessions fit", fit)
	if fit == 1 {
		s = "1 session fits"
	}
	if fit == math.Trunc(fit) {
		return s + fmt.Sprintf(" (the %s failed)", ordinal(int(fit)+1))
	}
	return s + fmt.Sprintf(" (median over repetitions; N=%d held fewer)", int(math.Ceil(fit)))
}

// ordinal is 1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st.
func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprint(n) + suffix
}

func plural(s string, n float64) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// freedAt is the internal RAM a variant frees at one swept N.
type freedAt struct {
	n     int
	shift stats.Shift
}

// KiB formats bytes as "4.0 KiB", or "812 B" below 1 KiB.
func KiB(v float64) string {
	if math.Abs(v) < 1024 {
		return fmt.Sprintf("%.0f B", v)
	}
	return fmt.Sprintf("%.1f KiB", v/1024)
}

// withInterval formats v [lo, hi] in one unit, the unit once at the end:
// "4.0 KiB [3.9, 4.1]".
func withInterval(v, lo, hi float64) string {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return KiB(v)
	}
	if math.Max(math.Abs(v), math.Max(math.Abs(lo), math.Abs(hi))) < 1024 {
		return fmt.Sprintf("%.0f B [%.0f, %.0f]", v, lo, hi)
	}
	return fmt.Sprintf("%.1f KiB [%.1f, %.1f]", v/1024, lo/1024, hi/1024)
}

// pText formats a p-value for a verdict line.
func pText(p float64) string {
	switch {
	case math.IsNaN(p):
		return "no test"
	case p < 0.001:
		return "p<0.001"
	case p < 0.01:
		return "p<0.01"
	default:
		return fmt.Sprintf("p=%.2g", p)
	}
}

// freedText says how much internal RAM a variant frees at the swept N >= 1.
func freedText(variant string, fr []freedAt, alpha float64) string {
	if len(fr) == 0 {
		return variant + ": internal RAM freed not measured (no sweep cells with sessions on both variants)"
	}
	var deltas []float64
	lo, hi, maxP := math.Inf(1), math.Inf(-1), 0.0
	intervals, sig, anySig := true, true, false
	for _, f := range fr {
		deltas = append(deltas, f.shift.Delta)
		if math.IsNaN(f.shift.Lo) {
			intervals = false
		} else {
			lo, hi = math.Min(lo, f.shift.Lo), math.Max(hi, f.shift.Hi)
		}
		maxP = math.Max(maxP, f.shift.P)
		if f.shift.P <= alpha {
			anySig = true
		} else {
			sig = false
		}
	}
	med := stats.Median(deltas, Confidence).Center
	similar := true
	for _, d := range deltas {
		if math.Abs(d-med) > math.Max(256, 0.05*math.Abs(med)) {
			similar = false
		}
	}
	where := "at every N"
	if fr[0].n > 0 && len(fr) > 1 {
		where = fmt.Sprintf("at every N from %d to %d", fr[0].n, fr[len(fr)-1].n)
	} else if len(fr) == 1 {
		where = fmt.Sprintf("at N=%d", fr[0].n)
	}
	amount := func(d, lo, hi float64) string {
		if d < 0 {
			return withInterval(-d, -hi, -lo) + " more"
		}
		return withInterval(d, lo, hi)
	}
	if !intervals {
		lo, hi = math.NaN(), math.NaN()
	}
	note := ""
	if !intervals {
		note = ", no interval: fewer than 6 repetitions"
	}
	if similar {
		switch {
		case sig && med < 0:
			return fmt.Sprintf("%s takes %s internal RAM %s (%s%s)", variant, amount(med, lo, hi), where, pText(maxP), note)
		case sig:
			return fmt.Sprintf("%s frees %s of internal RAM %s (%s%s)", variant, amount(med, lo, hi), where, pText(maxP), note)
		case !anySig:
			return fmt.Sprintf("%s: internal RAM freed %s %s, not significant (%s%s)", variant, withInterval(med, lo, hi), where, pText(maxP), note)
		}
	}
	var each []string
	for _, f := range fr {
		t := fmt.Sprintf("N=%d %s", f.n, withInterval(f.shift.Delta, f.shift.Lo, f.shift.Hi))
		if f.shift.P > alpha {
			t += " ~"
		}
		each = append(each, t)
	}
	return fmt.Sprintf("%s frees internal RAM: %s (~: not significant at %.2g%s)", variant, strings.Join(each, ", "), alpha, note)
}

// WriteVerdicts writes the verdict lines of s, one per variant, for a
// terminal: each line names its board when the run has more than one.
func WriteVerdicts(w io.Writer, s *Summary) error {
	boards := map[string]bool{}
	for _, l := range s.VerdictLines {
		boards[l.Board] = true
	}
	for _, l := range s.VerdictLines {
		prefix := ""
		if len(boards) > 1 {
			prefix = l.Board + ": "
		}
		mark := " "
		if l.Flagged {
			mark = "!"
		}
		if _, err := fmt.Fprintf(w, "%s %s%s\n", mark, termSafe(prefix), termSafe(l.Text)); err != nil {
			return err
		}
	}
	return nil
}

// Overview is what one variant on one board came to, with one definition
// per figure for every output (terminal, report, verdicts): the worst of a
// figure is over every cell of the variant, and Scenario fields say which
// scenario (label) it came from.
type Overview struct {
	Key  VariantKey
	Cost *CostResult
	// Sweep holds the sweep groups by N; sweep scenarios (labels) asking
	// for the same N are pooled into one group, as in the cost fit.
	Sweep map[int]*GroupResult
	// SessionsFit is the most sessions open in a sweep group (median over
	// repetitions); HasSweep says whether there was a sweep.
	// SessionsTried is the largest N of those groups; SessionsLimit is true
	// when a group above SessionsFit held fewer (the figure is a limit),
	// false when every N tried held (a floor: at least that many fit).
	SessionsFit   float64
	HasSweep      bool
	SessionsTried int
	SessionsLimit bool
	// MinFree is the least internal_free_min of any cell.
	MinFree     float64
	MinFreeScen string
	HasMinFree  bool
	// HWM is the least ws_stack_hwm of any cell.
	HWM     float64
	HWMScen string
	HasHWM  bool
	// Leak is the largest leak_per_cycle group median; LeakSig is set when
	// some cell's leak interval lies above zero.
	Leak    *Metric
	LeakSig bool
	// Counts are totals over every cell: resets, watchdogs, stack_overflows,
	// panics, session_failures; CountScen the scenarios they happened in.
	Counts    map[string]float64
	CountScen map[string][]string
	// Failed cells of Cells, and the first one's reason.
	Failed       int
	FailedReason string
	Cells        int
}

// Overviews returns one Overview per variant and board, in order.
func Overviews(s *Summary) []Overview {
	by, order := gatherFigures(s)
	var out []Overview
	for _, k := range order {
		v := by[k]
		o := Overview{Key: k, Cost: v.cost, Sweep: v.sweepGroups, SessionsFit: v.sessionsFit, HasSweep: v.hasSweep,
			SessionsTried: v.sessionsTried, SessionsLimit: v.sessionsBound() == BoundLimit,
			MinFree: v.minFree, MinFreeScen: v.minFreeScen, HasMinFree: !math.IsInf(v.minFree, 1),
			HWM: v.hwm, HWMScen: v.hwmScen, HasHWM: v.hasHWM, Leak: v.leak, LeakSig: v.leakSig,
			Counts: v.counts, CountScen: v.countScen, Failed: v.failed, FailedReason: v.failedReason, Cells: v.cells}
		if o.Sweep == nil {
			o.Sweep = map[int]*GroupResult{}
		}
		out = append(out, o)
	}
	return out
}

// OrderedOverviews is Overviews sorted as the verdicts are: by board, the
// baseline variant first on each board, the others in their order.
func OrderedOverviews(s *Summary) []Overview {
	ovs := Overviews(s)
	sortBaselineFirst(ovs, func(o Overview) VariantKey { return o.Key }, s.Judgement.Baseline)
	return ovs
}

// sortBaselineFirst sorts xs by board, the baseline variant first on each
// board, keeping the order of the others.
func sortBaselineFirst[T any](xs []T, key func(T) VariantKey, baseline string) {
	sort.SliceStable(xs, func(i, j int) bool {
		a, b := key(xs[i]), key(xs[j])
		if a.Board != b.Board {
			return a.Board < b.Board
		}
		return a.Variant == baseline && b.Variant != baseline
	})
}

// CountWarnings counts every warning of a summary: the run's, every
// cell's and every fit's (group warnings repeat their cells').
func CountWarnings(s *Summary) int {
	n := len(s.Warnings)
	for _, c := range s.Cells {
		n += len(c.Warnings)
	}
	for _, c := range s.Costs {
		n += len(c.Warnings)
	}
	return n
}

// WriteVerdictTable writes the verdict rows that compare a variant with
// its baseline as a Markdown table: internal RAM freed at each N, the
// fitted costs, and every flagged row.
func WriteVerdictTable(w io.Writer, s *Summary) error {
	if _, err := fmt.Fprintf(w, "| board | variant | vs | N | figure | variant | %s | delta | 95%% interval | p | flag |\n|---|---|---|---|---|---|---|---|---|---|---|\n", "baseline"); err != nil {
		return err
	}
	for _, v := range s.Verdicts {
		if v.Variant == v.Baseline && v.Flag == "" {
			continue
		}
		switch v.Metric {
		case MetricInternalFreeSteady, MetricFixedCost, MetricPerSessionCost:
		default:
			if v.Flag == "" {
				continue
			}
		}
		n := fmt.Sprint(v.N)
		if v.N < 0 {
			n = "all"
		}
		interval := ""
		if !math.IsNaN(float64(v.Lo)) && !math.IsNaN(float64(v.Hi)) {
			interval = fmt.Sprintf("[%s, %s]", num(float64(v.Lo)), num(float64(v.Hi)))
		}
		p := ""
		if !math.IsNaN(float64(v.P)) {
			p = fmt.Sprintf("%.2g", float64(v.P))
		}
		name := v.Metric
		if v.Scenario != "" {
			name += " (" + v.Scenario + ")"
		}
		if _, err := fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", verdictMD(v.Board), verdictMD(v.Variant), verdictMD(v.Baseline), n, verdictMD(name),
			num(float64(v.Value))+" "+v.Unit, num(float64(v.BaselineValue)), num(float64(v.Delta)), interval, p, v.Flag); err != nil {
			return err
		}
	}
	return nil
}

func num(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	if v == math.Trunc(v) || math.Abs(v) >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// verdictMD keeps a board-supplied name from breaking a Markdown table or
// a terminal.
func verdictMD(s string) string {
	return strings.NewReplacer("|", "\\|", "<", "&lt;", ">", "&gt;").Replace(termSafe(s))
}

// termSafe makes a board-supplied string safe for a terminal.
func termSafe(s string) string { return termsafe.String(s) }
