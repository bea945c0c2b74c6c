package sim

import (
	"fmt"
	"testing"

	"github.com/wsbench/wsbench/wire"
)

// BenchmarkSweepN8 runs full sweeps (N=8, 2 s baseline, 10 s window at
// 100 ms) in virtual time with real loopback TLS, reporting cells/s and
// virtual samples/s.
func BenchmarkSweepN8(b *testing.B) {
	p := startPeer(b)
	h := startBoard(b, Config{Profile: "esp32s3-n8r8", RootCAs: p.pool})
	waitHello(h, 1)
	samples := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		par := wire.RunParams{Cell: fmt.Sprintf("c%d", i), Scenario: wire.ScenarioSweep, N: 8, PeriodMS: 100, DetailEvery: 10,
			BaselineMS: 2000, WindowMS: 10000, HandlerMode: wire.HandlerQueued, Seed: uint64(i), WSURL: p.wsURL(), HTTPSURL: p.httpsURL()}
		end, _, _ := h.runAndWait(par)
		if end.Status != "ok" {
			b.Fatalf("%+v", end)
		}
		samples += int(end.SamplesSent)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cells/s")
	b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
}
