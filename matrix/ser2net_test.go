package matrix

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsbench/wsbench/collector"
	"github.com/wsbench/wsbench/internal/pty"
	"github.com/wsbench/wsbench/internal/ser2nettest"
	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/sim"
	"github.com/wsbench/wsbench/wire"
)

// A board on a lab host: a virtual board on a pseudo-terminal, exported by a
// real ser2net over RFC 2217 on loopback, captured through an rfc2217:// port.

// remoteDevice is a virtual board reached through ser2net. On the cell
// named in killCell it kills ser2net mid-cell and restarts it.
type remoteDevice struct {
	t        *testing.T
	trust    Trust
	killCell string
	killed   *atomic.Bool

	sb            *sim.Board
	master, slave *os.File
	s2n           *ser2nettest.Server
	cell          rundir.Cell
	cancel        context.CancelFunc
	done          chan error
	killDone      chan struct{} // closed when the kill-and-restart goroutine has ended
}

func (d *remoteDevice) Name() string { return "ser2net" }

func (d *remoteDevice) Prepare(ctx context.Context, c rundir.Cell) (Opener, error) {
	sb, err := sim.New(sim.Config{Profile: "esp32s3-n8r8", Variant: c.Variant, Options: c.Options, Behaviour: c.Behaviour,
		Seed: c.Params.Seed, Realtime: true, RootCAs: d.trust.Pool})
	if err != nil {
		return nil, err
	}
	m, s, err := pty.Open()
	if err != nil {
		return nil, err
	}
	d.t.Cleanup(func() { m.Close(); s.Close() }) // on every path; closing twice is harmless
	d.sb, d.master, d.slave, d.cell = sb, m, s, c
	d.s2n = ser2nettest.Start(d.t, s.Name())
	// ser2net cannot drive DTR/RTS on a pty and never acknowledges them.
	return PortOpener(d.s2n.URL("ign_set_control"), 115200), nil
}

func (d *remoteDevice) Boot(ctx context.Context, _ func(wire.Command) error) error {
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	d.done = make(chan error, 1)
	go func() { d.done <- d.sb.Serve(ctx, d.master) }()
	d.killDone = make(chan struct{})
	if d.cell.ID != d.killCell {
		close(d.killDone)
		return nil
	}
	go func() {
		defer close(d.killDone)
		sleep := func(dur time.Duration) bool {
			select {
			case <-time.After(dur):
				return true
			case <-ctx.Done(): // the cell ended first: no kill
				return false
			}
		}
		if !sleep(1200 * time.Millisecond) { // mid steady window (baseline 500 ms + ramp)
			return
		}
		d.s2n.Kill()
		d.killed.Store(true)
		sleep(500 * time.Millisecond)
		if err := d.s2n.Restart(); err != nil {
			d.t.Errorf("restart ser2net: %v", err)
		}
	}()
	return nil
}

// Release stops the board and ser2net; it fails rather than waits for
// ever when the board does not stop.
func (d *remoteDevice) Release() error {
	d.cancel()
	d.master.Close() // non-blocking master: this ends a write nobody reads
	var err error
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		err = errors.New("virtual board still running 30 s after its pty was closed")
	}
	select {
	case <-d.killDone:
	case <-time.After(30 * time.Second):
		err = errors.Join(err, errors.New("ser2net kill-and-restart still running 30 s after the cell"))
	}
	d.slave.Close()
	d.s2n.Kill()
	return err
}

func TestMatrixThroughSer2netSurvivesItsDeath(t *testing.T) {
	ser2nettest.Binary(t)
	const m = `
boards:
  - name: lab
    virtual: esp32s3-n8r8
variants:
  - name: int
scenarios:
  - scenario: sweep
    n: [1]
    baseline: 500ms
    window: 2s
repetitions: 2
`
	f, err := Parse("lab.yaml", []byte(m))
	if err != nil {
		t.Fatal(err)
	}
	_, trust, urls := startPeer(t)
	dir := t.TempDir()
	var killed atomic.Bool
	killCell := "lab__int__sweep__n1__r1"
	res, err := Run(testctx.New(t), f, Options{RunDir: dir, Peer: urls, StartCapture: CollectorCapture,
		Manifest: rundir.Manifest{RunID: "lab"},
		NewDevice: func(b Board, slot int) (Device, error) {
			return &remoteDevice{t: t, trust: trust, killCell: killCell, killed: &killed}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !killed.Load() {
		t.Fatal("ser2net was never killed: the test did not test anything")
	}
	// Both cells end with a status and reason on disk, and the run went on past the loss.
	for _, c := range res.Cells {
		t.Logf("%s: %s %s", c.ID, c.Status, c.Reason)
		if c.Status != rundir.StatusOK && c.Status != rundir.StatusFailed {
			t.Fatalf("cell %s: %s", c.ID, c.Status)
		}
	}
	if c := res.Cells[1]; c.Status != rundir.StatusOK {
		t.Fatalf("the cell after the loss: %s %s", c.Status, c.Reason)
	}
	// The capture of the killed cell recorded the loss and the reconnection.
	var info collector.Info
	if err := rundir.ReadJSON(filepath.Join(rundir.CellDir(dir, killCell), rundir.CaptureFile), &info); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(filepath.Join(rundir.CellDir(dir, killCell), rundir.ConsoleFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(log, []byte("port_lost")) || !bytes.Contains(log, []byte("port_reopened")) {
		t.Fatalf("console log of %s does not record the loss and the reopening:\n%s", killCell, log)
	}
	if res.Cells[0].Status == rundir.StatusOK && info.Stats.Frames == 0 {
		t.Fatal("killed cell ok but no frames captured")
	}
}
