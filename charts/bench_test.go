package charts

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/analysis/synth"
	"github.com/wsbench/wsbench/rundir"
)

// BenchmarkReport1M analyses and renders a run of 1 million samples: 3
// variants x N=1,4,8, one repetition each, 111,111 steady samples a cell.
// It reports the HTML size (target: under 5 MB) and samples/s (target:
// under 3 s for the whole report).
func BenchmarkReport1M(b *testing.B) {
	js, err := EChartsJS(context.Background(), os.Stderr)
	if err != nil {
		b.Skipf("echarts: %v", err)
	}
	dir := filepath.Join(b.TempDir(), "run")
	cells := synth.Sweep("esp32s3-n8r8", []string{"baseline", "stack-ext", "all-ext"}, map[string]uint32{"baseline": 24000, "stack-ext": 20000, "all-ext": 16000}, []int{1, 4, 8}, 1, 1500)
	total := 0
	for i := range cells {
		cells[i].SteadySamples = 1_000_000 / len(cells)
		total += cells[i].SteadySamples + cells[i].Cell.N + 22 // baseline 20, ramp N, teardown and done
	}
	if err := synth.WriteRun(dir, cells); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, bm := range []struct {
		name    string
		analyze bool
	}{{"analyze+render", true}, {"render", false}} {
		b.Run(bm.name, func(b *testing.B) {
			s, err := analysis.AnalyzeRun(ctx, dir)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if bm.analyze {
					if s, err = analysis.AnalyzeRun(ctx, dir); err != nil {
						b.Fatal(err)
					}
				}
				if err := WriteReportContext(ctx, dir, s, Options{EChartsJS: js}); err != nil {
					b.Fatal(err)
				}
			}
			fi, err := os.Stat(filepath.Join(dir, rundir.ReportFile))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(fi.Size())/1e6, "html-MB")
			b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
