package matrix

import (
	"context"
	"math"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/peer"
	"github.com/wsbench/wsbench/rundir"
)

// These tests run virtual boards on pseudo-terminals, captured by the real
// collector, against a real peer server on loopback.

const e2eMatrix = `
seed: 7
boards:
  - name: v
    virtual: esp32s3-n8r8
    count: 2
variants:
  - name: int
  - name: stack-ext
    stack_in_ext_ram: true
scenarios:
  - scenario: sweep
    n: [0, 1, 2]
    baseline: 500ms
    window: 2s
repetitions: 2
`

// startPeer starts a peer server on loopback (its certificate also names
// extraSANs) for the test's life.
func startPeer(t *testing.T, extraSANs ...string) (*peer.Server, Trust, PeerURLs) {
	t.Helper()
	srv, err := peer.Start(context.Background(), peer.Config{Host: "127.0.0.1", CertDir: t.TempDir(), ExtraSANs: extraSANs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, Trust{Pool: srv.CAPool()}, PeerURLs{WSURL: srv.WSURL(), HTTPSURL: srv.HTTPSURL()}
}

func runVirtual(t *testing.T, ctx context.Context, dir string, resume bool, wrap func(NewDevice) NewDevice) *Result {
	t.Helper()
	f, err := Parse("e2e.yaml", []byte(e2eMatrix))
	if err != nil {
		t.Fatal(err)
	}
	_, trust, urls := startPeer(t)
	nd := Devices(trust, HardwareOptions{})
	if wrap != nil {
		nd = wrap(nd)
	}
	res, err := Run(ctx, f, Options{RunDir: dir, Resume: resume, Peer: urls, NewDevice: nd,
		StartCapture: CollectorCapture, Manifest: rundir.Manifest{RunID: "e2e", MatrixHash: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestVirtualMatrixEndToEnd(t *testing.T) {
	dir := t.TempDir()
	res := runVirtual(t, testctx.New(t), dir, false, nil)
	if c := res.Counts(); c[rundir.StatusOK] != 12 {
		for _, c := range res.Cells {
			t.Logf("%s: %s %s", c.ID, c.Status, c.Reason)
		}
		t.Fatalf("cells: %v, want 12 ok", c)
	}
	s, err := analysis.AnalyzeRun(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// The stack option moves the websocket task stack out of internal RAM:
	// with one session, steady free internal must be higher by about the
	// stack (4096 B, facts section 1) plus block overhead; the cells' seeds
	// differ (they derive from the cell id), so the model's small documented
	// run-to-run variation is allowed for.
	free := map[string]float64{}
	for _, g := range s.Groups {
		if g.Key.N == 1 {
			m, _ := g.Metric(analysis.MetricInternalFreeSteady)
			free[g.Key.Variant] = m.Value
		}
	}
	if d := free["stack-ext"] - free["int"]; d < 4096-128 || d > 4096+256 {
		t.Fatalf("stack-ext frees %.0f B of internal RAM at n=1, want 3968..4352 (int %.0f, stack-ext %.0f)", d, free["int"], free["stack-ext"])
	}
}

func TestVirtualBoardWithWrongVariantFailsTheCell(t *testing.T) {
	res := runVirtual(t, testctx.New(t), t.TempDir(), false, func(nd NewDevice) NewDevice {
		return func(b Board, slot int) (Device, error) {
			d, err := nd(b, slot)
			return &liar{d}, err
		}
	})
	for _, c := range res.Cells {
		if c.Status != rundir.StatusFailed || !strings.Contains(c.Reason, `wrong firmware on board v: it reports variant "both-ext"`) {
			t.Fatalf("cell %s: %s %q; want failed for the wrong variant", c.ID, c.Status, c.Reason)
		}
	}
}

// liar flashes both-ext whatever the cell asks for.
type liar struct{ Device }

func (l *liar) Prepare(ctx context.Context, c rundir.Cell) (Opener, error) {
	c.Variant = "both-ext"
	c.Options.WSAllocInExtRAM, c.Options.WSTaskStackInExtRAM = true, true
	return l.Device.Prepare(ctx, c)
}

// countingDevice cancels the run after a number of cells have booted.
type countingDevice struct {
	Device
	n      *atomic.Int32
	after  int32
	cancel context.CancelFunc
}

func (d *countingDevice) Prepare(ctx context.Context, c rundir.Cell) (Opener, error) {
	if d.n.Add(1) == d.after {
		d.cancel() // Ctrl-C as this cell starts: it is interrupted, later ones never run
	}
	return d.Device.Prepare(ctx, c)
}

func TestResumeGivesTheSameResults(t *testing.T) {
	whole := t.TempDir()
	runVirtual(t, testctx.New(t), whole, false, nil)

	parts := t.TempDir()
	ctx, cancel := context.WithCancel(testctx.New(t))
	var n atomic.Int32
	res := runVirtual(t, ctx, parts, false, func(nd NewDevice) NewDevice {
		return func(b Board, slot int) (Device, error) {
			d, err := nd(b, slot)
			return &countingDevice{Device: d, n: &n, after: 5, cancel: cancel}, err
		}
	})
	if !res.Interrupted || res.Counts()[rundir.StatusOK] >= 12 {
		t.Fatalf("first part not interrupted: %v", res.Counts())
	}
	res = runVirtual(t, testctx.New(t), parts, true, nil)
	if c := res.Counts(); c[rundir.StatusOK] != 12 {
		t.Fatalf("after resume: %v", c)
	}
	a, err := analysis.AnalyzeRun(context.Background(), whole)
	if err != nil {
		t.Fatal(err)
	}
	b, err := analysis.AnalyzeRun(context.Background(), parts)
	if err != nil {
		t.Fatal(err)
	}
	// Memory figures depend only on the seed of each cell, never on how the
	// run was split.
	got := map[string]float64{}
	for _, c := range b.Cells {
		for _, m := range c.Metrics {
			got[c.ID+"/"+m.Name] = m.Value
		}
	}
	checked := 0
	for _, c := range a.Cells {
		for _, m := range c.Metrics {
			switch m.Name {
			case analysis.MetricInternalFreeSteady, analysis.MetricInternalFreeMin, analysis.MetricPSRAMUsed, analysis.MetricInternalFreeBaseline:
				v, ok := got[c.ID+"/"+m.Name]
				if !ok || (v != m.Value && !(math.IsNaN(v) && math.IsNaN(m.Value))) {
					t.Errorf("%s %s: whole run %v, resumed run %v", c.ID, m.Name, m.Value, v)
				}
				checked++
			}
		}
	}
	if checked < 12*3 {
		t.Fatalf("compared only %d figures", checked)
	}
}

func TestUnreachablePeerFailsTheCell(t *testing.T) {
	f, err := Parse("e2e.yaml", []byte(e2eMatrix))
	if err != nil {
		t.Fatal(err)
	}
	f.Scenarios[0].N = []int{2}
	f.Repetitions = 1
	f.Boards[0].Count = 1
	// Port 9 (discard) on loopback: nothing listens there, so every
	// connection is refused.
	res, err := Run(testctx.New(t), f, Options{RunDir: t.TempDir(),
		Peer:      PeerURLs{WSURL: "wss://127.0.0.1:9/ws", HTTPSURL: "https://127.0.0.1:9/bytes"},
		NewDevice: Devices(Trust{InsecureSkipVerify: true}, HardwareOptions{}), StartCapture: CollectorCapture,
		Manifest: rundir.Manifest{RunID: "unreachable"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cells {
		if c.Status != rundir.StatusFailed || !strings.Contains(c.Reason, "no TLS session connected (2 failed") {
			t.Fatalf("cell %s: %s %q; want failed: no session connected", c.ID, c.Status, c.Reason)
		}
	}
}
