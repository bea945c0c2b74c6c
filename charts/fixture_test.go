package charts

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/analysis/synth"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// Hostile names a board or a matrix file could carry.
const (
	hostileVariant = `<script>window.__xss=1</script>`
	hostileIDF     = `"><img src=x onerror="window.__xss=2">`
	hostileTask    = `<img src=x onerror="window.__xss=3">`
)

// fixtureRun writes a run with every kind of chart: a sweep of three
// variants (one with a hostile name) at N=1,4,8 with 3 repetitions, owners,
// a reset and a watchdog, a churn pair (one leaking) and two handler modes.
func fixtureRun(t testing.TB, steadySamples int) (string, *analysis.Summary) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run-fixture")
	costs := map[string]uint32{"baseline": 24000, "stack-ext": 20000, hostileVariant: 16000}
	cells := synth.Sweep("esp32s3-n8r8", []string{"baseline", "stack-ext", hostileVariant}, costs, []int{1, 4, 8}, 3, 1500)
	own := []wire.OwnerUse{
		{Label: "tls[0]/in_buf", Heap: wire.HeapInternal, Bytes: 16717}, {Label: "tls[1]/in_buf", Heap: wire.HeapInternal, Bytes: 16717},
		{Label: "tls[0]/out_buf", Heap: wire.HeapInternal, Bytes: 4429}, {Label: "ws/task_stack", Heap: wire.HeapInternal, Bytes: 4096},
		{Label: "ws/client", Heap: wire.HeapSPIRAM, Bytes: 900}, {Label: "lwip/" + hostileVariant, Heap: wire.HeapInternal, Bytes: 2300},
	}
	for i := range cells {
		c := &cells[i]
		c.SteadySamples = steadySamples
		if c.Cell.N == 8 {
			c.Owners = own
		}
		if c.Cell.Variant == "stack-ext" {
			c.HWM = 380
		}
		if c.Cell.Variant == "baseline" && c.Cell.N == 8 && c.Cell.Rep == 0 {
			c.ResetAtSteady = steadySamples / 2
			c.WatchdogAtSteady = steadySamples / 4
			c.WatchdogTask = hostileTask
		}
		if c.Cell.Variant == hostileVariant && c.Cell.Rep == 0 {
			c.Hello = &wire.Hello{Board: c.Cell.Board, Chip: "esp32s3", IDFVersion: hostileIDF, InternalTotal: 400000, SPIRAMTotal: 8 << 20,
				Options: wire.Options{WSTaskStack: 4096}}
		}
	}
	var lat []uint32
	for i := 1; i <= 50; i++ {
		lat = append(lat, uint32(i*40))
	}
	var slow []uint32
	for i := 1; i <= 50; i++ {
		slow = append(slow, uint32(i*2000))
	}
	cells = append(cells,
		synth.Cell{Cell: rundir.Cell{ID: "churn-leaky", Board: "esp32s3-n8r8", Variant: "baseline", Behaviour: "fallback", Scenario: "churn", Label: "churn", N: 2}, Cycles: 40, LeakPerCycle: 96, Noise: 300, PerSession: 24000, Seed: 5},
		synth.Cell{Cell: rundir.Cell{ID: "churn-tight", Board: "esp32s3-n8r8", Variant: "stack-ext", Behaviour: "fallback", Scenario: "churn", Label: "churn", N: 2}, Cycles: 40, Noise: 300, PerSession: 20000, Seed: 6},
		synth.Cell{Cell: rundir.Cell{ID: "handler-queued", Board: "esp32s3-n8r8", Variant: "baseline", Behaviour: "fallback", Scenario: "handler", Label: "handler-queued", N: 1}, HandlerEvents: 500, LatencyUS: lat},
		synth.Cell{Cell: rundir.Cell{ID: "handler-inline", Board: "esp32s3-n8r8", Variant: "baseline", Behaviour: "fallback", Scenario: "handler", Label: "handler-inline", N: 1}, HandlerEvents: 500, LatencyUS: slow},
	)
	if err := synth.WriteRun(dir, cells); err != nil {
		t.Fatal(err)
	}
	s, err := analysis.AnalyzeRun(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// The fixture's baseline variant is called "baseline" (a matrix would
	// say baseline_variant: baseline).
	s.Judgement.Baseline = "baseline"
	s.Verdicts, s.VerdictLines = analysis.Judge(s, s.Judgement)
	return dir, s
}
