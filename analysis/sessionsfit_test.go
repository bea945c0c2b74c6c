package analysis_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/analysis/synth"
)

// fitSweep is one sweep of one variant in a synthetic run: the N it tries,
// its label and the most sessions that fit (0: all of them).
type fitSweep struct {
	variant, label string
	ns             []int
	maxOpen        int
}

// fitWant is what one variant's sessions that fit must come to: the
// figure, the largest N tried, its bound, whether it is flagged fewer and
// the clause of its verdict line.
type fitWant struct {
	fit    float64
	tried  int
	bound  string
	fewer  bool
	clause string
}

func fitCells(sweeps []fitSweep) []synth.Cell {
	var cells []synth.Cell
	for i, sw := range sweeps {
		m := synth.Model{
			Board: "s3", Variants: []string{sw.variant},
			Truth: map[string]synth.Truth{sw.variant: {BaselineFree: 400000, Fixed: 6600, PerSession: 30000}},
			Ns:    sw.ns, Reps: 2, Noise: 100, Jitter: 100, Seed: uint64(i + 1), Samples: 10, MaxOpen: sw.maxOpen,
		}
		cs := m.Cells()
		for j := range cs {
			cs[j].Cell.Label = sw.label
		}
		cells = append(cells, cs...)
	}
	return cells
}

// TestSessionsFitBound: the sessions that fit are a limit when a tried N
// above the figure held fewer, a floor when every N tried held; a floor
// below the baseline's figure is not flagged fewer, a limit below it is.
// The truth is the synthetic board's MaxOpen and the N each variant tries.
func TestSessionsFitBound(t *testing.T) {
	sweep := []int{0, 1, 2, 4, 6, 8}
	for _, tc := range []struct {
		name   string
		sweeps []fitSweep
		// want per variant: figure, bound, flagged fewer, clause in its line.
		want map[string]fitWant
	}{
		{
			name:   "limit found",
			sweeps: []fitSweep{{"int", "sweep", sweep, 5}, {"stack-ext", "sweep", sweep, 5}},
			want: map[string]fitWant{
				"int":       {5, 8, analysis.BoundLimit, false, "; 5 sessions fit (the 6th failed);"},
				"stack-ext": {5, 8, analysis.BoundLimit, false, "; 5 sessions fit (the 6th failed), as with int;"},
			},
		},
		{
			name:   "floor",
			sweeps: []fitSweep{{"int", "sweep", sweep, 0}, {"stack-ext", "sweep", sweep, 0}},
			want: map[string]fitWant{
				"int":       {8, 8, analysis.BoundFloor, false, "; all 8 tried fit (no limit reached);"},
				"stack-ext": {8, 8, analysis.BoundFloor, false, "; all 8 tried fit (no limit reached), as with int;"},
			},
		},
		{
			// The case seen on a real run: a limit sweep for the baseline
			// only, the variant swept to 8 where every session opened.
			name: "variant floor below baseline limit",
			sweeps: []fitSweep{{"int", "sweep", sweep, 9}, {"int", "limit", []int{9, 10, 12}, 9},
				{"stack-ext", "sweep", sweep, 9}},
			want: map[string]fitWant{
				"int":       {9, 12, analysis.BoundLimit, false, "; 9 sessions fit (the 10th failed);"},
				"stack-ext": {8, 8, analysis.BoundFloor, false, "; all 8 tried fit (no limit reached), int fits 9;"},
			},
		},
		{
			name:   "variant limit below baseline limit",
			sweeps: []fitSweep{{"int", "sweep", []int{0, 2, 4, 8, 10, 12}, 9}, {"stack-ext", "sweep", []int{0, 2, 4, 8, 10, 12}, 7}},
			want: map[string]fitWant{
				"int":       {9, 12, analysis.BoundLimit, false, "; 9 sessions fit (the 10th failed);"},
				"stack-ext": {7, 12, analysis.BoundLimit, true, "; 7 sessions fit (the 8th failed), int fits 9;"},
			},
		},
		{
			name:   "variant limit below baseline floor",
			sweeps: []fitSweep{{"int", "sweep", sweep, 0}, {"stack-ext", "sweep", sweep, 6}},
			want: map[string]fitWant{
				"int":       {8, 8, analysis.BoundFloor, false, "; all 8 tried fit (no limit reached);"},
				"stack-ext": {6, 8, analysis.BoundLimit, true, "; 6 sessions fit (the 7th failed), int fits all 8 tried;"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := analyze(t, fitCells(tc.sweeps))
			seen := map[string]bool{}
			for _, v := range s.Verdicts {
				if v.Metric != analysis.VerdictSessionsFit {
					continue
				}
				w, ok := tc.want[v.Variant]
				if !ok {
					t.Fatalf("unexpected variant %q", v.Variant)
				}
				seen[v.Variant] = true
				if float64(v.Value) != w.fit || v.Bound != w.bound || (v.Flag == analysis.FlagFewer) != w.fewer {
					t.Errorf("%s: sessions_fit %v bound %q flag %q, want %v %q fewer=%v", v.Variant, v.Value, v.Bound, v.Flag, w.fit, w.bound, w.fewer)
				}
				if base := tc.want[v.Baseline]; v.BaselineBound != base.bound || float64(v.BaselineValue) != base.fit {
					t.Errorf("%s: baseline %v %q, want %v %q", v.Variant, v.BaselineValue, v.BaselineBound, base.fit, base.bound)
				}
			}
			for _, l := range s.VerdictLines {
				w := tc.want[l.Variant]
				seen[l.Variant+" line"] = true
				if !strings.Contains(l.Text, w.clause) {
					t.Errorf("%s line %q lacks %q", l.Variant, l.Text, w.clause)
				}
				for _, p := range l.Parts {
					if strings.Contains(w.clause, p.Text) && p.Flag != w.fewer {
						t.Errorf("%s: clause %q flagged %v, want %v", l.Variant, p.Text, p.Flag, w.fewer)
					}
				}
				if w.fewer && !l.Flagged {
					t.Errorf("%s: line not flagged although fewer sessions fit", l.Variant)
				}
			}
			for _, o := range analysis.Overviews(s) {
				w := tc.want[o.Key.Variant]
				seen[o.Key.Variant+" overview"] = true
				if o.SessionsFit != w.fit || o.SessionsTried != w.tried || o.SessionsLimit != (w.bound == analysis.BoundLimit) {
					t.Errorf("%s overview: fit %v tried %d limit %v, want %v %d %q", o.Key.Variant, o.SessionsFit, o.SessionsTried, o.SessionsLimit, w.fit, w.tried, w.bound)
				}
			}
			if len(seen) != 3*len(tc.want) {
				t.Errorf("saw %v, want a verdict row, line and overview per variant", seen)
			}
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), `"bound":"`+tc.want["stack-ext"].bound+`"`) {
				t.Errorf("summary.json lacks the bound %q", tc.want["stack-ext"].bound)
			}
			if !strings.Contains(s.Definitions[analysis.VerdictSessionsFit], "floor") {
				t.Errorf("definitions lack sessions_fit: %q", s.Definitions[analysis.VerdictSessionsFit])
			}
		})
	}
}
