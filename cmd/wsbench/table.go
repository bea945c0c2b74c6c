package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/internal/termsafe"
)

// printRunSummary prints what `run` and `report` print after the analysis:
// the verdict lines, the table and the warning count, the same for both.
func printRunSummary(w io.Writer, s *analysis.Summary) {
	if len(s.VerdictLines) > 0 {
		fmt.Fprintf(w, "\nverdicts against %s (! marks a figure past its threshold; ws stack headroom threshold %.0f B):\n", s.Judgement.Baseline, s.Judgement.WSStackHeadroom)
		analysis.WriteVerdicts(w, s)
	}
	printSummaryTable(w, s)
	if n := analysis.CountWarnings(s); n > 0 {
		first := ""
		switch {
		case len(s.Warnings) > 0:
			first = s.Warnings[0]
		default:
			for _, c := range s.Costs {
				if first == "" && len(c.Warnings) > 0 {
					first = "fit of " + c.Variant.Variant + ": " + c.Warnings[0]
				}
			}
			for _, c := range s.Cells {
				if first == "" && len(c.Warnings) > 0 {
					first = c.ID + ": " + c.Warnings[0]
				}
			}
		}
		first = termsafe.String(first)
		fmt.Fprintf(w, "\n%d warnings (run, cells and fits; all in summary.json and the report), e.g.: %s\n", n, first)
	}
}

// printSummaryTable prints the short table of a run: per variant, the
// fitted one-time (client) and per-TLS-session internal costs, steady free
// internal RAM at every swept N (N=0 measured), and whatever broke (each the
// worst over every cell of the variant, as in the verdicts).
func printSummaryTable(w io.Writer, s *analysis.Summary) {
	// The baseline variant first on each board, as in the verdicts.
	ovs := analysis.OrderedOverviews(s)
	nset := map[int]bool{}
	for _, o := range ovs {
		for n := range o.Sweep {
			nset[n] = true
		}
	}
	ns := slices.Sorted(maps.Keys(nset))

	kb := func(v float64) string { return fmt.Sprintf("%.1f KiB", v/1024) }
	// Fitted costs in bytes, as in the report: their intervals are often
	// narrower than 0.1 KiB.
	ci := func(m analysis.Metric) string {
		if !m.HasInterval() {
			return fmt.Sprintf("%.0f B", m.Value)
		}
		return fmt.Sprintf("%.0f [%.0f, %.0f] B", m.Value, float64(m.Lo), float64(m.Hi))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	head := "\nboard\tvariant\tone-time (client)\tper TLS session"
	for i, n := range ns {
		if i == 0 {
			head += fmt.Sprintf("\tsteady free n=%d", n)
		} else {
			head += fmt.Sprintf("\tn=%d", n)
		}
	}
	fmt.Fprintln(tw, head+"\tmost sessions\tlowest free\tws stack headroom\tleak/cycle\tresets\twatchdogs\toverflows\t")
	for _, o := range ovs {
		fixedStr, costStr := "-", "-"
		if o.Cost != nil {
			if m, ok := o.Cost.Metric(analysis.MetricFixedCost); ok {
				fixedStr = ci(m)
			}
			if m, ok := o.Cost.Metric(analysis.MetricPerSessionCost); ok {
				costStr = ci(m)
			}
		}
		board := o.Key.Board
		// Emulated and real boards' figures say so (virtual is the default).
		if k := s.BoardKinds[board]; k != "" && k != analysis.BoardKindVirtual {
			board += " [" + k + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t", termsafe.String(board), termsafe.String(o.Key.Variant), fixedStr, costStr)
		for _, n := range ns {
			g := o.Sweep[n]
			// A group without a steady figure (its cells failed) shows "-", not "0.0 KiB".
			if m, ok := steady(g); ok {
				fmt.Fprintf(tw, "%s\t", kb(m.Value))
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		sessions := "-"
		if o.HasSweep {
			sessions = fmt.Sprintf("%g", o.SessionsFit)
			if !o.SessionsLimit {
				// Every N tried held: a floor, not a limit.
				sessions = ">=" + sessions
			}
		}
		minFree := "-"
		if o.HasMinFree {
			minFree = kb(o.MinFree)
		}
		hwm := "-"
		if o.HasHWM {
			hwm = fmt.Sprintf("%.0f B", o.HWM)
			if o.HWM < s.Judgement.WSStackHeadroom {
				hwm += " !"
			}
		}
		leak := "-"
		if o.Leak != nil {
			leak = fmt.Sprintf("%.0f B ~", o.Leak.Value)
			if o.LeakSig {
				leak = fmt.Sprintf("%.0f B (!)", o.Leak.Value)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f\t%.0f\t%.0f\t\n", sessions, minFree, hwm, leak,
			o.Counts[analysis.MetricResets], o.Counts[analysis.MetricWatchdogs], o.Counts[analysis.MetricStackOverflows])
	}
	tw.Flush()
	fmt.Fprintf(w, "(one-time and per-session: fit of free = b0 - one-time*1[n>=1] - per-session*n with 95%% intervals; steady free: median over repetitions, n=0 measured; most sessions: >=N when every N tried held, no limit reached; lowest free, headroom and counts: worst or total over every cell)\n")
}

func steady(g *analysis.GroupResult) (analysis.Metric, bool) {
	if g == nil {
		return analysis.Metric{}, false
	}
	return g.Metric(analysis.MetricInternalFreeSteady)
}

// compareVariants is `wsbench compare RUN`: the run's variants judged
// against its baseline variant.
func compareVariants(ctx context.Context, w io.Writer, arg string) error {
	s, _, err := loadSummary(ctx, arg)
	if err != nil {
		return err
	}
	if s.Verdicts == nil {
		// A summary.json from before verdicts: judge it now, with the defaults.
		if s.Judgement.Baseline == "" {
			s.Judgement = analysis.Judgement{Baseline: analysis.DefaultBaselineVariant, WSStackHeadroom: analysis.DefaultWSStackHeadroom, Alpha: 0.05}
		}
		s.Verdicts, s.VerdictLines = analysis.Judge(s, s.Judgement)
	}
	fmt.Fprintf(w, "# %s: variants against %s\n\n", termsafe.String(arg), termsafe.String(s.Judgement.Baseline))
	if err := analysis.WriteVerdicts(w, s); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return analysis.WriteVerdictTable(w, s)
}
