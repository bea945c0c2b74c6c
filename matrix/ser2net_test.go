package matrix

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/wsbench/wsbench/collector"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/sim"
	"github.com/wsbench/wsbench/wire"
	"golang.org/x/term"
)

// A board on a lab host: a virtual board on a pseudo-terminal, exported by a
// real ser2net over RFC 2217 on loopback, captured through an rfc2217:// port.

func ser2netPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"ser2net", "/usr/sbin/ser2net"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("ser2net not installed (CI=true): .ci/run installs the Debian package ser2net")
	}
	t.Skip("ser2net not installed: apt-get install ser2net to run this test")
	return ""
}

type ser2net struct {
	bin, cfg string
	port     int
	mu       sync.Mutex
	cmd      *exec.Cmd
	out      bytes.Buffer
}

func startSer2net(t *testing.T, dev string) *ser2net {
	t.Helper()
	s := &ser2net{bin: ser2netPath(t), cfg: filepath.Join(t.TempDir(), "ser2net.yaml")}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := fmt.Sprintf("%%YAML 1.1\n---\nconnection: &board\n  accepter: telnet(rfc2217),tcp,127.0.0.1,%d\n  enable: on\n  options:\n    kickolduser: true\n  connector: serialdev,%s,115200n81,local\n", s.port, dev)
	if err := os.WriteFile(s.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.kill)
	return s
}

func (s *ser2net) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmd = exec.Command(s.bin, "-d", "-u", "-c", s.cfg) // foreground, no UUCP locks
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if err := s.cmd.Start(); err != nil {
		return err
	}
	go s.cmd.Wait()
	for range 250 { // up to 5 s for the listening socket, without connecting to it
		if tcpListening(s.port) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("ser2net not listening on %d: %s", s.port, s.out.String())
}

// kill ends ser2net abruptly (SIGKILL), as a crashed lab host would.
func (s *ser2net) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		for range 250 {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid)); err != nil {
				break
			}
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid)); bytes.Contains(b, []byte("zombie")) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	s.cmd = nil
}

func tcpListening(port int) bool {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return false
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) > 3 && strings.HasSuffix(fl[1], want) && fl[3] == "0A" {
			return true
		}
	}
	return false
}

// remoteDevice is a virtual board reached through ser2net. On the cell
// named in killCell it kills ser2net mid-cell and restarts it.
type remoteDevice struct {
	t        *testing.T
	trust    Trust
	killCell string
	killed   *atomic.Bool

	sb            *sim.Board
	master, slave *os.File
	s2n           *ser2net
	cell          rundir.Cell
	cancel        context.CancelFunc
	done          chan error
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
	if _, err := term.MakeRaw(int(s.Fd())); err != nil {
		return nil, err
	}
	d.sb, d.master, d.slave, d.cell = sb, m, s, c
	d.s2n = startSer2net(d.t, s.Name())
	// ser2net cannot drive DTR/RTS on a pty and never acknowledges them.
	return PortOpener(fmt.Sprintf("rfc2217://127.0.0.1:%d?ign_set_control", d.s2n.port), 115200), nil
}

func (d *remoteDevice) Boot(ctx context.Context, _ func(wire.Command) error) error {
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	d.done = make(chan error, 1)
	go func() { d.done <- d.sb.Serve(ctx, d.master) }()
	if d.cell.ID == d.killCell {
		go func() {
			time.Sleep(1200 * time.Millisecond) // mid steady window (baseline 500 ms + ramp)
			d.s2n.kill()
			d.killed.Store(true)
			time.Sleep(500 * time.Millisecond)
			if err := d.s2n.start(); err != nil {
				d.t.Errorf("restart ser2net: %v", err)
			}
		}()
	}
	return nil
}

func (d *remoteDevice) Release() error {
	d.cancel()
	d.master.Close()
	<-d.done
	d.slave.Close()
	d.s2n.kill()
	return nil
}

func TestMatrixThroughSer2netSurvivesItsDeath(t *testing.T) {
	ser2netPath(t)
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
	res, err := Run(context.Background(), f, Options{RunDir: dir, Peer: urls, StartCapture: CollectorCapture,
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
