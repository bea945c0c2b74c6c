package analysis

import (
	"fmt"
	"math"
	"slices"
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
	// Change is New-Old in Unit.
	Change float64 `json:"change"`
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

// GateCheck is one gate applied to one cell group, fit or cell. Message
// starts with PASS or FAIL.
type GateCheck struct {
	Gate   string `json:"gate"`
	Metric string `json:"metric"`
	Key    Key    `json:"key"`
	Failed bool   `json:"failed"`
	// Detail is what was found, e.g. "6 of 6 repetitions below 512 B".
	Detail string `json:"detail"`
	// Message is "PASS|FAIL gate: key: detail".
	Message string `json:"message"`
}

// FailedGroup is a cell group with failed cells in either run. Failed
// cells have no figures worth comparing, so the group's rows are left out
// and its failure is reported here, with no test statistic: a failure is
// not noise.
type FailedGroup struct {
	Key        Key `json:"key"`
	BaseFailed int `json:"base_failed"`
	BaseTotal  int `json:"base_total"` // 0: the base did not run the group
	PRFailed   int `json:"pr_failed"`
	PRTotal    int `json:"pr_total"`
	// Reasons are the distinct reasons the PR's cells failed, then the
	// base's.
	Reasons []string `json:"reasons"`
	// New is set when more of the group's cells fail in the PR than in the
	// base: this fails the comparison unless failed cells are allowed.
	New bool `json:"new"`
}

// BaseCount says how many of the group's cells failed in the base: "2 of
// 6", or "not run".
func (f FailedGroup) BaseCount() string { return failedCount(f.BaseFailed, f.BaseTotal) }

// PRCount says how many of the group's cells failed in the PR.
func (f FailedGroup) PRCount() string { return failedCount(f.PRFailed, f.PRTotal) }

func failedCount(n, total int) string {
	if total == 0 {
		return "not run"
	}
	return fmt.Sprintf("%d of %d", n, total)
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
	// FailedCells lists the groups with failed cells in either run.
	FailedCells []FailedGroup `json:"failed_cells,omitempty"`
	// AllowFailedCells is Thresholds.AllowFailedCells.
	AllowFailedCells bool `json:"allow_failed_cells,omitempty"`
	// Checks are every gate's outcome on every group it applied to.
	Checks []GateCheck `json:"checks,omitempty"`
	// Failures lists what fails the comparison (exit status 1), each
	// starting with FAIL: failed gate checks, cell groups that newly fail
	// (unless AllowFailedCells), and NothingCompared. WriteJUnit writes one
	// failed test case for each, and no other.
	Failures []string `json:"failures,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Failed reports whether the comparison fails: a gate failed, or cells
// fail in the PR that did not in the base (unless allowed).
func (c *Comparison) Failed() bool { return len(c.Failures) > 0 }

// NewlyFailing counts the groups with more failed cells in the PR than in
// the base.
func (c *Comparison) NewlyFailing() int {
	n := 0
	for _, f := range c.FailedCells {
		if f.New {
			n++
		}
	}
	return n
}

// NothingCompared is the failure of a gated comparison in which no cell
// group of the base matches one of the PR: its gates would pass having
// tested nothing, and a CI job comparing the wrong runs would stay green.
const NothingCompared = "FAIL: no cell group of BASE matches one of PR (board, variant, scenario, N): are they runs of the same matrix?"

// unbranched drops what tells the two sides of a comparison apart: the
// branch label and the component's placement behaviour (comparing PR 980's
// fallback with PR 1117's strict behaviour is a branch comparison).
func unbranched(k Key) Key { k.Branch, k.Behaviour = "", ""; return k }

// failedCells counts, per unbranched group key, the cells that ended failed
// and all cells, and keeps the distinct reasons.
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
			if c.Reason != "" && !slices.Contains(n.reasons, c.Reason) {
				n.reasons = append(n.reasons, c.Reason)
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
	reasons       []string
}

// failureGroups finds the groups with failed cells in either run and drops
// their rows: figures of cells that never got going would read as
// "better" (nothing was allocated). A group that fails more in the PR than
// in the base (or that the base did not run) is new.
func failureGroups(c *Comparison, base, pr *Summary) {
	ob, np := failedCells(base), failedCells(pr)
	hit := map[Key]bool{}
	for k, n := range np {
		o := ob[k]
		if o == nil {
			o = &cellCount{}
		}
		if n.failed == 0 && o.failed == 0 {
			continue
		}
		hit[k] = true
		f := FailedGroup{Key: k, BaseFailed: o.failed, BaseTotal: o.total, PRFailed: n.failed, PRTotal: n.total,
			New: n.failed > o.failed}
		f.Reasons = append(f.Reasons, n.reasons...)
		for _, r := range o.reasons {
			if !slices.Contains(f.Reasons, r) {
				f.Reasons = append(f.Reasons, r)
			}
		}
		c.FailedCells = append(c.FailedCells, f)
	}
	for k, o := range ob {
		if np[k] == nil && o.failed > 0 {
			hit[k] = true // only in base; its rows do not exist anyway
		}
	}
	kept := c.Rows[:0]
	for _, r := range c.Rows {
		if r.Key.N != FitAcrossN && hit[r.Key] {
			continue
		}
		kept = append(kept, r)
	}
	c.Rows = kept
	sort.Slice(c.FailedCells, func(i, j int) bool { return keyLess(c.FailedCells[i].Key, c.FailedCells[j].Key) })
}

// cellsFailure is the Failures line of a newly failing group.
func cellsFailure(f FailedGroup) string {
	base := fmt.Sprintf("%d of %d in the base", f.BaseFailed, f.BaseTotal)
	if f.BaseTotal == 0 {
		base = "not run in the base"
	}
	reason := "no reason recorded"
	if len(f.Reasons) > 0 {
		reason = f.Reasons[0]
		if len(f.Reasons) > 1 {
			reason += fmt.Sprintf(" (and %d other reasons)", len(f.Reasons)-1)
		}
	}
	return fmt.Sprintf("FAIL cells: %s: %d of %d cells fail in the PR (%s): %s", f.Key, f.PRFailed, f.PRTotal, base, reason)
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
	c.AllowFailedCells = th.AllowFailedCells
	c.Warnings = append(c.Warnings, boardKindWarnings(base, pr)...)
	failureGroups(c, base, pr)
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
	changeGates := false
	for _, g := range th.Gates {
		changeGates = changeGates || g.Kind == GateChange || g.Kind == GateRelative || g.Kind == GateSignificant
	}
	if changeGates && len(c.Rows) == 0 && len(c.FailedCells) == 0 {
		c.Failures = append(c.Failures, NothingCompared)
	}
	if !c.AllowFailedCells {
		for _, f := range c.FailedCells {
			if f.New {
				c.Failures = append(c.Failures, cellsFailure(f))
			}
		}
	}
	c.Verdicts = verdicts(c.Rows, c.FailedCells, th.Alpha)
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
		Change: nm.Value - om.Value, DeltaPct: Float(math.NaN())}
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
	failedGroup := map[Key]bool{}
	for _, f := range c.FailedCells {
		if f.PRFailed > 0 {
			failedGroup[f.Key] = true
		}
	}
	for _, g := range gates {
		n := len(c.Checks)
		switch g.Kind {
		case GateBelow, GateAbove:
			thresholdChecks(c, pr, g, failedGroup)
		default:
			changeChecks(c, pr, g)
		}
		if len(c.Checks) == n {
			c.Warnings = append(c.Warnings, fmt.Sprintf("gate %s matched nothing: no cell group has %s in both runs", g.Raw, g.Metric))
		}
	}
	for _, ch := range c.Checks {
		if ch.Failed {
			c.Failures = append(c.Failures, ch.Message)
		}
	}
}

// check records one gate outcome; msg follows "PASS gate: key: ".
func (c *Comparison) check(g Gate, k Key, failed bool, msg string) GateCheck {
	verdict := "PASS"
	if failed {
		verdict = "FAIL"
	}
	ch := GateCheck{Gate: g.Raw, Metric: g.Metric, Key: k, Failed: failed, Detail: msg,
		Message: fmt.Sprintf("%s %s: %s: %s", verdict, g.Raw, k, msg)}
	c.Checks = append(c.Checks, ch)
	return ch
}

// describeChange says how a row moved, e.g. "a drop of 4100 B (-7.47%)".
func describeChange(r *Row) string {
	word := "a rise"
	if r.Change < 0 {
		word = "a drop"
	}
	if r.Change == 0 {
		return "no change"
	}
	pct := ""
	if !math.IsNaN(float64(r.DeltaPct)) {
		pct = fmt.Sprintf(" (%+.2f%%)", float64(r.DeltaPct))
	}
	return fmt.Sprintf("%s of %s%s", word, amount(math.Abs(r.Change), r.Unit), pct)
}

// amount writes v in unit at the scale that suits it, with the unit.
func amount(v float64, unit string) string {
	sc := ScaleFor(unit, v)
	return sc.Format(v) + " " + sc.Unit
}

func changeChecks(c *Comparison, pr *Summary, g Gate) {
	for i := range c.Rows {
		r := &c.Rows[i]
		if r.Metric != g.Metric {
			continue
		}
		var failed bool
		var msg string
		from := fmt.Sprintf("base %s, PR %s: ", FormatValue(r.Old, r.Unit), FormatValue(r.New, r.Unit))
		switch g.Kind {
		case GateSignificant:
			failed = r.Verdict == Worse
			switch {
			case failed:
				msg = fmt.Sprintf("significantly worse, %s (p=%s)", describeChange(r), FormatP(r.P))
			case tooFewToTest(*r):
				msg = fmt.Sprintf("%s; too few repetitions (%d+%d) to test significance", describeChange(r), r.OldN, r.NewN)
			case r.Verdict == Better:
				msg = fmt.Sprintf("significantly better, %s (p=%s)", describeChange(r), FormatP(r.P))
			default:
				msg = fmt.Sprintf("not significantly worse, %s (p=%s)", describeChange(r), FormatP(r.P))
			}
		default:
			d, limit := r.Change, amount(math.Abs(g.Limit), r.Unit)
			if g.Kind == GateRelative {
				d, limit = float64(r.DeltaPct), fmt.Sprintf("%g%%", math.Abs(g.Limit))
			}
			past := !math.IsNaN(d) && ((g.Limit < 0 && d < g.Limit) || (g.Limit > 0 && d > g.Limit))
			word := map[bool]string{true: "drop", false: "rise"}[g.Limit < 0]
			switch {
			case math.IsNaN(d):
				msg = fmt.Sprintf("%s; no relative change from a base of zero", describeChange(r))
			case !past:
				msg = fmt.Sprintf("%s, within the %s %s allowed", describeChange(r), limit, word)
			case r.Significant:
				failed = true
				msg = fmt.Sprintf("%s, more than the %s %s allowed, and significant (p=%s)", describeChange(r), limit, word, FormatP(r.P))
			case tooFewToTest(*r):
				failed = true
				msg = fmt.Sprintf("%s, more than the %s %s allowed; %d+%d repetitions are too few to test significance, so the change alone fails it",
					describeChange(r), limit, word, r.OldN, r.NewN)
			default:
				msg = fmt.Sprintf("%s, more than the %s %s allowed, but not significant (p=%s): within the noise", describeChange(r), limit, word, FormatP(r.P))
			}
		}
		ch := c.check(g, r.Key, failed, from+msg)
		r.Gates = append(r.Gates, GateResult{Gate: g.Raw, Failed: failed, Reason: ch.Message})
	}
	if g.Kind == GateSignificant && g.Metric == MetricLeakPerCycle {
		for _, cell := range pr.Cells {
			m, ok := cell.Metric(MetricLeakPerCycle)
			if ok && m.Significant != nil && *m.Significant && m.Value > 0 {
				c.check(g, unbranched(cell.Key), true, fmt.Sprintf("PR cell %s leaks %.1f B/cycle, 95%% interval [%.1f, %.1f] excludes zero",
					cell.ID, m.Value, float64(m.Lo), float64(m.Hi)))
			}
		}
	}
}

// thresholdChecks applies a floor or ceiling to every PR group (worst
// repetition), fit, or count of failed cells. Groups with failed cells
// are left out: their figures are not measurements, and the failure is
// reported on its own.
func thresholdChecks(c *Comparison, pr *Summary, g Gate, failedGroup map[Key]bool) {
	below := g.Kind == GateBelow
	limit := amount(g.Limit, metricInfo[g.Metric].Unit)
	judge := func(k Key, vals []float64, unit, what string) {
		worst, past := vals[0], 0
		for _, v := range vals {
			if (below && v < worst) || (!below && v > worst) {
				worst = v
			}
			if (below && v < g.Limit) || (!below && v > g.Limit) {
				past++
			}
		}
		word := map[bool]string{true: "below", false: "above"}[below]
		extreme := map[bool]string{true: "lowest", false: "highest"}[below]
		if past > 0 {
			c.check(g, k, true, fmt.Sprintf("%d of %d %s %s %s (%s %s)", past, len(vals), what, word, limit, extreme, amount(worst, unit)))
			return
		}
		c.check(g, k, false, fmt.Sprintf("%s %s of %d %s, not %s %s", extreme, amount(worst, unit), len(vals), what, word, limit))
	}
	if g.Metric == MetricCellsFailed {
		counts := failedCells(pr)
		keys := make([]Key, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
		for _, k := range keys {
			judge(k, []float64{float64(counts[k].failed)}, UnitCount, "count of failed cells")
		}
		return
	}
	for _, gr := range pr.Groups {
		k := unbranched(gr.Key)
		m, ok := gr.Metric(g.Metric)
		if !ok || failedGroup[k] {
			continue
		}
		judge(k, valuesOf(m), m.Unit, "repetitions")
	}
	for _, cr := range pr.Costs {
		m, ok := cr.Metric(g.Metric)
		if !ok {
			continue
		}
		vk := cr.Variant
		k := Key{Board: vk.Board, Variant: vk.Variant, Scenario: cr.Scenario, N: FitAcrossN}
		judge(k, []float64{m.Value}, m.Unit, "fits")
	}
}

// verdicts sums up each variant's core rows. A variant tests many figures
// at once, so a row counts towards its verdict only when P <= alpha/m, m the
// number of the variant's informative core rows (Bonferroni); each row's own Delta
// keeps benchstat's per-figure rule. A group whose cells newly fail makes
// its variant worse, with no test.
func verdicts(rows []Row, failed []FailedGroup, alpha float64) []VariantVerdict {
	idx := map[VariantKey]int{}
	var out []VariantVerdict
	var core [][]Row
	add := func(vk VariantKey) int {
		i, ok := idx[vk]
		if !ok {
			i = len(out)
			idx[vk] = i
			out = append(out, VariantVerdict{Variant: vk, Verdict: Same})
			core = append(core, nil)
		}
		return i
	}
	for _, r := range rows {
		i := add(r.Key.VariantKey())
		// Rows equal on both sides with p=1 (counts that stayed zero,
		// a constant high-water mark) test nothing and do not count.
		if metricInfo[r.Metric].Core && !(r.Old == r.New && r.P >= 1) {
			core[i] = append(core[i], r)
		}
	}
	for _, f := range failed {
		i := add(f.Key.VariantKey())
		if f.New {
			out[i].Worse = append(out[i].Worse, MetricCellsFailed+" "+f.Key.String())
		} else if f.PRFailed < f.BaseFailed {
			out[i].Better = append(out[i].Better, MetricCellsFailed+" "+f.Key.String())
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
