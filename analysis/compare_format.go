package analysis

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// FormatValue renders a metric value for people: bytes as KiB, ratios as
// percentages, microseconds as milliseconds.
func FormatValue(v float64, unit string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	switch unit {
	case UnitBytes:
		if math.Abs(v) < 10*1024 {
			return fmt.Sprintf("%.0f B", v)
		}
		return fmt.Sprintf("%.1f KiB", v/1024)
	case UnitBytesSession:
		return fmt.Sprintf("%.1f KiB/session", v/1024)
	case UnitBytesCycle:
		return fmt.Sprintf("%.1f B/cycle", v)
	case UnitRatio:
		return fmt.Sprintf("%.1f%%", v*100)
	case UnitMicros:
		return fmt.Sprintf("%.2f ms", v/1000)
	}
	return fmt.Sprintf("%g", v)
}

// mdEscape makes s safe inside a Markdown table cell (and inert as HTML,
// which GitHub renders in comments). An underscore between two letters or
// digits stays as it is (GitHub does not read it as emphasis), so metric
// and function names stay readable in a raw CI log.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "&", "&amp;", "`", "\\`", "*", `\*`, "[", `\[`, "]", `\]`, "\n", " ", "\r", " ", "\\", `\\`)
	s = r.Replace(s)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && !(i > 0 && isWordByte(s[i-1]) && i+1 < len(s) && isWordByte(s[i+1])) {
			b.WriteString(`\_`)
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// interesting reports whether a row belongs in the short Markdown report:
// core metrics, leaving out counts that are zero on both sides.
func interesting(r Row) bool {
	if !metricInfo[r.Metric].Core {
		return false
	}
	return !(r.Unit == UnitCount && r.Old == 0 && r.New == 0)
}

// Scale is the one unit every cell of a comparison table is written in.
type Scale struct {
	// Unit is what the table's heading says, e.g. "KiB", "ms", "%".
	Unit string
	// Div divides a value in the metric's unit into Unit.
	Div float64
	// Prec is the number of decimals of a value; a change gets one more.
	Prec int
}

// Format writes v (in the metric's unit) in the scale, without the unit.
func (sc Scale) Format(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return strconv.FormatFloat(v/sc.Div, 'f', sc.Prec, 64)
}

// FormatChange writes a signed change in the scale, without the unit.
func (sc Scale) FormatChange(d float64) string {
	if math.IsNaN(d) || math.IsInf(d, 0) {
		return "—"
	}
	p := sc.Prec
	if sc.Div != 1 {
		p++
	}
	return signed(d/sc.Div, p)
}

// signed writes v with p decimals and a sign, and no sign when it rounds
// to zero.
func signed(v float64, p int) string {
	out := strconv.FormatFloat(v, 'f', p, 64)
	if z, _ := strconv.ParseFloat(out, 64); z == 0 {
		return strings.TrimPrefix(out, "-")
	}
	if v > 0 {
		out = "+" + out
	}
	return out
}

// FormatP writes a p-value: three decimals, "<0.001" below.
func FormatP(p float64) string {
	if math.IsNaN(p) {
		return "—"
	}
	if p < 0.001 {
		return "<0.001"
	}
	return strconv.FormatFloat(p, 'f', 3, 64)
}

// ScaleFor picks one unit for the values vs of a metric in unit: KiB when
// any byte figure reaches 10 KiB, ms when any latency reaches 1 ms.
func ScaleFor(unit string, vs ...float64) Scale {
	big := 0.0
	whole := true
	for _, v := range vs {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			big = max(big, math.Abs(v))
			whole = whole && v == math.Trunc(v)
		}
	}
	switch unit {
	case UnitBytes:
		if big >= 10*1024 {
			return Scale{"KiB", 1024, 1}
		}
		return Scale{"B", 1, 0}
	case UnitBytesSession:
		if big >= 10*1024 {
			return Scale{"KiB/session", 1024, 1}
		}
		return Scale{"B/session", 1, 0}
	case UnitBytesCycle:
		return Scale{"B/cycle", 1, 1}
	case UnitMicros:
		if big >= 1000 {
			return Scale{"ms", 1000, 2}
		}
		return Scale{"µs", 1, 0}
	case UnitRatio:
		return Scale{"%", 0.01, 1}
	case UnitCount:
		if whole {
			return Scale{"count", 1, 0}
		}
		return Scale{"count", 1, 1}
	}
	return Scale{unit, 1, 2}
}

// codeSpan writes s as a Markdown code span: inert, and readable in a raw
// CI log. A backquote becomes ', a pipe is escaped for the table.
func codeSpan(s string) string {
	s = strings.NewReplacer("`", "'", "|", `\|`, "\n", " ", "\r", " ").Replace(s)
	return "`" + s + "`"
}

// Headline is the one-line outcome of a comparison, starting PASS or FAIL.
func (c *Comparison) Headline() string {
	failedChecks := 0
	for _, ch := range c.Checks {
		if ch.Failed {
			failedChecks++
		}
	}
	var parts []string
	if n := c.NewlyFailing(); n > 0 {
		s := fmt.Sprintf("%d cell group(s) fail in the PR that did not fail in the base", n)
		if c.AllowFailedCells {
			s += " (allowed by --allow-failed-cells)"
		}
		parts = append(parts, s)
	}
	if old := len(c.FailedCells) - c.NewlyFailing(); old > 0 {
		parts = append(parts, fmt.Sprintf("%d cell group(s) have failed cells in the base as well (not new, listed below)", old))
	}
	switch {
	case len(c.Gates) == 0:
		parts = append(parts, "no gates set (--fail-on): the figures are informational")
	case failedChecks > 0:
		parts = append(parts, fmt.Sprintf("%d of %d gate check(s) failed", failedChecks, len(c.Checks)))
	default:
		parts = append(parts, fmt.Sprintf("all %d gate check(s) of %d gate(s) pass", len(c.Checks), len(c.Gates)))
	}
	for _, f := range c.Failures {
		if f == NothingCompared {
			parts = append(parts, "no cell group matched between the runs")
		}
	}
	if c.Failed() {
		return "FAIL: " + strings.Join(parts, "; ")
	}
	return "PASS: " + strings.Join(parts, "; ")
}

// WriteMarkdown writes the comparison as Markdown fit for a pull-request
// comment and a CI log: PASS or FAIL first, then every failed gate check,
// the cells that failed with their reasons, a verdict per variant, and one
// table per core metric, each in one unit named in its heading, with the
// change absolute and relative, benchstat's p, and a verdict.
func WriteMarkdown(w io.Writer, c *Comparison) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### wsbench compare: %s → %s\n\n", mdEscape(orDash(c.Base)), mdEscape(orDash(c.PR)))
	fmt.Fprintf(&b, "**%s**\n\n", mdEscape(c.Headline()))
	if len(c.Gates) > 0 {
		b.WriteString("#### Gates\n\n")
		for _, g := range c.Gates {
			n, failed := 0, 0
			for _, ch := range c.Checks {
				if ch.Gate != g {
					continue
				}
				n++
				if ch.Failed {
					failed++
					fmt.Fprintf(&b, "- ❌ FAIL %s: %s: %s\n", codeSpan(g), mdEscape(ch.Key.String()), mdEscape(ch.Detail))
				}
			}
			switch {
			case n == 0:
				fmt.Fprintf(&b, "- ⚠️ %s matched nothing\n", codeSpan(g))
			case failed == 0:
				fmt.Fprintf(&b, "- ✅ PASS %s: all %d check(s)\n", codeSpan(g), n)
			}
		}
		for _, f := range c.Failures {
			if f == NothingCompared {
				fmt.Fprintf(&b, "- ❌ %s\n", mdEscape(f))
			}
		}
		b.WriteString("\n")
	}
	if len(c.FailedCells) > 0 {
		b.WriteString("#### Cells that failed\n\nA failed cell has no figures worth comparing; its group is left out of the tables below.\n\n")
		b.WriteString("| board | variant | scenario | base failed | PR failed | | reason |\n|---|---|---|---:|---:|---|---|\n")
		for _, f := range c.FailedCells {
			mark := "in both"
			switch {
			case f.New && c.AllowFailedCells:
				mark = "⚠️ new (allowed)"
			case f.New:
				mark = "❌ new"
			case f.PRFailed < f.BaseFailed:
				mark = "🟢 fewer"
			}
			reasons := make([]string, len(f.Reasons))
			for i, r := range f.Reasons {
				reasons[i] = codeSpan(r)
			}
			if len(reasons) == 0 {
				reasons = []string{"no reason recorded"}
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", mdEscape(f.Key.Board), mdEscape(f.Key.VariantLabel()), mdEscape(f.Key.ScenarioLabel()),
				f.BaseCount(), f.PRCount(), mark, strings.Join(reasons, "<br>"))
		}
		b.WriteString("\n")
	}
	b.WriteString("#### Verdict per variant\n\n| board | variant | verdict | better | worse |\n|---|---|---|---:|---:|\n")
	for _, v := range c.Verdicts {
		fmt.Fprintf(&b, "| %s | %s | **%s** | %d | %d |\n", mdEscape(v.Variant.Board), mdEscape(Key{Variant: v.Variant.Variant, Behaviour: v.Variant.Behaviour}.VariantLabel()),
			v.Verdict, len(v.Better), len(v.Worse))
	}
	for i := 0; i < len(c.Rows); {
		j := i
		var vs []float64
		for ; j < len(c.Rows) && c.Rows[j].Metric == c.Rows[i].Metric; j++ {
			if interesting(c.Rows[j]) {
				vs = append(vs, c.Rows[j].Old, c.Rows[j].New)
			}
		}
		if len(vs) == 0 {
			i = j
			continue
		}
		sc := ScaleFor(c.Rows[i].Unit, vs...)
		fmt.Fprintf(&b, "\n#### %s (%s)\n\n| board | variant | scenario | base | PR | Δ | Δ%% | p | n | verdict |\n|---|---|---|---:|---:|---:|---:|---:|---:|---|\n",
			c.Rows[i].Metric, sc.Unit)
		for _, r := range c.Rows[i:j] {
			if !interesting(r) {
				continue
			}
			verdict := "~"
			switch {
			case r.Verdict == Worse:
				verdict = "🔴 worse"
			case r.Verdict == Better:
				verdict = "🟢 better"
			case tooFewToTest(r):
				verdict = "~ untested (too few repetitions)"
			}
			for _, g := range r.Gates {
				if g.Failed {
					verdict += " ❌ " + codeSpan(g.Gate)
				}
			}
			pct := "—"
			if d := float64(r.DeltaPct); !math.IsNaN(d) {
				pct = signed(d, 2) + "%"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %d+%d | %s |\n", mdEscape(r.Key.Board), mdEscape(r.Key.VariantLabel()), mdEscape(r.Key.ScenarioLabel()),
				sc.Format(r.Old), sc.Format(r.New), sc.FormatChange(r.Change), pct, FormatP(r.P), r.OldN, r.NewN, verdict)
		}
		i = j
	}
	fmt.Fprintf(&b, "\n<sub>Base and PR: medians across repetitions (fits across N: the fitted slope), in the unit of the table's heading; Δ = PR − base in that unit, Δ%% relative to the base. p from benchmath's Mann-Whitney U test (slopes: a t test), alpha %.2f; \"~\": no significant difference. A variant's verdict counts a figure only at p <= alpha divided by the number of figures it tests (Bonferroni). Failed cells are counted, not tested.</sub>\n", c.Alpha)
	if len(c.Warnings) > 0 {
		b.WriteString("\n<details><summary>warnings</summary>\n\n")
		for _, w := range c.Warnings {
			fmt.Fprintf(&b, "- %s\n", mdEscape(w))
		}
		b.WriteString("\n</details>\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the comparison as JUnit XML whose failures are exactly
// c.Failures, the reasons compare exits 1:
//   - one suite per gate, one case per check (failed when the check failed);
//   - a suite wsbench.cells, one case per group with failed cells in either
//     run, failed when its cells newly fail (unless allowed), with the
//     reasons;
//   - without gates, a suite wsbench.compare of the core figures, which
//     never fails: a significant change is not a failure unless a gate
//     says so.
func WriteJUnit(w io.Writer, c *Comparison) error {
	out := junitSuites{Name: "wsbench compare " + c.Base + " -> " + c.PR}
	rowOut := func(r Row) string {
		sc := ScaleFor(r.Unit, r.Old, r.New)
		return fmt.Sprintf("base %s %s, PR %s %s, change %s %s, p=%.4f (%s), n=%d+%d, verdict %s", sc.Format(r.Old), sc.Unit, sc.Format(r.New), sc.Unit,
			sc.FormatChange(r.Change), sc.Unit, r.P, r.Test, r.OldN, r.NewN, r.Verdict)
	}
	rows := map[string]Row{}
	for _, r := range c.Rows {
		rows[r.Metric+" "+r.Key.String()] = r
	}
	for _, g := range c.Gates {
		s := junitSuite{Name: "wsbench.gate " + g}
		for _, ch := range c.Checks {
			if ch.Gate != g {
				continue
			}
			jc := junitCase{Name: ch.Metric + " " + ch.Key.String(), Classname: "wsbench.gate." + ch.Metric, SystemOut: ch.Message}
			if r, ok := rows[ch.Metric+" "+ch.Key.String()]; ok {
				jc.SystemOut += "\n" + rowOut(r)
			}
			if ch.Failed {
				jc.Failure = &junitFailure{Message: ch.Message, Type: "wsbench.gate", Text: jc.SystemOut}
			}
			s.Cases = append(s.Cases, jc)
		}
		out.Suites = append(out.Suites, s)
	}
	for _, f := range c.Failures {
		if f == NothingCompared {
			out.Suites = append(out.Suites, junitSuite{Name: "wsbench.compare.match", Cases: []junitCase{{Name: "cell groups match", Classname: "wsbench.compare",
				Failure: &junitFailure{Message: f, Type: "wsbench.compare"}}}})
		}
	}
	if len(c.FailedCells) > 0 {
		s := junitSuite{Name: "wsbench.cells"}
		for _, f := range c.FailedCells {
			msg := cellsFailure(f)
			jc := junitCase{Name: "cells " + f.Key.String(), Classname: "wsbench.cells", SystemOut: msg}
			if len(f.Reasons) > 1 {
				jc.SystemOut += "\nreasons:\n  " + strings.Join(f.Reasons, "\n  ")
			}
			if !f.New {
				jc.SystemOut = fmt.Sprintf("cells fail in both runs (%s in the base, %s in the PR): %s", f.BaseCount(),
					f.PRCount(), strings.Join(f.Reasons, "; "))
			} else if c.AllowFailedCells {
				jc.SystemOut = "allowed by --allow-failed-cells: " + msg
			} else {
				jc.Failure = &junitFailure{Message: msg, Type: "wsbench.cells", Text: jc.SystemOut}
			}
			s.Cases = append(s.Cases, jc)
		}
		out.Suites = append(out.Suites, s)
	}
	if len(c.Gates) == 0 {
		s := junitSuite{Name: "wsbench.compare"}
		for _, r := range c.Rows {
			if !metricInfo[r.Metric].Core {
				continue
			}
			s.Cases = append(s.Cases, junitCase{Name: r.Metric + " " + r.Key.String(), Classname: "wsbench.compare." + r.Metric,
				SystemOut: rowOut(r) + " (informational: no gate set)"})
		}
		out.Suites = append(out.Suites, s)
	}
	for i := range out.Suites {
		s := &out.Suites[i]
		s.Tests = len(s.Cases)
		for _, jc := range s.Cases {
			if jc.Failure != nil {
				s.Failures++
			}
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
