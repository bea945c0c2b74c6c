package analysis_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/analysis/synth"
	"github.com/wsbench/wsbench/rundir"
)

// peakHeap samples the live heap every few milliseconds until stop is
// closed and returns the largest value seen.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// BenchmarkAnalyzeRun10M streams one cell of 10 million samples (plus a
// HeapDetail every 10 samples) from a generated records file
// ($WSBENCH_BENCH_SAMPLES sets another count).
func BenchmarkAnalyzeRun10M(b *testing.B) {
	samples := 10_000_000
	if s := os.Getenv("WSBENCH_BENCH_SAMPLES"); s != "" {
		fmt.Sscan(s, &samples)
	}
	dir := filepath.Join(b.TempDir(), "run")
	if err := synth.WriteRun(dir, []synth.Cell{{Cell: rundir.Cell{ID: "big", Variant: "v", N: 4}, PerSession: 20000,
		SteadySamples: samples, Noise: 4096, Seed: 1}}); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(rundir.CellDir(dir, "big"), rundir.RecordsFile))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	var peak atomic.Uint64
	runtime.GC()
	b.ResetTimer()
	for b.Loop() {
		stop := make(chan struct{})
		pk := peakHeap(stop)
		s, err := analysis.AnalyzeRun(context.Background(), dir)
		close(stop)
		peak.Store(max(peak.Load(), <-pk))
		if err != nil {
			b.Fatal(err)
		}
		if m, ok := s.Cells[0].Metric(analysis.MetricInternalFreeSteady); !ok || m.N != samples {
			b.Fatalf("steady n = %d", m.N)
		}
	}
	b.ReportMetric(float64(samples)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
}
