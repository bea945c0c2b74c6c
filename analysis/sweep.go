package analysis

import (
	"fmt"
	"sort"
	"strings"
)

// sweepByN returns, for every variant, its sweep figures by N: the group of
// the sweep cells with N sessions asked for. A matrix may hold several sweep
// scenarios (labels, e.g. "sweep" and "limit"); when two of them ask for the
// same N, their cells are pooled into one group, as the cost fit pools every
// sweep cell of a variant, so that a per-N figure never stands for one label
// while the fit stands for both. Each pooling is returned as a warning that
// names the labels. A group that only one label has is s.Groups' own.
func sweepByN(s *Summary) (map[VariantKey]map[int]*GroupResult, []string) {
	type at struct {
		vk VariantKey
		n  int
	}
	found := map[at][]*GroupResult{}
	var order []at
	for i := range s.Groups {
		g := &s.Groups[i]
		if g.Key.Scenario != "sweep" {
			continue
		}
		k := at{g.Key.VariantKey(), g.Key.N}
		if found[k] == nil {
			order = append(order, k)
		}
		found[k] = append(found[k], g)
	}
	var cellIdx map[string]int
	out := map[VariantKey]map[int]*GroupResult{}
	var warnings []string
	for _, k := range order {
		gs := found[k]
		if out[k.vk] == nil {
			out[k.vk] = map[int]*GroupResult{}
		}
		if len(gs) == 1 {
			out[k.vk][k.n] = gs[0]
			continue
		}
		if cellIdx == nil {
			cellIdx = make(map[string]int, len(s.Cells))
			for i := range s.Cells {
				cellIdx[s.Cells[i].ID] = i
			}
		}
		labels := make([]string, 0, len(gs))
		counts := make([]string, 0, len(gs))
		var cells []CellResult
		for _, g := range gs {
			labels = append(labels, g.Key.Label)
			counts = append(counts, fmt.Sprint(len(g.Cells)))
			for _, id := range g.Cells {
				if i, ok := cellIdx[id]; ok {
					cells = append(cells, s.Cells[i])
				}
			}
		}
		sort.Strings(labels)
		pooled := strings.Join(labels, "+")
		for i := range cells {
			cells[i].Key.Label = pooled
		}
		merged := GroupCells(cells)
		if len(merged) != 1 {
			// Cannot happen: the cells share one key now. Keep the first
			// label's group rather than lose the figures.
			out[k.vk][k.n] = gs[0]
			continue
		}
		g := merged[0]
		w := fmt.Sprintf("%s N=%d: sweep scenarios %s ask for the same N; their %s repetitions are pooled in the per-N figures and verdicts, as in the cost fit",
			k.vk, k.n, strings.Join(labels, " and "), strings.Join(counts, "+"))
		g.Warnings = append(g.Warnings, w)
		out[k.vk][k.n] = &g
		warnings = append(warnings, w)
	}
	return out, warnings
}
