package analysis_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/wsbench/wsbench/analysis/synth"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// TestOwnersSum: every Owners frame of one seq is one snapshot, and the
// owners plus the unattributed remainder account for the internal RAM in
// use at the snapshot's sample (within 1%).
func TestOwnersSum(t *testing.T) {
	var owners []wire.OwnerUse
	var named uint32
	for i := range 90 {
		o := wire.OwnerUse{Label: fmt.Sprintf("tls[%d]/in_buf", i), Heap: wire.HeapInternal, Bytes: 1000, Blocks: 1}
		owners = append(owners, o)
		named += o.Bytes
	}
	owners = append(owners, wire.OwnerUse{Label: "ws/client", Heap: wire.HeapSPIRAM, Bytes: 500, Blocks: 1})
	tests := []struct {
		name     string
		perFrame int
	}{{"one frame", 0}, {"frames of 80", 80}, {"frames of 7", 7}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := synth.Cell{Cell: rundir.Cell{ID: "c", Board: "s3", Variant: "int", Scenario: "sweep", N: 4}, InternalTotal: 400000,
				BaselineFree: 300000, FixedCost: 6000, PerSession: 20000, Noise: 400, Owners: owners, OwnersPerFrame: tc.perFrame, Seed: 3}
			s, _ := analyze(t, []synth.Cell{c})
			r := s.Cells[0]
			if len(r.Owners) != len(owners) {
				t.Fatalf("%d owners kept, want %d (all frames of the snapshot)", len(r.Owners), len(owners))
			}
			var internal int64
			for _, o := range r.Owners {
				if o.Heap == "internal" {
					internal += int64(o.Bytes)
				}
			}
			if internal != int64(named) {
				t.Errorf("internal owners %d B, want %d", internal, named)
			}
			// The sample with the snapshot's seq held 300000-6000-4*20000 ± noise free.
			used := float64(r.OwnersInternalUsed)
			if want := float64(400000 - (300000 - 6000 - 4*20000)); math.Abs(used-want) > 400 {
				t.Errorf("internal used at the snapshot %v, want %v ± 400", used, want)
			}
			if got := float64(internal + r.OwnersUnattributed); math.Abs(got-used) > 0.01*used {
				t.Errorf("owners %d + unattributed %d = %v, want %v within 1%%", internal, r.OwnersUnattributed, got, used)
			}
		})
	}
}
