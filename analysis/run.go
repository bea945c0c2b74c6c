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
	if m, err := rundir.ReadManifest(runDir); err == nil {
		s.RunID = m.RunID
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
// warning on the group.
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
		for _, m := range c.Metrics {
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
// cell (every repetition is a point) against N. See CostResult.
func FitCosts(cells []CellResult) []CostResult {
	type pts struct {
		n, free, psram []float64
		psN            []float64
		baseline       []float64
		ns             map[int]bool
		warnings       []string
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
		p.n = append(p.n, x)
		p.free = append(p.free, free.Value)
		p.ns[c.Key.N] = true
		if ps, ok := c.Metric(MetricPSRAMUsed); ok {
			p.psN = append(p.psN, x)
			p.psram = append(p.psram, ps.Value)
		}
		if b, ok := c.Metric(MetricInternalFreeBaseline); ok {
			p.baseline = append(p.baseline, b.Value)
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
		fit, err := stats.LinearFit(p.n, p.free, Confidence)
		if err != nil {
			cr.Warnings = append(cr.Warnings, fmt.Sprintf("no cost fit: %v (have %d cells at N=%v)", err, len(p.n), cr.Ns))
			out = append(out, cr)
			continue
		}
		cr.SlopeSE, cr.ResidualSE = fit.SlopeSE, fit.ResidualSE
		cr.Metrics = append(cr.Metrics,
			Metric{Name: MetricPerSessionCost, Unit: UnitBytesSession, Value: -fit.Slope, Lo: Float(-fit.SlopeHi), Hi: Float(-fit.SlopeLo), Confidence: Confidence, N: fit.N},
			Metric{Name: MetricSteadyFreeAtZero, Unit: UnitBytes, Value: fit.Intercept, Lo: Float(fit.InterceptLo), Hi: Float(fit.InterceptHi), Confidence: Confidence, N: fit.N})
		if len(p.baseline) > 0 {
			b := stats.Median(p.baseline, Confidence).Center
			cr.Metrics = append(cr.Metrics, Metric{Name: MetricFixedCost, Unit: UnitBytes, Value: b - fit.Intercept,
				Lo: Float(b - fit.InterceptHi), Hi: Float(b - fit.InterceptLo), Confidence: Confidence, N: fit.N})
		}
		if len(cr.Ns) < 3 {
			cr.Warnings = append(cr.Warnings, fmt.Sprintf("only %d distinct N: linearity cannot be checked", len(cr.Ns)))
		}
		if pf, err := stats.LinearFit(p.psN, p.psram, Confidence); err == nil {
			cr.Metrics = append(cr.Metrics, Metric{Name: MetricPerSessionPSRAM, Unit: UnitBytesSession, Value: pf.Slope,
				Lo: Float(pf.SlopeLo), Hi: Float(pf.SlopeHi), Confidence: Confidence, N: pf.N})
		}
		out = append(out, cr)
	}
	return out
}
