package main

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/internal/termsafe"
)

// variantRow gathers what the terminal table says about one variant on one
// board: its fit across N, its sweep groups by N, and the worst of every
// group's health figures.
type variantRow struct {
	key   analysis.VariantKey
	cost  *analysis.CostResult
	sweep map[int]*analysis.GroupResult
	worst map[string]float64 // the smallest or largest of a figure over the variant's groups
	leak  *analysis.Metric   // the largest leak per cycle of its churn groups
	// leakSig: some cell's leak interval excludes zero (a group median has
	// no such flag of its own).
	leakSig bool
	hasHWM  bool
}

// printSummaryTable prints the short table of a run: per variant, the
// internal RAM cost per TLS session, steady free internal RAM at every swept
// N, and whatever broke (the smallest headroom, a leak, resets, watchdogs,
// stack overflows).
func printSummaryTable(w io.Writer, s *analysis.Summary) {
	var rows []*variantRow
	byKey := map[analysis.VariantKey]*variantRow{}
	row := func(k analysis.VariantKey) *variantRow {
		r := byKey[k]
		if r == nil {
			r = &variantRow{key: k, sweep: map[int]*analysis.GroupResult{}, worst: map[string]float64{}}
			byKey[k] = r
			rows = append(rows, r)
		}
		return r
	}
	nset := map[int]bool{}
	for i := range s.Groups {
		g := &s.Groups[i]
		r := row(g.Key.VariantKey())
		if g.Key.Scenario == "sweep" {
			r.sweep[g.Key.N] = g
			nset[g.Key.N] = true
		}
		for _, name := range []string{analysis.MetricInternalFreeMin, analysis.MetricWSStackHWM} {
			if m, ok := g.Metric(name); ok {
				if v, seen := r.worst[name]; !seen || m.Value < v {
					r.worst[name] = m.Value
				}
				if name == analysis.MetricWSStackHWM {
					r.hasHWM = true
				}
			}
		}
		for _, name := range []string{analysis.MetricResets, analysis.MetricWatchdogs, analysis.MetricStackOverflows, analysis.MetricSessionsOpen} {
			if m, ok := g.Metric(name); ok {
				r.worst[name] = max(r.worst[name], m.Value)
			}
		}
		if m, ok := g.Metric(analysis.MetricLeakPerCycle); ok && (r.leak == nil || m.Value > r.leak.Value) {
			r.leak = &m
		}
	}
	for i := range s.Costs {
		row(s.Costs[i].Variant).cost = &s.Costs[i]
	}
	for i := range s.Cells {
		if m, ok := s.Cells[i].Metric(analysis.MetricLeakPerCycle); ok && m.Significant != nil && *m.Significant && m.Value > 0 {
			row(s.Cells[i].Key.VariantKey()).leakSig = true
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i].key, rows[j].key
		if a.Board != b.Board {
			return a.Board < b.Board
		}
		return a.Variant < b.Variant
	})
	// The steady free columns are every swept N: the point of a sweep is
	// where internal RAM runs out.
	var ns []int
	for n := range nset {
		ns = append(ns, n)
	}
	sort.Ints(ns)

	kb := func(v float64) string { return fmt.Sprintf("%.1f KB", v/1024) }
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	head := "\nboard\tvariant\tper-session internal\tfixed"
	for i, n := range ns {
		if i == 0 {
			head += fmt.Sprintf("\tsteady free n=%d", n)
		} else {
			head += fmt.Sprintf("\tn=%d", n)
		}
	}
	fmt.Fprintln(tw, head+"\tmost sessions\tmin free\tws stack hwm\tleak/cycle\tresets\twatchdogs\toverflows\t")
	for _, r := range rows {
		costStr, fixedStr := "-", "-"
		if r.cost != nil {
			if m, ok := r.cost.Metric(analysis.MetricPerSessionCost); ok {
				costStr = kb(m.Value)
				if m.HasInterval() {
					costStr = fmt.Sprintf("%.1f ± %.1f KB", m.Value/1024, (float64(m.Hi)-float64(m.Lo))/2/1024)
				}
			}
			if m, ok := r.cost.Metric(analysis.MetricFixedCost); ok {
				fixedStr = kb(m.Value)
			}
		}
		board := r.key.Board
		// Emulated and real boards' figures say so (virtual is the default).
		if k := s.BoardKinds[board]; k != "" && k != analysis.BoardKindVirtual {
			board += " [" + k + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t", termsafe.String(board), r.key.Variant, costStr, fixedStr)
		for _, n := range ns {
			if g := r.sweep[n]; g != nil {
				// A group without a steady figure (its cells failed) shows "-", not "0.0 KB".
				if m, ok := g.Metric(analysis.MetricInternalFreeSteady); ok {
					fmt.Fprintf(tw, "%s\t", kb(m.Value))
				} else {
					fmt.Fprint(tw, "-\t")
				}
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		sessions := "-"
		if len(r.sweep) > 0 {
			sessions = fmt.Sprintf("%.0f", r.worst[analysis.MetricSessionsOpen])
		}
		minFree := "-"
		if v, ok := r.worst[analysis.MetricInternalFreeMin]; ok {
			minFree = kb(v)
		}
		hwm := "-"
		if r.hasHWM {
			hwm = fmt.Sprintf("%.0f B", r.worst[analysis.MetricWSStackHWM])
		}
		leak := "-"
		if r.leak != nil {
			leak = fmt.Sprintf("%.0f B ~", r.leak.Value)
			if r.leakSig {
				leak = fmt.Sprintf("%.0f B (!)", r.leak.Value)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f\t%.0f\t%.0f\t\n", sessions, minFree, hwm, leak,
			r.worst[analysis.MetricResets], r.worst[analysis.MetricWatchdogs], r.worst[analysis.MetricStackOverflows])
	}
	tw.Flush()
	if len(s.Warnings) > 0 {
		fmt.Fprintf(w, "\n%d warnings (see summary.json), e.g.: %s\n", len(s.Warnings), termsafe.String(s.Warnings[0]))
	}
}
