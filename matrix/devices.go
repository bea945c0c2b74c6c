package matrix

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wsbench/wsbench/collector"
	"github.com/wsbench/wsbench/idf"
	"github.com/wsbench/wsbench/internal/pty"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rfc2217"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/sim"
	"github.com/wsbench/wsbench/wire"
)

// Trust is how boards verify the peer server.
type Trust struct {
	Pool               *x509.CertPool
	CAFile             string
	InsecureSkipVerify bool
}

// HardwareOptions configure real boards.
type HardwareOptions struct {
	Project       string // ESP-IDF project, default "firmware"
	ComponentPath string // local checkout of the component under test
	Tool          idf.Tool
	// SizeDir, when set, receives each built image's static memory report
	// (rundir.SizeFile names it), for the report.
	SizeDir string
	// RunDir, when set, is the run directory: an emulated board's emulator
	// output goes to its cell's rundir.EmulatorFile.
	RunDir string
}

// Devices returns the NewDevice that makes virtual boards for virtual
// entries, runs the firmware in QEMU for qemu entries (matrix/qemu.go), and
// drives real boards (build, flash, serial or RFC 2217 port) for the others.
func Devices(trust Trust, hw HardwareOptions) NewDevice {
	images := &qemuImages{}
	return func(b Board, slot int) (Device, error) {
		name := b.Name
		if b.Count > 1 {
			name = fmt.Sprintf("%s#%d", b.Name, slot+1)
		}
		if b.Virtual != "" {
			if _, err := sim.ProfileByName(b.Virtual); err != nil {
				return nil, err
			}
			return &virtualDevice{name: name, board: b, trust: trust}, nil
		}
		if b.QEMU != "" {
			return newQEMUDevice(name, b, hw, trust, images)
		}
		return &hardwareDevice{name: name, board: b, hw: hw, trust: trust}, nil
	}
}

// virtualDevice runs a fresh virtual board per cell on a pseudo-terminal, so
// that the capture reads it exactly as it reads a USB serial port.
type virtualDevice struct {
	name  string
	board Board
	trust Trust

	sb     *sim.Board
	master *os.File
	slave  *os.File
	cancel context.CancelFunc
	done   chan error
}

func (d *virtualDevice) Name() string { return d.name }

func simFaults(m map[string]int) sim.Faults {
	return sim.Faults{LeakBytes: uint32(m["leak"]), SmallStack: m["small_stack"] != 0, PSRAMFail: m["psram_fail"] != 0}
}

func (d *virtualDevice) Prepare(ctx context.Context, c rundir.Cell) (Opener, error) {
	sb, err := sim.New(sim.Config{
		Profile: d.board.Virtual, Variant: c.Variant, Options: c.Options, Behaviour: c.Behaviour,
		Seed: c.Params.Seed, Realtime: d.board.Realtime, Faults: simFaults(c.Faults),
		RootCAs: d.trust.Pool, CAFile: d.trust.CAFile, InsecureSkipVerify: d.trust.InsecureSkipVerify,
	})
	if err != nil {
		return nil, err
	}
	// A raw pty whose master stays non-blocking (internal/pty): Release
	// relies on closing the master to end a write nobody reads.
	master, slave, err := pty.Open()
	if err != nil {
		return nil, err
	}
	d.sb, d.master, d.slave = sb, master, slave
	return Opener(collector.SerialOpener(slave.Name(), d.board.Baud)), nil
}

func (d *virtualDevice) Boot(ctx context.Context, _ func(wire.Command) error) error {
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	d.done = make(chan error, 1)
	go func() { d.done <- d.sb.Serve(ctx, d.master) }()
	return nil
}

// releaseTimeout bounds the wait for a virtual board to stop.
const releaseTimeout = 30 * time.Second

func (d *virtualDevice) Release() error {
	var err error
	if d.cancel != nil {
		d.cancel()
		// Closing the master unblocks a board blocked writing to a pty
		// nobody reads (it is non-blocking: internal/pty).
		d.master.Close()
		select {
		case err = <-d.done:
		case <-time.After(releaseTimeout):
			err = fmt.Errorf("virtual board %s still running %v after its pty was closed", d.name, releaseTimeout)
		}
		d.cancel, d.done = nil, nil
	}
	if d.master != nil {
		d.master.Close()
		d.slave.Close()
		d.master, d.slave = nil, nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, os.ErrClosed) {
		err = nil
	}
	return err
}

// hardwareDevice is a real board on a serial or RFC 2217 port.
type hardwareDevice struct {
	name    string
	board   Board
	hw      HardwareOptions
	trust   Trust
	flashed string // firmware variant (and behaviour) flashed by this run
}

func (d *hardwareDevice) Name() string { return d.name }

func (d *hardwareDevice) Prepare(ctx context.Context, c rundir.Cell) (Opener, error) {
	fw := c.Variant
	if d.board.Flash == nil || *d.board.Flash {
		if d.flashed != fw+"/"+c.Behaviour {
			// The image embeds the peer's CA and says which placement
			// behaviour (branch) it was built as; Hello reports both.
			art, err := idf.Build(ctx, idf.BuildOptions{Tool: d.hw.Tool, Project: d.hw.Project, Target: d.board.Target,
				Variant: fw, ComponentPath: d.hw.ComponentPath, Behaviour: c.Behaviour, PeerCA: d.trust.CAFile})
			if err != nil {
				return nil, fmt.Errorf("build variant %s: %w", fw, err)
			}
			if d.hw.SizeDir != "" && art.SizeJSON != "" {
				if err := os.MkdirAll(d.hw.SizeDir, 0o755); err != nil {
					return nil, fmt.Errorf("store size report: %w", err)
				}
				b, err := os.ReadFile(art.SizeJSON)
				if err != nil {
					return nil, fmt.Errorf("store size report: %w", err)
				}
				if err := rundir.WriteFile(filepath.Join(d.hw.SizeDir, rundir.SizeFile(d.board.Target, fw, c.Behaviour)), b, 0o644); err != nil {
					return nil, err
				}
			}
			if err := idf.Flash(ctx, idf.FlashOptions{Tool: d.hw.Tool, Project: art.Project, Target: d.board.Target,
				Variant: fw, Port: d.board.Port}); err != nil {
				return nil, fmt.Errorf("flash variant %s to %s: %w", fw, d.board.Port, err)
			}
			d.flashed = fw + "/" + c.Behaviour
		}
	}
	return PortOpener(d.board.Port, d.board.Baud), nil
}

// PortWriteTimeout bounds each write to an rfc2217:// port.
const PortWriteTimeout = 10 * time.Second

// PortOpener opens a serial port path, "auto", an rfc2217:// URL, or a raw
// console socket (tcp://host:port, unix:PATH) such as QEMU's.
func PortOpener(port string, baud int) Opener {
	if collector.IsSocketPort(port) {
		return Opener(collector.SocketOpener(port))
	}
	if rfc2217.IsURL(port) {
		// WriteTimeout: a capture sends commands with its lock held, so a
		// write to a server that stopped reading must end (as a lost
		// port) rather than stall the capture and its Stop.
		open := rfc2217.Opener(port, rfc2217.Options{Baud: baud, ReadTimeout: collector.ReadTimeout, WriteTimeout: PortWriteTimeout})
		return func(ctx context.Context) (Port, error) { return open(ctx) }
	}
	return Opener(collector.SerialOpener(port, baud))
}

func (d *hardwareDevice) Boot(ctx context.Context, send func(wire.Command) error) error {
	// The firmware reboots on "reset" (esp_restart), so every cell starts
	// from a fresh boot whose banner and Hello land in its capture.
	return send(wire.Command{Name: wire.CmdReset})
}

func (d *hardwareDevice) Release() error { return nil }

// ResetsByCommand implements CommandResetter.
func (d *hardwareDevice) ResetsByCommand() bool { return true }

// CollectorCapture starts a collector capture for the runner.
func CollectorCapture(ctx context.Context, open Opener, dir string, onRecord func(record.Record)) (Capture, error) {
	return collector.Start(ctx, collector.Opener(open), collector.Options{
		Dir: dir, Source: filepath.Base(dir), OnRecord: onRecord,
	})
}
