package analysis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/wsbench/wsbench/analysis/stats"
	"github.com/wsbench/wsbench/rundir"
	"gonum.org/v1/gonum/stat/distuv"
)

// AnalyzeRun analyzes every cell of a run directory, groups repetitions and
// fits costs across N. It does not write summary.json (WriteSummary does).
func AnalyzeRun(ctx context.Context, runDir string) (*Summary, error) {
	cells, bad, err := rundir.ScanCells(runDir)
	if err != nil {
		return nil, err
	}
	s := &Summary{Schema: SchemaVersion, Generated: time.Now().UTC(), Confidence: Confidence, Definitions: maps.Clone(definitions)}
	for _, e := range bad {
		s.Warnings = append(s.Warnings, fmt.Sprintf("cell left out: %v", e))
	}
	s.Judgement = Judgement{Baseline: DefaultBaselineVariant, WSStackHeadroom: DefaultWSStackHeadroom, Alpha: 0.05}
	if m, err := rundir.ReadManifest(runDir); err == nil {
		s.RunID = m.RunID
		j, err := JudgementFromManifest(m)
		if err != nil {
			s.Warnings = append(s.Warnings, fmt.Sprintf("manifest: %v: verdicts use the defaults", err))
		}
		s.Judgement = j
	} else if !errors.Is(err, os.ErrNotExist) {
		s.Warnings = append(s.Warnings, fmt.Sprintf("manifest: %v", err))
	}
	if len(cells) == 0 {
		return nil, fmt.Errorf("analyze %s: no cells", runDir)
	}
	for _, c := range cells {
		r, err := AnalyzeCell(ctx, rundir.CellDir(runDir, c.ID), c)
		if err != nil {
			return nil, err
		}
		s.Cells = append(s.Cells, r)
	}
	// Failed cells first: a run whose cells failed has fewer figures, and
	// the report and the terminal show the first warning.
	failed, example := 0, ""
	for _, c := range s.Cells {
		if c.Status == rundir.StatusFailed {
			if failed == 0 {
				example = c.ID + ": " + c.Reason
			}
			failed++
		}
	}
	if failed > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d of %d cells failed and have no figures beyond what they captured, e.g. %s", failed, len(s.Cells), example))
	}
	s.Groups = GroupCells(s.Cells)
	few := 0
	for _, g := range s.Groups {
		if len(g.Cells) < 6 {
			few++
		}
	}
	if few > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d of %d groups have fewer than 6 repetitions: their medians have no 95%% interval (benchmath needs >= 6) and Compare cannot find them significantly different", few, len(s.Groups)))
	}
	s.Costs = FitCosts(s.Cells)
	_, pooled := sweepByN(s)
	s.Warnings = append(s.Warnings, pooled...)
	kinds, kindWarnings := boardKinds(s.Cells)
	s.BoardKinds = kinds
	s.Warnings = append(s.Warnings, kindWarnings...)
	s.Verdicts, s.VerdictLines = Judge(s, s.Judgement)
	static, warns, err := readStatic(runDir)
	if err != nil {
		return nil, fmt.Errorf("analyze %s: %w", runDir, err)
	}
	s.Static = static
	s.Warnings = append(s.Warnings, warns...)
	return s, nil
}

// keyLess orders keys by board, variant, behaviour, branch, scenario, label, N.
func keyLess(a, b Key) bool {
	if a.VariantKey() != b.VariantKey() {
		return variantLess(a.VariantKey(), b.VariantKey())
	}
	if a.Scenario != b.Scenario {
		return a.Scenario < b.Scenario
	}
	if a.Label != b.Label {
		return a.Label < b.Label
	}
	return a.N < b.N
}

func variantLess(a, b VariantKey) bool {
	if a.Board != b.Board {
		return a.Board < b.Board
	}
	if a.Variant != b.Variant {
		return a.Variant < b.Variant
	}
	if a.Behaviour != b.Behaviour {
		return a.Behaviour < b.Behaviour
	}
	return a.Branch < b.Branch
}

// GroupCells groups cell results by Key and summarizes each metric across
// repetitions with the median and its 95% confidence interval
// (benchmath.AssumeNothing). Values from cells with a reset stay in, with a
// warning on the group. A failed cell's figures stand for what it managed
// before it failed (often only the boot baseline, healthier than any cell
// that ran): only its counts of events (resets, watchdogs, failed sessions,
// ...) enter the group, as in the verdicts.
func GroupCells(cells []CellResult) []GroupResult {
	idx := map[Key]int{}
	var groups []GroupResult
	vals := map[Key]map[string][]float64{}
	for _, c := range cells {
		i, ok := idx[c.Key]
		if !ok {
			i = len(groups)
			idx[c.Key] = i
			groups = append(groups, GroupResult{Key: c.Key})
			vals[c.Key] = map[string][]float64{}
		}
		g := &groups[i]
		g.Cells = append(g.Cells, c.ID)
		for _, w := range c.Warnings {
			g.Warnings = append(g.Warnings, c.ID+": "+w)
		}
		failed := c.Status == rundir.StatusFailed
		for _, m := range c.Metrics {
			if info := metricInfo[m.Name]; failed && (info.Unit != UnitCount || info.Better != LowerIsBetter) {
				continue
			}
			vals[c.Key][m.Name] = append(vals[c.Key][m.Name], m.Value)
		}
	}
	for i := range groups {
		g := &groups[i]
		names := make([]string, 0, len(vals[g.Key]))
		for n := range vals[g.Key] {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			v := vals[g.Key][name]
			sum := stats.Median(v, Confidence)
			m := Metric{Name: name, Unit: metricInfo[name].Unit, Value: sum.Center, Lo: Float(sum.Lo), Hi: Float(sum.Hi),
				Confidence: sum.Confidence, N: len(v), Values: slices.Clone(v)}
			if !m.HasInterval() {
				m.Lo, m.Hi, m.Confidence = Float(math.NaN()), Float(math.NaN()), 0
			}
			g.Metrics = append(g.Metrics, m)
		}
	}
	sort.SliceStable(groups, func(i, j int) bool { return keyLess(groups[i].Key, groups[j].Key) })
	return groups
}

// FitCosts fits, for each variant, steady free internal RAM of every sweep
// cell (every repetition is a point) against the sessions open. See
// CostResult for the model.
func FitCosts(cells []CellResult) []CostResult {
	type pts struct {
		x, free, base []float64 // sessions open, steady free, baseline free (NaN when missing)
		psram, psN    []float64
		zero          []float64 // steady free of the N=0 cells
		ns            map[int]bool
		warnings      []string
	}
	by := map[VariantKey]*pts{}
	var order []VariantKey
	for _, c := range cells {
		if c.Key.Scenario != "sweep" {
			continue
		}
		free, ok := c.Metric(MetricInternalFreeSteady)
		if !ok {
			continue
		}
		vk := c.Key.VariantKey()
		p := by[vk]
		if p == nil {
			p = &pts{ns: map[int]bool{}}
			by[vk] = p
			order = append(order, vk)
		}
		// x is the number of sessions actually open: a session that failed
		// costs nothing and must not dilute the slope.
		x := float64(c.Key.N)
		if so, ok := c.Metric(MetricSessionsOpen); ok {
			if so.Value != x {
				p.warnings = append(p.warnings, fmt.Sprintf("cell %s had %g of %d sessions open: fitted at %g", c.ID, so.Value, c.Key.N, so.Value))
			}
			x = so.Value
		}
		p.x = append(p.x, x)
		p.free = append(p.free, free.Value)
		b := math.NaN()
		if m, ok := c.Metric(MetricInternalFreeBaseline); ok {
			b = m.Value
		}
		p.base = append(p.base, b)
		if c.Key.N == 0 {
			p.zero = append(p.zero, free.Value)
		}
		p.ns[c.Key.N] = true
		if ps, ok := c.Metric(MetricPSRAMUsed); ok {
			p.psN = append(p.psN, x)
			p.psram = append(p.psram, ps.Value)
		}
		if r, ok := c.Metric(MetricResets); ok && r.Value > 0 {
			p.warnings = append(p.warnings, fmt.Sprintf("cell %s had a reset and is in the fit", c.ID))
		}
	}
	sort.Slice(order, func(i, j int) bool { return variantLess(order[i], order[j]) })
	var out []CostResult
	for _, vk := range order {
		p := by[vk]
		cr := CostResult{Variant: vk, Scenario: "sweep", Warnings: p.warnings}
		for n := range p.ns {
			cr.Ns = append(cr.Ns, n)
		}
		sort.Ints(cr.Ns)
		if len(p.zero) > 0 {
			z := stats.Median(p.zero, Confidence)
			m := Metric{Name: MetricSteadyFreeAtZero, Unit: UnitBytes, Value: z.Center, Lo: Float(z.Lo), Hi: Float(z.Hi), Confidence: z.Confidence, N: len(p.zero), Values: slices.Clone(p.zero)}
			if !m.HasInterval() {
				m.Lo, m.Hi, m.Confidence = Float(math.NaN()), Float(math.NaN()), 0
			}
			cr.Metrics = append(cr.Metrics, m)
		}
		cf, err := fitCost(p.x, p.free, p.base)
		if err != nil {
			cr.Warnings = append(cr.Warnings, fmt.Sprintf("no cost fit: %v (have %d cells at N=%v)", err, len(p.x), cr.Ns))
			out = append(out, cr)
			continue
		}
		cr.Model = CostModel
		cr.SlopeSE, cr.FixedSE, cr.ResidualSE = cf.perSessionSE, cf.fixedSE, cf.residualSE
		cr.SlopeDF, cr.FixedDF, cr.B0 = cf.slopeDF, cf.fixedDF, cf.b0
		slo, shi := tInterval(cf.perSession, cf.perSessionSE, float64(cf.slopeDF))
		flo, fhi := tInterval(cf.fixed, cf.fixedSE, cf.fixedDF)
		cr.Metrics = append(cr.Metrics,
			Metric{Name: MetricPerSessionCost, Unit: UnitBytesSession, Value: cf.perSession, Lo: Float(slo), Hi: Float(shi), Confidence: Confidence, N: cf.slopeDF + 2},
			Metric{Name: MetricFixedCost, Unit: UnitBytes, Value: cf.fixed, Lo: Float(flo), Hi: Float(fhi), Confidence: Confidence, N: cf.n})
		if cf.warning != "" {
			cr.Warnings = append(cr.Warnings, cf.warning)
		}
		if pf, err := stats.LinearFit(p.psN, p.psram, Confidence); err == nil {
			cr.Metrics = append(cr.Metrics, Metric{Name: MetricPerSessionPSRAM, Unit: UnitBytesSession, Value: pf.Slope,
				Lo: Float(pf.SlopeLo), Hi: Float(pf.SlopeHi), Confidence: Confidence, N: pf.N})
		}
		out = append(out, cr)
	}
	return out
}

// CostModel states the model FitCosts fits.
const CostModel = "free = b0 - fixed*1[n>=1] - per_session*n, n = TLS sessions open in steady. " +
	"Session 0 is the websocket client, so fixed is what the client takes once besides its own TLS session " +
	"(task stack, client struct and config, event loop) and per_session is one TLS session. " +
	"b0 is the mean steady free of the N=0 cells (without N=0 cells: of every sweep cell's baseline phase); " +
	"b0 - fixed and per_session come from a least-squares line through the cells with sessions open; " +
	"each part has its own noise (no session means no network traffic), so fixed = b0 - (b0 - fixed) gets a Welch t interval; 95% intervals"

type costFit struct {
	b0                       float64
	perSession, perSessionSE float64
	fixed, fixedSE           float64
	slopeDF                  int
	fixedDF                  float64
	n                        int
	residualSE               float64
	warning                  string
}

// fitCost fits CostModel to sessions open x, steady free y and baseline
// free base (NaN when a cell has none).
func fitCost(x, y, base []float64) (costFit, error) {
	var x1, y1, zero []float64
	distinct := map[float64]bool{}
	for i, v := range x {
		if v >= 1 {
			distinct[v] = true
			x1, y1 = append(x1, v), append(y1, y[i])
		} else if v == 0 {
			zero = append(zero, y[i])
		}
	}
	if len(distinct) < 2 {
		return costFit{}, fmt.Errorf("need cells at 2 or more distinct numbers of open sessions >= 1 to tell the one-time cost from the per-session cost, have %d", len(distinct))
	}
	line, err := stats.LinearFit(x1, y1, Confidence)
	if err != nil {
		return costFit{}, err
	}
	var warning string
	if len(zero) == 0 {
		for _, b := range base {
			if !math.IsNaN(b) {
				zero = append(zero, b)
			}
		}
		warning = "no cells at N=0: b0, free with no session, is the mean of every sweep cell's baseline phase"
	}
	if len(zero) < 2 {
		return costFit{}, fmt.Errorf("need 2 or more measurements of free internal RAM with no session (N=0 cells or baseline phases), have %d", len(zero))
	}
	b0, b0SE := meanSE(zero)
	cf := costFit{b0: b0, perSession: -line.Slope, perSessionSE: line.SlopeSE, slopeDF: line.N - 2, n: len(x1) + len(zero),
		fixed: b0 - line.Intercept, residualSE: line.ResidualSE, warning: warning}
	v0, v1 := b0SE*b0SE, line.InterceptSE*line.InterceptSE
	cf.fixedSE = math.Sqrt(v0 + v1)
	switch {
	case v0 == 0 && v1 == 0:
		cf.fixedDF = float64(len(zero) - 1 + line.N - 2)
	default:
		cf.fixedDF = (v0 + v1) * (v0 + v1) / (v0*v0/float64(len(zero)-1) + v1*v1/float64(line.N-2))
	}
	return cf, nil
}

// meanSE returns the mean of v and its standard error.
func meanSE(v []float64) (float64, float64) {
	var m float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(v)-1) / float64(len(v)))
}

// tInterval is est ± the t quantile at Confidence with df degrees of
// freedom times se.
func tInterval(est, se, df float64) (float64, float64) {
	if se == 0 {
		return est, est
	}
	h := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile((1+Confidence)/2) * se
	return est - h, est + h
}

// Difference is other - base of one fitted cost with its 95% interval and
// the two-sided p-value of "no difference": a Welch t on the two fits'
// estimates and standard errors (Welch-Satterthwaite degrees of freedom).
type Difference struct {
	Delta, Lo, Hi, P float64
	DF               float64
}

// CostDifference compares the fitted per_session_internal_cost or
// fixed_internal_cost of two variants (other - base).
func CostDifference(base, other *CostResult, metric string) (Difference, error) {
	bm, ok1 := base.Metric(metric)
	om, ok2 := other.Metric(metric)
	if !ok1 || !ok2 {
		return Difference{}, fmt.Errorf("cost difference: %s missing from %s or %s", metric, base.Variant, other.Variant)
	}
	var sb, so, db, do float64
	switch metric {
	case MetricPerSessionCost:
		sb, so, db, do = base.SlopeSE, other.SlopeSE, float64(base.SlopeDF), float64(other.SlopeDF)
	case MetricFixedCost:
		sb, so, db, do = base.FixedSE, other.FixedSE, base.FixedDF, other.FixedDF
	default:
		return Difference{}, fmt.Errorf("cost difference: %s is not a fitted cost", metric)
	}
	if db < 1 || do < 1 {
		return Difference{}, fmt.Errorf("cost difference: a fit of %s or %s has no degrees of freedom", base.Variant, other.Variant)
	}
	d := Difference{Delta: om.Value - bm.Value}
	v := sb*sb + so*so
	if v == 0 {
		d.Lo, d.Hi, d.DF = d.Delta, d.Delta, db+do
		d.P = 1
		if d.Delta != 0 {
			d.P = 0
		}
		return d, nil
	}
	d.DF = v * v / (math.Pow(sb, 4)/db + math.Pow(so, 4)/do)
	tq := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: d.DF}
	h := tq.Quantile((1+Confidence)/2) * math.Sqrt(v)
	d.Lo, d.Hi = d.Delta-h, d.Delta+h
	d.P = 2 * tq.Survival(math.Abs(d.Delta)/math.Sqrt(v))
	return d, nil
}
