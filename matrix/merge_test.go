package matrix

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/rundir"
)

// runShard runs shard i/n of the e2e matrix into dir, as `wsbench run --shard` does.
func runShard(t *testing.T, dir string, i, n int) {
	t.Helper()
	f, err := Parse("e2e.yaml", []byte(e2eMatrix))
	if err != nil {
		t.Fatal(err)
	}
	_, trust, urls := startPeer(t)
	man := rundir.Manifest{RunID: filepath.Base(dir), ToolVersion: "test", MatrixHash: "m1"}
	man.Matrix, _ = jsonOf(f)
	if n > 0 {
		man.Shard = fmt.Sprintf("%d/%d", i, n)
	}
	res, err := Run(testctx.New(t), f, Options{RunDir: dir, Shard: [2]int{i, n}, Peer: urls,
		NewDevice: Devices(trust, HardwareOptions{}), StartCapture: CollectorCapture, Manifest: man})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cells {
		if c.Status != rundir.StatusOK {
			t.Fatalf("shard %d/%d: cell %s %s: %s", i, n, c.ID, c.Status, c.Reason)
		}
	}
}

func TestMergedShardsEqualOneRun(t *testing.T) {
	root := t.TempDir()
	whole := filepath.Join(root, "whole")
	runShard(t, whole, 0, 0)
	var shards []string
	for i := 1; i <= 3; i++ {
		d := filepath.Join(root, fmt.Sprintf("shard%d", i))
		runShard(t, d, i, 3)
		shards = append(shards, d)
	}
	merged := filepath.Join(root, "merged")
	man, err := Merge(merged, shards)
	if err != nil {
		t.Fatal(err)
	}
	if man.Cells != 12 || len(man.MergedFrom) != 3 {
		t.Fatalf("merged manifest: %d cells from %v", man.Cells, man.MergedFrom)
	}
	a, err := analysis.AnalyzeRun(context.Background(), whole)
	if err != nil {
		t.Fatal(err)
	}
	b, err := analysis.AnalyzeRun(context.Background(), merged)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Groups) != len(b.Groups) || len(a.Costs) != len(b.Costs) {
		t.Fatalf("whole run: %d groups %d fits; merged: %d groups %d fits", len(a.Groups), len(a.Costs), len(b.Groups), len(b.Costs))
	}
	for i, g := range a.Groups {
		h := b.Groups[i]
		if g.Key != h.Key {
			t.Fatalf("group %d: %v vs %v", i, g.Key, h.Key)
		}
		for _, name := range []string{analysis.MetricInternalFreeSteady, analysis.MetricInternalFreeMin, analysis.MetricPSRAMUsed} {
			x, _ := g.Metric(name)
			y, _ := h.Metric(name)
			if x.Value != y.Value {
				t.Errorf("%v %s: whole %v, merged %v", g.Key, name, x.Value, y.Value)
			}
		}
	}
	for i, c := range a.Costs {
		x, _ := c.Metric(analysis.MetricPerSessionCost)
		y, _ := b.Costs[i].Metric(analysis.MetricPerSessionCost)
		if x.Value != y.Value {
			t.Errorf("%v per-session cost: whole %v, merged %v", c.Variant, x.Value, y.Value)
		}
	}

	// Refusals, each with a message that names the problem.
	for _, tt := range []struct {
		name string
		srcs []string
		want string
	}{
		{"missing shard", shards[:2], "missing shard 3/3"},
		{"shard twice", []string{shards[0], shards[1], shards[1]}, "shard 2/3 given twice"},
		{"not a shard", []string{whole, shards[0]}, "is not a shard"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Merge(filepath.Join(root, "x-"+strings.ReplaceAll(tt.name, " ", "-")), tt.srcs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}
