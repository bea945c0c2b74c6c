package analysis

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/wsbench/wsbench/analysis/stats"
)

// Verdicts of a row or a variant.
const (
	Better = "better"
	Worse  = "worse"
	Same   = "same"
	// Untested is a variant's verdict when none of its figures had enough
	// repetitions for the test to reach alpha: "same" would claim more
	// than was measured.
	Untested = "untested"
)

// Row compares one metric of one cell group (or one variant's fit across
// N, Key.N == FitAcrossN) between a base run and a PR run.
type Row struct {
	Key    Key     `json:"key"` // Branch is empty: base and PR differ by branch
	Metric string  `json:"metric"`
	Unit   string  `json:"unit"`
	Old    float64 `json:"old"`
	New    float64 `json:"new"`
	OldN   int     `json:"old_n"`
	NewN   int     `json:"new_n"`
	// DeltaPct is (new/old-1)*100, NaN when old is 0.
	DeltaPct Float `json:"delta_pct"`
	// Delta is benchstat's rendering: "~" when not significant, else "+1.23%".
	Delta       string  `json:"delta"`
	P           float64 `json:"p"`
	Alpha       float64 `json:"alpha"`
	Significant bool    `json:"significant"`
	// Test names the test behind P.
	Test string `json:"test"`
	// Verdict is better, worse or same (same when not significant).
	Verdict  string       `json:"verdict"`
	Gates    []GateResult `json:"gates,omitempty"`
	Warnings []string     `json:"warnings,omitempty"`
}

// GateResult is the outcome of one gate on one row.
type GateResult struct {
	Gate   string `json:"gate"`
	Failed bool   `json:"failed"`
	Reason string `json:"reason"`
}

// VariantVerdict sums up a variant's core metrics.
type VariantVerdict struct {
	Variant VariantKey `json:"variant"`
	Verdict string     `json:"verdict"`
	// Alpha is the per-row level the verdict used (Bonferroni: the
	// comparison's alpha divided by the variant's number of core rows).
	Alpha  float64  `json:"alpha"`
	Better []string `json:"better,omitempty"`
	Worse  []string `json:"worse,omitempty"`
}

// Comparison is the result of comparing two summaries.
type Comparison struct {
	Base     string           `json:"base"`
	PR       string           `json:"pr"`
	Alpha    float64          `json:"alpha"`
	Gates    []string         `json:"gates,omitempty"`
	Rows     []Row            `json:"rows"`
	Verdicts []VariantVerdict `json:"verdicts"`
	// Failures lists each failed gate with its row, for the exit status.
	Failures []string `json:"failures,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Failed reports whether any gate failed.
func (c *Comparison) Failed() bool { return len(c.Failures) > 0 }

// NothingCompared is the failure of a gated comparison in which no cell
// group of the base matches one of the PR: its gates would pass having
// tested nothing, and a CI job comparing the wrong runs would stay green.
const NothingCompared = "no cell group of BASE matches one of PR (board, variant, scenario, N): are they runs of the same matrix?"

// unbranched drops what tells the two sides of a comparison apart: the
// branch label and the component's placement behaviour (comparing PR 980's
// fallback with PR 1117's strict behaviour is a branch comparison).
func unbranched(k Key) Key { k.Branch, k.Behaviour = "", ""; return k }

// failedCells counts, per unbranched group key, the cells that ended failed
// and all cells, and keeps the first failure's reason.
func failedCells(s *Summary) map[Key]*cellCount {
	m := map[Key]*cellCount{}
	for _, c := range s.Cells {
		k := unbranched(c.Key)
		n := m[k]
		if n == nil {
			n = &cellCount{}
			m[k] = n
		}
		n.total++
		if c.Status == "failed" {
			n.failed++
			if n.reason == "" {
				n.reason = c.Reason
			}
		}
	}
	return m
}

// sideName names one side of a comparison: its run id, with the branch and
// behaviour its cells ran, since those are no longer in the row keys.
func sideName(s *Summary) string {
	seen := map[string]bool{}
	var parts []string
	for _, c := range s.Cells {
		for _, v := range []string{c.Key.Branch, c.Key.Behaviour} {
			if v != "" && !seen[v] {
				seen[v] = true
				parts = append(parts, v)
			}
		}
	}
	if len(parts) == 0 {
		return s.RunID
	}
	return fmt.Sprintf("%s (%s)", s.RunID, strings.Join(parts, ", "))
}

type cellCount struct {
	failed, total int
	reason        string
}

// failureRows compares how many cells of each group fail. A cell that ran
// in the base and fails in the PR produces no figures at all, so it is
// reported as a row of its own (worse, with certainty: a failure is not
// noise) and, when any gate is set, fails the comparison.
//
// The group's other rows are dropped: figures of cells that never got
// going would read as "better" (nothing was allocated).
func failureRows(c *Comparison, base, pr *Summary, gated bool) {
	ob, np := failedCells(base), failedCells(pr)
	differs := map[Key]bool{}
	for k, n := range np {
		if o := ob[k]; o != nil && o.failed != n.failed {
			differs[k] = true
		}
	}
	kept := c.Rows[:0]
	for _, r := range c.Rows {
		if differs[r.Key] {
			continue
		}
		kept = append(kept, r)
	}
	c.Rows = kept
	for k, n := range np {
		o := ob[k]
		if o == nil || o.failed == n.failed {
			continue
		}
		r := Row{Key: k, Metric: MetricCellsFailed, Unit: UnitCount, Old: float64(o.failed), New: float64(n.failed),
			OldN: o.total, NewN: n.total, DeltaPct: Float(math.NaN()), Delta: fmt.Sprintf("%+d", n.failed-o.failed),
			Alpha: c.Alpha, Significant: true, Test: "count of failed cells"}
		if n.failed > o.failed {
			r.Verdict = Worse
			r.Warnings = append(r.Warnings, "PR: "+n.reason, "the group's other figures are left out: its failed cells have none worth comparing")
			if gated {
				c.Failures = append(c.Failures, fmt.Sprintf("cells_failed: %s: %d of %d cells fail in the PR (%d in the base): %s",
					k, n.failed, n.total, o.failed, n.reason))
			}
		} else {
			r.Verdict = Better
			r.Warnings = append(r.Warnings, "base: "+o.reason)
		}
		c.Rows = append(c.Rows, r)
	}
}

// Compare compares every metric of every cell group and every per-session
// cost fit present in both summaries. Groups match on board, variant,
// scenario, label and N (not branch, not behaviour: those are what differs).
// Cells that fail in one run and not in the other are rows of their own. Group metrics are compared
// with benchmath's Mann-Whitney U test on the per-repetition values; slopes
// with a t test on the difference of the two slopes.
func Compare(base, pr *Summary, th Thresholds) *Comparison {
	if th.Alpha == 0 {
		th.Alpha = DefaultThresholds().Alpha
	}
	c := &Comparison{Base: sideName(base), PR: sideName(pr), Alpha: th.Alpha}
	for _, g := range th.Gates {
		c.Gates = append(c.Gates, g.Raw)
	}
	old := map[Key]*GroupResult{}
	for i := range base.Groups {
		k := unbranched(base.Groups[i].Key)
		if _, dup := old[k]; !dup {
			old[k] = &base.Groups[i]
		}
	}
	matched := map[Key]bool{}
	for i := range pr.Groups {
		ng := &pr.Groups[i]
		k := unbranched(ng.Key)
		og, ok := old[k]
		if !ok || matched[k] {
			continue
		}
		matched[k] = true
		for _, nm := range ng.Metrics {
			om, ok := og.Metric(nm.Name)
			if !ok {
				continue
			}
			c.Rows = append(c.Rows, groupRow(k, om, nm, th.Alpha))
		}
	}
	for k := range old {
		if !matched[k] {
			c.Warnings = append(c.Warnings, fmt.Sprintf("only in base: %s", k))
		}
	}
	for i := range pr.Groups {
		if k := unbranched(pr.Groups[i].Key); old[k] == nil {
			c.Warnings = append(c.Warnings, fmt.Sprintf("only in PR: %s", k))
		}
	}
	oldCost := map[VariantKey]*CostResult{}
	for i := range base.Costs {
		vk := base.Costs[i].Variant
		vk.Branch, vk.Behaviour = "", ""
		oldCost[vk] = &base.Costs[i]
	}
	for i := range pr.Costs {
		nc := &pr.Costs[i]
		vk := nc.Variant
		vk.Branch, vk.Behaviour = "", ""
		oc, ok := oldCost[vk]
		if !ok {
			continue
		}
		k := Key{Board: vk.Board, Variant: vk.Variant, Behaviour: vk.Behaviour, Scenario: nc.Scenario, N: FitAcrossN}
		om, ok1 := oc.Metric(MetricPerSessionCost)
		nm, ok2 := nc.Metric(MetricPerSessionCost)
		if ok1 && ok2 {
			c.Rows = append(c.Rows, slopeRow(k, om, nm, oc, nc, th.Alpha))
		}
	}
	failureRows(c, base, pr, len(th.Gates) > 0)
	if len(th.Gates) > 0 && len(c.Rows) == 0 {
		c.Failures = append(c.Failures, NothingCompared)
	}
	untested, example := 0, ""
	for _, r := range c.Rows {
		if tooFewToTest(r) {
			if untested == 0 {
				example = fmt.Sprintf("%s %s, n=%d+%d", r.Metric, r.Key, r.OldN, r.NewN)
			}
			untested++
		}
	}
	if untested > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%d of %d figures have too few repetitions for the test to reach alpha %.2f (e.g. %s): their \"~\" means untested, not unchanged; run more repetitions (6 or more)",
			untested, len(c.Rows), c.Alpha, example))
	}
	sort.SliceStable(c.Rows, func(i, j int) bool {
		if c.Rows[i].Metric != c.Rows[j].Metric {
			return c.Rows[i].Metric < c.Rows[j].Metric
		}
		return keyLess(c.Rows[i].Key, c.Rows[j].Key)
	})
	sort.Strings(c.Warnings)
	applyGates(c, pr, th.Gates)
	c.Verdicts = verdicts(c.Rows, th.Alpha)
	return c
}

func valuesOf(m Metric) []float64 {
	if len(m.Values) > 0 {
		return m.Values
	}
	return []float64{m.Value}
}

func newRow(k Key, om, nm Metric, alpha float64) Row {
	r := Row{Key: k, Metric: nm.Name, Unit: nm.Unit, Old: om.Value, New: nm.Value, OldN: om.N, NewN: nm.N, Alpha: alpha,
		DeltaPct: Float(math.NaN())}
	if om.Value != 0 {
		r.DeltaPct = Float((nm.Value/om.Value - 1) * 100)
	}
	return r
}

func (r *Row) finish() {
	r.Significant = r.P <= r.Alpha
	// benchmath.Comparison.FormatDelta's rules.
	switch {
	case !r.Significant:
		r.Delta = "~"
	case r.Old == r.New:
		r.Delta = "0.00%"
	case r.Old == 0:
		// benchmath writes "?" (no ratio from zero); an absolute change
		// says more when a count or a leak leaves zero.
		r.Delta = "+" + FormatValue(r.New, r.Unit)
		if r.New < 0 {
			r.Delta = "-" + FormatValue(-r.New, r.Unit)
		}
	default:
		r.Delta = fmt.Sprintf("%+.2f%%", float64(r.DeltaPct))
	}
	r.Verdict = Same
	if r.Significant && r.New != r.Old {
		up := r.New > r.Old
		if (metricInfo[r.Metric].Better == HigherIsBetter) == up {
			r.Verdict = Better
		} else {
			r.Verdict = Worse
		}
	}
}

func groupRow(k Key, om, nm Metric, alpha float64) Row {
	r := newRow(k, om, nm, alpha)
	ov, nv := valuesOf(om), valuesOf(nm)
	r.OldN, r.NewN = len(ov), len(nv)
	cmp := stats.Compare(ov, nv, alpha)
	r.P, r.Test, r.Warnings = cmp.P, "Mann-Whitney U", cmp.Warnings
	r.finish()
	return r
}

func slopeRow(k Key, om, nm Metric, oc, nc *CostResult, alpha float64) Row {
	r := newRow(k, om, nm, alpha)
	a := stats.Fit{Slope: -om.Value, SlopeSE: oc.SlopeSE, N: om.N}
	b := stats.Fit{Slope: -nm.Value, SlopeSE: nc.SlopeSE, N: nm.N}
	r.P, r.Test = stats.SlopeDiffP(a, b), "t test on the slopes"
	if om.N < 3 || nm.N < 3 {
		r.Warnings = append(r.Warnings, "a fit has fewer than 3 cells")
	}
	r.finish()
	return r
}

// tooFewToTest reports whether a row's samples can never reach significance.
func tooFewToTest(r Row) bool {
	for _, w := range r.Warnings {
		if strings.HasPrefix(w, "need ") {
			return true
		}
	}
	return false
}

func applyGates(c *Comparison, pr *Summary, gates []Gate) {
	for _, g := range gates {
		hit := false
		for i := range c.Rows {
			r := &c.Rows[i]
			if r.Metric != g.Metric {
				continue
			}
			hit = true
			res := GateResult{Gate: g.Raw}
			switch g.Kind {
			case GateSignificant:
				res.Failed = r.Verdict == Worse
				res.Reason = fmt.Sprintf("%s %s (p=%.3f)", r.Verdict, r.Delta, r.P)
			default:
				d := r.New - r.Old
				change := fmt.Sprintf("%+.0f %s", d, r.Unit)
				limit := fmt.Sprintf("%+.0f %s", g.Limit, r.Unit)
				if g.Kind == GateRelative {
					d = float64(r.DeltaPct)
					change, limit = fmt.Sprintf("%+.2f%%", d), fmt.Sprintf("%+g%%", g.Limit)
				}
				past := !math.IsNaN(d) && ((g.Limit < 0 && d < g.Limit) || (g.Limit > 0 && d > g.Limit))
				switch {
				case !past:
					res.Reason = fmt.Sprintf("change %s within %s", change, limit)
				case r.Significant:
					res.Failed = true
					res.Reason = fmt.Sprintf("change %s passes %s and is significant (p=%.3f)", change, limit, r.P)
				case tooFewToTest(*r):
					res.Failed = true
					res.Reason = fmt.Sprintf("change %s passes %s; too few repetitions to test significance, gated on the change alone", change, limit)
				default:
					res.Reason = fmt.Sprintf("change %s passes %s but is not significant (p=%.3f): noise", change, limit, r.P)
				}
			}
			r.Gates = append(r.Gates, res)
			if res.Failed {
				c.Failures = append(c.Failures, fmt.Sprintf("%s: %s: %s", g.Raw, r.Key, res.Reason))
			}
		}
		if g.Kind == GateSignificant && g.Metric == MetricLeakPerCycle {
			for _, cell := range pr.Cells {
				m, ok := cell.Metric(MetricLeakPerCycle)
				if ok && m.Significant != nil && *m.Significant && m.Value > 0 {
					hit = true
					c.Failures = append(c.Failures, fmt.Sprintf("%s: PR cell %s leaks %.1f B/cycle, 95%% interval [%.1f, %.1f] excludes zero",
						g.Raw, cell.ID, m.Value, float64(m.Lo), float64(m.Hi)))
				}
			}
		}
		if !hit {
			c.Warnings = append(c.Warnings, fmt.Sprintf("gate %s matched nothing in both runs", g.Raw))
		}
	}
}

// verdicts sums up each variant's core rows. A variant tests many figures
// at once, so a row counts towards its verdict only when P <= alpha/m, m the
// number of the variant's informative core rows (Bonferroni); each row's own Delta
// keeps benchstat's per-figure rule.
func verdicts(rows []Row, alpha float64) []VariantVerdict {
	idx := map[VariantKey]int{}
	var out []VariantVerdict
	var core [][]Row
	for _, r := range rows {
		vk := r.Key.VariantKey()
		i, ok := idx[vk]
		if !ok {
			i = len(out)
			idx[vk] = i
			out = append(out, VariantVerdict{Variant: vk, Verdict: Same})
			core = append(core, nil)
		}
		// Rows equal on both sides with p=1 (counts that stayed zero,
		// a constant high-water mark) test nothing and do not count.
		if metricInfo[r.Metric].Core && !(r.Old == r.New && r.P >= 1) {
			core[i] = append(core[i], r)
		}
	}
	for i := range out {
		m := max(len(core[i]), 1)
		out[i].Alpha = alpha / float64(m)
		for _, r := range core[i] {
			if r.P > out[i].Alpha {
				continue
			}
			what := r.Metric + " " + r.Key.String()
			switch r.Verdict {
			case Better:
				out[i].Better = append(out[i].Better, what)
			case Worse:
				out[i].Worse = append(out[i].Worse, what)
			}
		}
		untestable := len(core[i]) > 0
		for _, r := range core[i] {
			if !tooFewToTest(r) {
				untestable = false
			}
		}
		switch {
		case len(out[i].Worse) > 0:
			out[i].Verdict = Worse
		case len(out[i].Better) > 0:
			out[i].Verdict = Better
		case untestable:
			out[i].Verdict = Untested
		}
	}
	sort.Slice(out, func(i, j int) bool { return variantLess(out[i].Variant, out[j].Variant) })
	return out
}
