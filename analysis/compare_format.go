package analysis

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
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
// which GitHub renders in comments).
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "&", "&amp;", "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "\n", " ", "\r", " ")
	return r.Replace(s)
}

func groupLabel(k Key) string {
	s := k.Variant
	if k.Behaviour != "" {
		s += " (" + k.Behaviour + ")"
	}
	return s
}

func scenarioLabel(k Key) string {
	s := k.Scenario
	if k.Label != "" && k.Label != k.Scenario {
		s = k.Label
	}
	if k.N >= 0 {
		s += fmt.Sprintf(" N=%d", k.N)
	} else {
		s += " (fit across N)"
	}
	return s
}

// interesting reports whether a row belongs in the short Markdown report:
// core metrics, leaving out counts that are zero on both sides.
func interesting(r Row) bool {
	if !metricInfo[r.Metric].Core {
		return false
	}
	return !(r.Unit == UnitCount && r.Old == 0 && r.New == 0)
}

// WriteMarkdown writes the comparison as Markdown fit for a pull-request
// comment: gate failures, a verdict per variant, and one table per core
// metric (benchstat's columns: old, new, delta or "~", p and n).
func WriteMarkdown(w io.Writer, c *Comparison) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### wsbench compare: %s → %s\n\n", mdEscape(orDash(c.Base)), mdEscape(orDash(c.PR)))
	if len(c.Gates) > 0 {
		if c.Failed() {
			fmt.Fprintf(&b, "**%d gate failure(s)** (%s):\n\n", len(c.Failures), mdEscape(strings.Join(c.Gates, ", ")))
			for _, f := range c.Failures {
				fmt.Fprintf(&b, "- ❌ %s\n", mdEscape(f))
			}
			b.WriteString("\n")
		} else {
			fmt.Fprintf(&b, "✅ all gates pass (%s)\n\n", mdEscape(strings.Join(c.Gates, ", ")))
		}
	}
	b.WriteString("| board | variant | verdict | better | worse |\n|---|---|---|---|---|\n")
	for _, v := range c.Verdicts {
		fmt.Fprintf(&b, "| %s | %s | **%s** | %d | %d |\n", mdEscape(v.Variant.Board), mdEscape(groupLabel(Key{Variant: v.Variant.Variant, Behaviour: v.Variant.Behaviour})),
			v.Verdict, len(v.Better), len(v.Worse))
	}
	var metric string
	for _, r := range c.Rows {
		if !interesting(r) {
			continue
		}
		if r.Metric != metric {
			metric = r.Metric
			fmt.Fprintf(&b, "\n#### %s (%s)\n\n| board | variant | scenario | old | new | delta | p | n |\n|---|---|---|---:|---:|---:|---:|---:|\n", metric, r.Unit)
		}
		delta := r.Delta
		switch r.Verdict {
		case Worse:
			delta += " 🔴"
		case Better:
			delta += " 🟢"
		}
		for _, g := range r.Gates {
			if g.Failed {
				delta += " ❌"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %.3f | %d+%d |\n", mdEscape(r.Key.Board), mdEscape(groupLabel(r.Key)), mdEscape(scenarioLabel(r.Key)),
			FormatValue(r.Old, r.Unit), FormatValue(r.New, r.Unit), delta, r.P, r.OldN, r.NewN)
	}
	fmt.Fprintf(&b, "\n<sub>Medians across repetitions; p from %s (alpha %.2f); \"~\": no significant difference. A variant's verdict counts a figure only at p <= alpha divided by the number of figures it tests (Bonferroni).</sub>\n", "benchmath's Mann-Whitney U test, slopes by a t test", c.Alpha)
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

// WriteJUnit writes the comparison as JUnit XML: one test suite per gate and
// one test case per gated metric and cell group (failed when the gate
// failed). Without gates, one case per core metric row, failed when the
// verdict is worse.
func WriteJUnit(w io.Writer, c *Comparison) error {
	out := junitSuites{Name: "wsbench compare " + c.Base + " -> " + c.PR}
	caseOf := func(r Row, class string, failed bool, why string) junitCase {
		jc := junitCase{Name: r.Metric + " " + r.Key.String(), Classname: class,
			SystemOut: fmt.Sprintf("old %s, new %s, delta %s, p=%.4f (%s), n=%d+%d", FormatValue(r.Old, r.Unit), FormatValue(r.New, r.Unit), r.Delta, r.P, r.Test, r.OldN, r.NewN)}
		if failed {
			jc.Failure = &junitFailure{Message: why, Type: "wsbench.gate", Text: jc.SystemOut}
		}
		return jc
	}
	if len(c.Gates) == 0 {
		s := junitSuite{Name: "wsbench.compare.verdict"}
		for _, r := range c.Rows {
			if !metricInfo[r.Metric].Core {
				continue
			}
			s.Cases = append(s.Cases, caseOf(r, "wsbench.compare."+r.Metric, r.Verdict == Worse, "significantly worse: "+r.Delta))
		}
		out.Suites = append(out.Suites, s)
	}
	for _, g := range c.Gates {
		s := junitSuite{Name: "wsbench.gate " + g}
		for _, r := range c.Rows {
			for _, gr := range r.Gates {
				if gr.Gate != g {
					continue
				}
				s.Cases = append(s.Cases, caseOf(r, "wsbench.gate."+r.Metric, gr.Failed, gr.Reason))
			}
		}
		for _, f := range c.Failures {
			if f == NothingCompared {
				s.Cases = append(s.Cases, junitCase{Name: g + ": nothing compared", Classname: "wsbench.gate",
					Failure: &junitFailure{Message: f, Type: "wsbench.gate"}})
			}
			if strings.HasPrefix(f, g+": PR cell ") {
				s.Cases = append(s.Cases, junitCase{Name: strings.TrimPrefix(f, g+": "), Classname: "wsbench.gate.leak_per_cycle",
					Failure: &junitFailure{Message: f, Type: "wsbench.gate"}})
			}
		}
		out.Suites = append(out.Suites, s)
	}
	if len(c.Gates) > 0 {
		// Cells that newly fail fail every gate (see failureRows): without
		// this suite the XML would pass while compare exits 1.
		s := junitSuite{Name: "wsbench.gate " + MetricCellsFailed}
		for _, r := range c.Rows {
			if r.Metric == MetricCellsFailed {
				s.Cases = append(s.Cases, caseOf(r, "wsbench.gate."+r.Metric, r.Verdict == Worse, "cells fail in the PR: "+r.Delta))
			}
		}
		if len(s.Cases) > 0 {
			out.Suites = append(out.Suites, s)
		}
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
