package analysis_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/analysis/synth"
)

// blockHeader is the TLSF allocator's per-block size header
// (/work/shared/facts/esp32-memory.md, "allocator": 4 bytes).
const blockHeader = 4

// coverageModel is a synthetic default sweep: a baseline variant and one
// that moves the websocket task's 4096-byte stack (and its block header)
// out of internal RAM. At most 5 sessions fit, as on the virtual board. Costs are of the virtual board's order (one TLS
// session about 32 KB, the client about 6.6 KB besides its session); the
// noise is per sample ±400 B and per cell ±300 B, more than the virtual
// board shows and of the order of a real board's Wi-Fi buffers in flight.
func coverageModel(seed uint64, reps int) synth.Model {
	return synth.Model{
		Board: "s3", Variants: []string{"int", "stack-ext"},
		Truth: map[string]synth.Truth{
			"int":       {BaselineFree: 190000, Fixed: 6600, PerSession: 32052},
			"stack-ext": {BaselineFree: 190000, Fixed: 6600 - 4096 - blockHeader, PerSession: 32052},
		},
		Ns: []int{0, 1, 2, 4, 6, 8}, Reps: reps, Noise: 400, Jitter: 300, Seed: seed, Samples: 10, MaxOpen: 5,
	}
}

// TestCostCoverage is the coverage test of the cost model: over 200 seeded
// synthetic runs, each 95% interval (per-session cost, one-time cost, their
// differences against the baseline variant, free at N=0) covers the true
// value in at least 90% of runs.
//
// Each run's cells are encoded and analysed in memory (the record stream
// and per-cell analysis of AnalyzeCell, then FitCosts as AnalyzeRun does):
// writing 7200 cell directories took most of the test's time. One run also
// goes through WriteRun and AnalyzeRun, which must give the same fits.
func TestCostCoverage(t *testing.T) {
	runs := 200
	if testing.Short() {
		runs = 40
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Three repetitions per N keep 200 runs (7200 cells) quick; the fit
	// does not need six (TestStackMoveFreesItsStack uses the default six).
	const reps = 3
	t.Run("same as AnalyzeRun", func(t *testing.T) {
		m := coverageModel(1, reps)
		s, _ := analyze(t, m.Cells())
		costs, err := coverageCosts(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if len(costs) != len(s.Costs) {
			t.Fatalf("%d cost fits in memory, %d from the run directory", len(costs), len(s.Costs))
		}
		for _, want := range s.Costs {
			i := slices.IndexFunc(costs, func(c analysis.CostResult) bool { return c.Variant == want.Variant })
			if i < 0 {
				t.Fatalf("no in-memory fit of %v", want.Variant)
			}
			for _, wm := range want.Metrics {
				got, ok := costs[i].Metric(wm.Name)
				if !ok || !agree(float64(got.Value), float64(wm.Value)) || !agree(float64(got.Lo), float64(wm.Lo)) || !agree(float64(got.Hi), float64(wm.Hi)) {
					t.Errorf("%v %s: in memory %+v, from the run directory %+v", want.Variant, wm.Name, got, wm)
				}
			}
		}
	})
	results := make([]map[string]bool, runs)
	errs := make([]error, runs)
	var wg sync.WaitGroup
	work := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for seed := range work {
				results[seed], errs[seed] = coverageRun(ctx, coverageModel(uint64(seed+1), reps))
			}
		})
	}
	for seed := range runs {
		work <- seed
	}
	close(work)
	wg.Wait()
	covered := map[string]int{}
	for seed := range runs {
		if errs[seed] != nil {
			t.Fatalf("run %d: %v", seed, errs[seed])
		}
		for k, ok := range results[seed] {
			if ok {
				covered[k]++
			}
		}
	}
	if len(covered) == 0 {
		t.Fatal("nothing checked")
	}
	for _, k := range []string{"int " + analysis.MetricPerSessionCost, "int " + analysis.MetricFixedCost,
		"stack-ext " + analysis.MetricPerSessionCost, "stack-ext " + analysis.MetricFixedCost,
		"difference " + analysis.MetricFixedCost, "difference " + analysis.MetricPerSessionCost} {
		rate := float64(covered[k]) / float64(runs)
		t.Logf("%-40s 95%% interval covers the truth in %d of %d runs (%.1f%%)", k, covered[k], runs, 100*rate)
		if rate < 0.90 {
			t.Errorf("%s: coverage %.3f, want >= 0.90", k, rate)
		}
	}
}

// agree says whether a and b agree to 1e-9 relative (NaN agrees with NaN).
func agree(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// coverageCosts encodes the cells of m in memory, analyses each as
// AnalyzeCell does and fits their costs as AnalyzeRun does.
func coverageCosts(ctx context.Context, m synth.Model) ([]analysis.CostResult, error) {
	var (
		buf   bytes.Buffer
		cells []analysis.CellResult
	)
	for _, c := range m.Cells() {
		buf.Reset()
		cell, err := synth.EncodeCell(&buf, c)
		if err != nil {
			return nil, err
		}
		r, err := analysis.AnalyzeRecords(ctx, &buf, cell.ID, cell)
		if err != nil {
			return nil, err
		}
		cells = append(cells, r)
	}
	return analysis.FitCosts(cells), nil
}

// coverageRun analyses one synthetic run and says which intervals cover
// the truth.
func coverageRun(ctx context.Context, m synth.Model) (map[string]bool, error) {
	costs, err := coverageCosts(ctx, m)
	if err != nil {
		return nil, err
	}
	if len(costs) != 2 {
		return nil, fmt.Errorf("%d cost fits, want 2", len(costs))
	}
	covered := map[string]bool{}
	in := func(m analysis.Metric, ok bool, want float64) bool {
		return ok && float64(m.Lo) <= want && want <= float64(m.Hi)
	}
	for _, c := range costs {
		tr := m.Truth[c.Variant.Variant]
		ps, ok := c.Metric(analysis.MetricPerSessionCost)
		covered[c.Variant.Variant+" "+analysis.MetricPerSessionCost] = in(ps, ok, float64(tr.PerSession))
		fc, ok := c.Metric(analysis.MetricFixedCost)
		covered[c.Variant.Variant+" "+analysis.MetricFixedCost] = in(fc, ok, float64(tr.Fixed))
	}
	base, other := &costs[0], &costs[1]
	if base.Variant.Variant != "int" {
		base, other = other, base
	}
	for _, chk := range []struct {
		metric string
		want   float64
	}{
		{analysis.MetricFixedCost, -(4096 + blockHeader)},
		{analysis.MetricPerSessionCost, 0},
	} {
		d, err := analysis.CostDifference(base, other, chk.metric)
		if err != nil {
			return nil, err
		}
		covered["difference "+chk.metric] = d.Lo <= chk.want && chk.want <= d.Hi
	}
	return covered, nil
}

// TestStackMoveFreesItsStack: a variant that moves the 4096-byte task stack
// out of internal RAM differs from its baseline by 4096 B (± the block
// header) in the one-time cost and by nothing significant per session.
func TestStackMoveFreesItsStack(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s, _ := analyze(t, coverageModel(seed, 6).Cells())
			base, other := &s.Costs[0], &s.Costs[1]
			if base.Variant.Variant != "int" {
				base, other = other, base
			}
			d, err := analysis.CostDifference(base, other, analysis.MetricFixedCost)
			if err != nil {
				t.Fatal(err)
			}
			// The estimate lies within the interval's half width of the
			// truth, and the interval holds 4096 ± the header.
			if !(d.Lo <= -4096+blockHeader && -4096-blockHeader-blockHeader <= d.Hi) || math.Abs(d.Delta+4096) > 600 {
				t.Errorf("one-time cost difference %.0f [%.0f, %.0f], want -4096 ± %d", d.Delta, d.Lo, d.Hi, blockHeader)
			}
			if d.P > 0.01 {
				t.Errorf("one-time cost difference p = %v, want < 0.01", d.P)
			}
			ps, err := analysis.CostDifference(base, other, analysis.MetricPerSessionCost)
			if err != nil {
				t.Fatal(err)
			}
			if ps.Lo > 0 || ps.Hi < 0 {
				t.Errorf("per-session difference %.0f [%.0f, %.0f] excludes 0", ps.Delta, ps.Lo, ps.Hi)
			}
			t.Logf("one-time %.0f [%.0f, %.0f] p=%.2g; per session %.0f [%.0f, %.0f] p=%.2g", d.Delta, d.Lo, d.Hi, d.P, ps.Delta, ps.Lo, ps.Hi, ps.P)
		})
	}
}
