package matrix

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wsbench/wsbench/collector"
	"github.com/wsbench/wsbench/idf"
	"github.com/wsbench/wsbench/qemu"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// A qemu board is the real firmware in Espressif's QEMU: every variant is
// built as for a chip plus the QEMU layer (idf.QEMUDefaults), merged into a
// full flash image, and every cell boots a fresh QEMU on a copy of it, so a
// cell starts from a power-on as on a virtual board. The console is a Unix
// socket the collector reads; QEMU starts the guest when the capture
// connects, so the capture holds the boot from its first byte.

// qemuPSRAMSizes are the PSRAM sizes a qemu board may give, per chip.
var qemuPSRAMSizes = map[string][]string{
	"esp32s3": {"2MB", "4MB", "8MB", "16MB", "32MB"},
	"esp32":   {"2MB", "4MB"},
}

// checkQEMUBoard applies a qemu board's defaults and checks it. It returns
// the problem and the key it is about, or "".
func checkQEMUBoard(b *Board) (msg, key string) {
	sizes, ok := qemuPSRAMSizes[b.QEMU]
	if !ok {
		return fmt.Sprintf("board %q: qemu %q: want esp32s3 or esp32 (Espressif's QEMU machines)", b.Name, b.QEMU), "qemu"
	}
	switch b.Target {
	case "":
		b.Target = b.QEMU
	case b.QEMU:
	default:
		return fmt.Sprintf("board %q: target %q differs from qemu %q (leave target out)", b.Name, b.Target, b.QEMU), "target"
	}
	if b.PSRAM == "" {
		b.PSRAM = map[string]string{"esp32s3": "8MB", "esp32": "4MB"}[b.QEMU]
	}
	b.PSRAM = strings.ToUpper(strings.ReplaceAll(b.PSRAM, " ", ""))
	if !slices.Contains(sizes, b.PSRAM) {
		return fmt.Sprintf("board %q: psram %q: want one of %s for %s (the firmware needs PSRAM)", b.Name, b.PSRAM, strings.Join(sizes, ", "), b.QEMU), "psram"
	}
	if b.Flash != nil && !*b.Flash {
		return fmt.Sprintf("board %q: flash: false does not apply to qemu boards (each cell boots the image built for its variant)", b.Name), "flash"
	}
	for _, a := range b.QEMUArgs {
		// wsbench owns the console, the flash drive and the machine.
		for _, own := range []string{"-serial", "-drive", "-M", "-machine", "-m", "-nic", "-monitor", "-chardev"} {
			if a == own {
				return fmt.Sprintf("board %q: qemu_args: %s is set by wsbench (docs/qemu.md)", b.Name, a), "qemu_args"
			}
		}
	}
	return "", ""
}

// psramBytes parses a checked psram size ("8MB").
func psramBytes(s string) int64 {
	n, _ := strconv.Atoi(strings.TrimSuffix(s, "MB"))
	return int64(n) << 20
}

// HasQEMU reports whether any board of f runs in QEMU.
func (f *File) HasQEMU() bool {
	for _, b := range f.Boards {
		if b.QEMU != "" {
			return true
		}
	}
	return false
}

// CheckQEMU finds QEMU for every qemu board of f, so that a run without it
// fails at once, before any build, with the install hint.
func CheckQEMU(f *File) error {
	for _, b := range f.Boards {
		if b.QEMU == "" {
			continue
		}
		if _, err := qemu.Find(b.QEMU); err != nil {
			return fmt.Errorf("board %s (qemu: %s): %w", b.Name, b.QEMU, err)
		}
	}
	return nil
}

// QEMUPeerHost is where firmware in QEMU dials the peer: the host's loopback
// as QEMU's user networking shows it. The peer's certificate must name it
// (peer.Config.ExtraSANs).
const QEMUPeerHost = qemu.GatewayIP

// guestURL rewrites a peer URL on the host's loopback to the address the
// guest dials. URLs that name another host are left alone (the guest reaches
// other hosts through QEMU's NAT as they are).
func guestURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return raw
	}
	if p := u.Port(); p != "" {
		u.Host = net.JoinHostPort(QEMUPeerHost, p)
	} else {
		u.Host = QEMUPeerHost
	}
	return u.String()
}

// qemuImages builds each (target, variant, behaviour) image once per run,
// shared by every qemu device: slots of a board (count > 1) must not build
// in the same directory at once.
type qemuImages struct {
	mu      sync.Mutex
	entries map[string]*qemuImage
}

type qemuImage struct {
	mu   sync.Mutex
	path string // flash image, "" until built
}

func (q *qemuImages) entry(key string) *qemuImage {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.entries == nil {
		q.entries = map[string]*qemuImage{}
	}
	e := q.entries[key]
	if e == nil {
		e = &qemuImage{}
		q.entries[key] = e
	}
	return e
}

// image returns the flash image of the cell's variant, building it first
// when this run has not. A failed build is tried again by the next cell.
func (q *qemuImages) image(ctx context.Context, b Board, hw HardwareOptions, trust Trust, c rundir.Cell) (string, error) {
	e := q.entry(b.QEMU + "/" + c.Variant + "/" + c.Behaviour)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.path != "" {
		return e.path, nil
	}
	art, err := idf.Build(ctx, idf.BuildOptions{Tool: hw.Tool, Project: hw.Project, Target: b.QEMU,
		Variant: c.Variant, ComponentPath: hw.ComponentPath, Behaviour: c.Behaviour, PeerCA: trust.CAFile, QEMU: true})
	if err != nil {
		return "", fmt.Errorf("build variant %s for QEMU: %w", c.Variant, err)
	}
	if hw.SizeDir != "" && art.SizeJSON != "" {
		// Named qemu-<chip>: the image differs from the chip's (open_eth, no
		// Wi-Fi, software AES/SHA), and the report says so.
		if err := storeSize(hw.SizeDir, art.SizeJSON, "qemu-"+b.QEMU, c.Variant, c.Behaviour); err != nil {
			return "", err
		}
	}
	img, err := idf.MergeFlash(art.BuildDir)
	if err != nil {
		return "", fmt.Errorf("variant %s: %w", c.Variant, err)
	}
	e.path = img
	return img, nil
}

// storeSize copies a build's size report into the run's firmware directory.
func storeSize(dir, sizeJSON, target, variant, behaviour string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("store size report: %w", err)
	}
	b, err := os.ReadFile(sizeJSON)
	if err != nil {
		return fmt.Errorf("store size report: %w", err)
	}
	return rundir.WriteFile(filepath.Join(dir, rundir.SizeFile(target, variant, behaviour)), b, 0o644)
}

// qemuDevice is one emulated board: a QEMU per cell.
type qemuDevice struct {
	name   string
	board  Board
	hw     HardwareOptions
	trust  Trust
	bin    string
	images *qemuImages

	tmp  string   // this cell's flash copy and console socket
	log  *os.File // the cell's emulator.log, nil without a run directory
	inst *qemu.Instance
}

func newQEMUDevice(name string, b Board, hw HardwareOptions, trust Trust, images *qemuImages) (*qemuDevice, error) {
	bin, err := qemu.Find(b.QEMU)
	if err != nil {
		return nil, err
	}
	return &qemuDevice{name: name, board: b, hw: hw, trust: trust, bin: bin, images: images}, nil
}

func (d *qemuDevice) Name() string { return d.name }

// PeerURLs implements PeerRewriter: the guest dials the host as 10.0.2.2.
func (d *qemuDevice) PeerURLs(p PeerURLs) PeerURLs {
	return PeerURLs{WSURL: guestURL(p.WSURL), HTTPSURL: guestURL(p.HTTPSURL)}
}

func (d *qemuDevice) Prepare(ctx context.Context, c rundir.Cell) (Opener, error) {
	img, err := d.images.image(ctx, d.board, d.hw, d.trust, c)
	if err != nil {
		return nil, err
	}
	// A short directory: a Unix socket path has room for about 100 bytes.
	d.tmp, err = os.MkdirTemp("", "wsbench-qemu-")
	if err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	flash := filepath.Join(d.tmp, "flash.bin")
	if err := copyFile(img, flash); err != nil {
		d.cleanup()
		return nil, fmt.Errorf("qemu: copy flash image: %w", err)
	}
	cfg := qemu.Config{Binary: d.bin, Target: d.board.QEMU, PSRAM: psramBytes(d.board.PSRAM), Flash: flash,
		Socket: filepath.Join(d.tmp, "console.sock"), Network: true, Extra: d.board.QEMUArgs}
	if d.hw.RunDir != "" {
		// QEMU's own messages ("Error reading from GDMA buffer" is one) are
		// kept with the cell's capture.
		if d.log, err = os.Create(filepath.Join(rundir.CellDir(d.hw.RunDir, c.ID), rundir.EmulatorFile)); err != nil {
			d.cleanup()
			return nil, fmt.Errorf("qemu: %w", err)
		}
		cfg.Output = d.log
	}
	d.inst, err = qemu.Start(ctx, cfg)
	if err != nil {
		d.cleanup()
		return nil, err
	}
	return d.opener(collector.SocketOpener(cfg.Port()), d.inst), nil
}

// opener retries a refused connection for a while: QEMU's socket file
// appears when it binds, a moment before it listens. Probing it instead
// would be QEMU's first connection and start the guest unseen.
func (d *qemuDevice) opener(open collector.Opener, inst *qemu.Instance) Opener {
	return func(ctx context.Context) (Port, error) {
		deadline := time.Now().Add(5 * time.Second)
		for {
			p, err := open(ctx)
			if err == nil || !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
				return p, err
			}
			select {
			case <-ctx.Done():
				return nil, err
			case <-inst.Exited():
				return nil, fmt.Errorf("%w; qemu exited: %s", err, strings.TrimSpace(inst.Output()))
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// qemuBootTimeout is how long a qemu board may take from the capture's
// connection to Hello: emulation on a loaded host, two QEMUs sharing it.
const qemuBootTimeout = 60 * time.Second

// BootTimeout implements SlowBooter.
func (d *qemuDevice) BootTimeout() time.Duration { return qemuBootTimeout }

// CheckHello implements HelloChecker: the image must be the QEMU build (a
// chip's image has no network in QEMU) for the chip and PSRAM asked for.
func (d *qemuDevice) CheckHello(h *wire.Hello) error {
	var diffs []string
	if h.Emulator != qemu.Name {
		diffs = append(diffs, fmt.Sprintf("emulator %q, want %q (the image was not built with %s)", h.Emulator, qemu.Name, idf.QEMUDefaults))
	}
	if h.Chip != d.board.QEMU {
		diffs = append(diffs, fmt.Sprintf("chip %q, want %q", h.Chip, d.board.QEMU))
	}
	if want := psramBytes(d.board.PSRAM); int64(h.PSRAMSize) != want {
		diffs = append(diffs, fmt.Sprintf("PSRAM %d bytes, QEMU was given %s", h.PSRAMSize, d.board.PSRAM))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("qemu board %s: its Hello reports %s", d.name, strings.Join(diffs, "; "))
	}
	return nil
}

// Ended implements Ender: QEMU exited (crashed, or was killed) while the
// cell was running.
func (d *qemuDevice) Ended() <-chan struct{} { return d.inst.Exited() }

// EndReason says how QEMU ended, with the end of its output.
func (d *qemuDevice) EndReason() string {
	out := strings.TrimSpace(d.inst.Output())
	if out == "" {
		out = "(no output)"
	}
	return "qemu exited: " + strings.ToValidUTF8(out, "?")
}

// Boot does nothing: QEMU started the guest when the capture connected.
func (d *qemuDevice) Boot(context.Context, func(wire.Command) error) error {
	select {
	case <-d.inst.Exited():
		return fmt.Errorf("qemu exited: %s", strings.TrimSpace(d.inst.Output()))
	default:
		return nil
	}
}

func (d *qemuDevice) Release() error {
	var err error
	if d.inst != nil {
		err = d.inst.Stop()
		d.inst = nil
	}
	d.cleanup()
	return err
}

func (d *qemuDevice) cleanup() {
	if d.log != nil {
		_ = d.log.Close()
		d.log = nil
	}
	if d.tmp != "" {
		_ = os.RemoveAll(d.tmp)
		d.tmp = ""
	}
}
