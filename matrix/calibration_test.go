package matrix

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/rundir"
)

// qemuReference is what the real firmware measured in Espressif's QEMU
// (testdata/qemu-calibration.json, written from the summary.json of the
// rig's calibration run; docs/qemu.md and sim/README.md say how).
type qemuReference struct {
	Source   string `json:"source"`
	Variants map[string]struct {
		PerSession float64 `json:"per_session"` // B/session, the cost fit's slope
		OneTime    float64 `json:"one_time"`    // B, the cost fit's fixed term
	} `json:"variants"`
	MostSessions int `json:"most_sessions"` // int: largest N whose every session connected
	FailsAt      int `json:"fails_at"`      // int: smallest N at which a session ran out of memory
}

// calibrationMatrix is the default matrix's variants and sweep on the
// virtual board's QEMU profile, with PR 1117's strict behaviour as the rig
// ran, plus the N around the limit the rig found.
const calibrationMatrix = `
seed: 1
repetitions: 3
component:
  behaviour: strict
boards:
  - name: vq
    virtual: esp32s3-qemu
    count: 2
variants:
  - name: int
  - name: stack-ext
    stack_in_ext_ram: true
  - name: alloc-ext
    alloc_in_ext_ram: true
  - name: both-ext
    stack_in_ext_ram: true
    alloc_in_ext_ram: true
scenarios:
  - name: sweep
    scenario: sweep
    n: [0, 1, 2, 4, 6, 8]
    baseline: 1s
    window: 2s
  - name: limit
    scenario: sweep
    n: [9, 10, 11]
    baseline: 1s
    window: 2s
    variants: [int]
`

// TestVirtualBoardMatchesQEMU holds the virtual board's QEMU profile to what
// the real firmware measured in QEMU: per-session cost and one-time cost of
// every variant within 5% (the bar), what each option frees within 5%
// or 64 B, and the same most sessions that fit.
func TestVirtualBoardMatchesQEMU(t *testing.T) {
	raw, err := os.ReadFile("testdata/qemu-calibration.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref qemuReference
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatalf("testdata/qemu-calibration.json: %v", err)
	}
	f, err := Parse("calibration.yaml", []byte(calibrationMatrix))
	if err != nil {
		t.Fatal(err)
	}
	_, trust, urls := startPeer(t)
	dir := t.TempDir()
	res, err := Run(testctx.New(t), f, Options{RunDir: dir, Peer: urls, NewDevice: Devices(trust, HardwareOptions{}),
		StartCapture: CollectorCapture, Manifest: rundir.Manifest{RunID: "calibration", MatrixHash: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Counts(); c[rundir.StatusOK] != len(res.Cells) {
		t.Fatalf("cells: %v", c)
	}
	s, err := analysis.AnalyzeRun(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	type fit struct{ perSession, oneTime float64 }
	got := map[string]fit{}
	for _, c := range s.Costs {
		if c.Scenario != "sweep" {
			continue
		}
		ps, ok1 := c.Metric(analysis.MetricPerSessionCost)
		ot, ok2 := c.Metric(analysis.MetricFixedCost)
		if !ok1 || !ok2 {
			t.Fatalf("%s: no cost fit", c.Variant.Variant)
		}
		got[c.Variant.Variant] = fit{ps.Value, ot.Value}
	}
	within := func(what string, model, qemu, rel, abs float64) {
		t.Helper()
		tol := math.Max(rel*math.Abs(qemu), abs)
		if math.Abs(model-qemu) > tol {
			t.Errorf("%s: virtual %.0f B, QEMU %.0f B: differ by %.0f B, more than %.0f B", what, model, qemu, model-qemu, tol)
		} else {
			t.Logf("%s: virtual %.0f B, QEMU %.0f B (%+.1f%%)", what, model, qemu, 100*(model-qemu)/qemu)
		}
	}
	for name, q := range ref.Variants {
		m, ok := got[name]
		if !ok {
			t.Errorf("variant %s: no virtual figures", name)
			continue
		}
		within(name+" per-session cost", m.perSession, q.PerSession, 0.05, 0)
		within(name+" one-time cost", m.oneTime, q.OneTime, 0.05, 0)
		if name != "int" {
			within(name+" frees", got["int"].oneTime-m.oneTime, ref.Variants["int"].OneTime-q.OneTime, 0.05, 64)
		}
	}
	// Most sessions: the largest N whose every session connected, and the
	// smallest N where one did not (int).
	most, fails := 0, math.MaxInt
	for _, g := range s.Groups {
		if g.Key.Variant != "int" {
			continue
		}
		open, ok := g.Metric(analysis.MetricSessionsOpen)
		if !ok {
			continue
		}
		if int(open.Value) == g.Key.N {
			most = max(most, g.Key.N)
		} else {
			fails = min(fails, g.Key.N)
		}
	}
	if most != ref.MostSessions || fails != ref.FailsAt {
		t.Errorf("int: virtual fits %d sessions and fails at %d, QEMU fits %d and fails at %d", most, fails, ref.MostSessions, ref.FailsAt)
	}
}
