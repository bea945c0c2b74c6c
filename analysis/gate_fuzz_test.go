package analysis

import (
	"math"
	"strings"
	"testing"
)

// FuzzParseGate: any input gives a gate or an error, never a panic, and an
// accepted gate names a known metric with a finite limit.
func FuzzParseGate(f *testing.F) {
	for _, s := range []string{"internal_free_steady:-1KB", "internal_free_steady:-2%", "leak_per_cycle:significant",
		"per_session_internal_cost:+512B", "ws_stack_hwm:-0.5K", "resets:1", ":", "x:-", "internal_free_steady:-1e309KB", "internal_free_steady:NaN",
		"ws_stack_hwm<512B", "internal_free_min<16KiB", "resets>0", "handler_latency_p99>5ms", "internal_free_steady:1KB", "internal_free_steady:+1KB",
		"internal_fragmentation>50%", "a<b:c>d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGate(s)
		if err != nil {
			return
		}
		if _, ok := metricInfo[g.Metric]; !ok {
			t.Fatalf("%q: unknown metric %q accepted", s, g.Metric)
		}
		if math.IsNaN(g.Limit) || math.IsInf(g.Limit, 0) {
			t.Fatalf("%q: limit %v", s, g.Limit)
		}
		if g.Kind != GateSignificant && g.Limit == 0 && !strings.Contains(s, "0") {
			t.Fatalf("%q: zero limit from no zero", s)
		}
		// A change limit points in the metric's worse direction.
		if g.Kind == GateChange || g.Kind == GateRelative {
			if (g.Limit < 0) != (metricInfo[g.Metric].Better == HigherIsBetter) && g.Limit != 0 {
				t.Fatalf("%q: limit %v points the better way", s, g.Limit)
			}
		}
		if (g.Kind == GateBelow || g.Kind == GateAbove) && g.Limit < 0 {
			t.Fatalf("%q: negative threshold %v", s, g.Limit)
		}
	})
}
