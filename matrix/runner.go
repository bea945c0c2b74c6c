package matrix

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// Port is a byte stream to a board.
type Port = io.ReadWriteCloser

// Opener opens (or reopens, after the port vanished) a board's port.
type Opener func(ctx context.Context) (Port, error)

// Capture is a running capture of one board's stream (package collector).
type Capture interface {
	// Send writes one line command to the board.
	Send(cmd wire.Command) error
	// Close stops the capture and flushes everything to disk.
	Close() error
}

// StartCapture starts capturing what opener's port carries into dir,
// calling onRecord for every record in order.
type StartCapture func(ctx context.Context, open Opener, dir string, onRecord func(record.Record)) (Capture, error)

// Device is one board the runner drives: a virtual board or a real one.
type Device interface {
	// Name identifies the device in logs, e.g. "s3#2" or "/dev/ttyUSB0".
	Name() string
	// Prepare makes the board run the cell's variant (virtual: a new board;
	// hardware: build and flash when the variant changes) and returns the
	// opener of its port. The board must not boot before Boot.
	Prepare(ctx context.Context, c rundir.Cell) (Opener, error)
	// Boot starts the board, or resets it, once the capture is listening;
	// send writes a line command to the board through the capture.
	Boot(ctx context.Context, send func(wire.Command) error) error
	// Release ends the cell on the device (virtual: stop the board).
	Release() error
}

// CommandResetter is implemented by a Device whose Boot resets the board
// with the "reset" line command. The runner then ignores any Hello that
// arrives before the board's Reply to "reset": such a Hello was sent before
// the reset (a boot nobody was listening to) and describes a stale boot.
type CommandResetter interface {
	ResetsByCommand() bool
}

// PeerRewriter is implemented by a Device whose board reaches the peer at
// another address than the host does (QEMU's guest dials the host's
// loopback as 10.0.2.2): the cell's URLs are rewritten before they are sent.
type PeerRewriter interface {
	PeerURLs(PeerURLs) PeerURLs
}

// SlowBooter is implemented by a Device whose board takes longer than
// Options.HelloTimeout to boot (an emulator): the runner waits for the
// longer of the two.
type SlowBooter interface {
	BootTimeout() time.Duration
}

// HelloChecker is implemented by a Device that checks what a Hello says
// about the board itself (a qemu board must report the emulator), beyond
// CheckHello's check of the firmware against the cell.
type HelloChecker interface {
	CheckHello(h *wire.Hello) error
}

// Ender is implemented by a Device whose board can end on its own (an
// emulator that exits): the runner fails the cell when Ended closes,
// instead of waiting for its timeout.
type Ender interface {
	Ended() <-chan struct{}
	EndReason() string
}

// NewDevice makes the device for slot (0-based) of board b.
type NewDevice func(b Board, slot int) (Device, error)

// PeerURLs are where the sessions connect.
type PeerURLs struct {
	WSURL, HTTPSURL string
}

// Options configure a run.
type Options struct {
	RunDir       string // results/<run-id>; created if missing
	Resume       bool   // skip cells already completed in RunDir
	Shard        [2]int // {i, n}: run shard i of n; {0,0} for all
	Manifest     rundir.Manifest
	Peer         PeerURLs
	NewDevice    NewDevice
	StartCapture StartCapture
	HelloTimeout time.Duration // default 15 s
	// WiFi credentials for real boards, sent with the "wifi" command after
	// each Hello (never to virtual boards; the collector redacts the
	// password from everything it writes).
	WiFiSSID, WiFiPass string
	// CellPeer, when set, returns the peer server's counters of the sessions
	// tagged with a cell id; they are written to the cell's peer.json.
	CellPeer func(tag string) any
	// Progress receives a line per cell event, or drives a progress bar.
	Progress Progress
}

// Progress is told what the runner does.
type Progress interface {
	Start(total, done int)
	CellDone(c rundir.Cell, elapsed time.Duration)
	Finish()
}

// Result is what a run produced.
type Result struct {
	RunDir      string
	Cells       []rundir.Cell // every cell of the run (or shard), with status
	Interrupted bool
}

// Counts returns how many cells have each status.
func (r *Result) Counts() map[string]int {
	m := map[string]int{}
	for _, c := range r.Cells {
		m[c.Status]++
	}
	return m
}

// Run runs the matrix. Cells that fail are recorded with their reason and
// the run goes on; a cancelled context marks the running cells interrupted
// and returns with everything written, resumable.
func Run(ctx context.Context, f *File, opt Options) (*Result, error) {
	if opt.NewDevice == nil || opt.StartCapture == nil {
		return nil, errors.New("matrix: NewDevice and StartCapture are required")
	}
	if n := len(opt.WiFiPass); n > 0 && (n < 8 || n > 63) {
		// WPA2-PSK passphrases are 8 to 63 characters; the firmware takes
		// at most 63 bytes.
		return nil, fmt.Errorf("matrix: the Wi-Fi password ($WSBENCH_WIFI_PASS) has %d bytes: want 8 to 63 (WPA2), or none for an open network", n)
	}
	if opt.HelloTimeout == 0 {
		opt.HelloTimeout = 15 * time.Second
	}
	var old rundir.Manifest
	if opt.Resume {
		var err error
		if old, err = rundir.ReadManifest(opt.RunDir); err != nil {
			return nil, fmt.Errorf("resume %s: %w", opt.RunDir, err)
		}
		// A shard resumes as the same shard: without this, resuming a shard
		// ran every cell of the matrix and merge refused the result.
		var was [2]int
		if old.Shard != "" {
			i, n, err := ParseShard(old.Shard)
			if err != nil {
				return nil, fmt.Errorf("resume %s: manifest: %w", opt.RunDir, err)
			}
			was = [2]int{i, n}
		}
		switch {
		case opt.Shard == was:
		case opt.Shard == [2]int{}:
			opt.Shard = was
		case old.Shard == "":
			return nil, fmt.Errorf("resume %s: the run is not a shard; resume it without a shard", opt.RunDir)
		default:
			return nil, fmt.Errorf("resume %s: the run is shard %s, not %d/%d", opt.RunDir, old.Shard, opt.Shard[0], opt.Shard[1])
		}
		opt.Manifest.Shard = old.Shard
	}
	// Names become paths: a File built in code, not by Parse, is checked too.
	if n := f.countCells(MaxCells); n > MaxCells {
		return nil, fmt.Errorf("matrix: more than %d cells (see docs/limits.md)", MaxCells)
	}
	cells := f.Cells()
	for _, c := range cells {
		if err := rundir.CheckName("cell id", c.ID, rundir.MaxCellIDLen); err != nil {
			return nil, fmt.Errorf("matrix: %w", err)
		}
	}
	if opt.Shard[1] > 0 {
		var err error
		if cells, err = Shard(cells, opt.Shard[0], opt.Shard[1]); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(opt.RunDir, rundir.CellsDir), 0o755); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	done := map[string]rundir.Cell{}
	if opt.Resume {
		// A cell whose cell.json is unreadable is not done: it runs again
		// (its directory is kept under attempts/).
		// A process killed while writing a JSON file leaves its temporary
		// file (.cell.json.NNNN); the file it was replacing is intact.
		if _, err := rundir.RemoveStaleTemps(opt.RunDir); err != nil {
			return nil, fmt.Errorf("resume %s: %w", opt.RunDir, err)
		}
		prev, _, err := rundir.ScanCells(opt.RunDir)
		if err != nil {
			return nil, fmt.Errorf("resume %s: %w", opt.RunDir, err)
		}
		for _, c := range prev {
			if c.Status == rundir.StatusOK || c.Status == rundir.StatusFailed {
				done[c.ID] = c
			}
		}
		if old.MatrixHash != "" && opt.Manifest.MatrixHash != "" && old.MatrixHash != opt.Manifest.MatrixHash {
			return nil, fmt.Errorf("resume %s: the run used a different matrix (hash %s, now %s)", opt.RunDir, old.MatrixHash, opt.Manifest.MatrixHash)
		}
		opt.Manifest.Started = old.Started
		opt.Manifest.RunID = old.RunID
	}
	opt.Manifest.Cells = len(cells)
	if err := rundir.WriteJSON(filepath.Join(opt.RunDir, rundir.ManifestFile), opt.Manifest); err != nil {
		return nil, err
	}

	res := &Result{RunDir: opt.RunDir}
	var mu sync.Mutex
	byID := map[string]int{}
	for i, c := range cells {
		byID[c.ID] = i
		if d, ok := done[c.ID]; ok {
			cells[i] = d
		}
	}
	if opt.Progress != nil {
		opt.Progress.Start(len(cells), len(done))
	}

	// One queue per board; every device slot of that board takes from it.
	queues := map[string][]rundir.Cell{}
	for _, c := range cells {
		if _, ok := done[c.ID]; !ok {
			queues[c.Board] = append(queues[c.Board], c)
		}
	}
	var wg sync.WaitGroup
	var devErr error
	for _, b := range f.Boards {
		q := &cellQueue{cells: queues[b.Name]}
		for slot := 0; slot < b.Count; slot++ {
			dev, err := opt.NewDevice(b, slot)
			if err != nil {
				mu.Lock()
				devErr = errors.Join(devErr, fmt.Errorf("board %s: %w", b.Name, err))
				mu.Unlock()
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					c, ok := q.next(ctx)
					if !ok {
						break
					}
					start := time.Now()
					c = runCell(ctx, dev, c, opt)
					mu.Lock()
					cells[byID[c.ID]] = c
					mu.Unlock()
					if opt.Progress != nil && c.Status != rundir.StatusInterrupted {
						opt.Progress.CellDone(c, time.Since(start))
					}
				}
			}()
		}
	}
	wg.Wait()
	if opt.Progress != nil {
		opt.Progress.Finish()
	}
	res.Cells = cells
	res.Interrupted = ctx.Err() != nil
	opt.Manifest.Ended = time.Now().UTC()
	if err := rundir.WriteJSON(filepath.Join(opt.RunDir, rundir.ManifestFile), opt.Manifest); err != nil {
		return res, err
	}
	if devErr != nil {
		return res, devErr
	}
	return res, nil
}

// cellQueue hands out cells to the device slots of one board.
type cellQueue struct {
	mu    sync.Mutex
	cells []rundir.Cell
}

func (q *cellQueue) next(ctx context.Context) (rundir.Cell, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if ctx.Err() != nil || len(q.cells) == 0 {
		return rundir.Cell{}, false
	}
	c := q.cells[0]
	q.cells = q.cells[1:]
	return c, true
}

// SortCellsForFlashing orders cells so that a hardware board flashes each
// variant once: by variant, then by id.
func SortCellsForFlashing(cells []rundir.Cell) {
	sort.SliceStable(cells, func(i, j int) bool {
		if cells[i].Variant != cells[j].Variant {
			return cells[i].Variant < cells[j].Variant
		}
		return cells[i].ID < cells[j].ID
	})
}

// hostInfo describes the host for a manifest.
func hostInfo() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s %s/%s %d CPUs", h, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
}

// NewManifest starts a manifest for a run of f.
func NewManifest(runID, toolVersion string, args []string, f *File, matrixJSON []byte, hash string) rundir.Manifest {
	return rundir.Manifest{
		RunID: runID, Tool: "wsbench", ToolVersion: toolVersion, GoVersion: runtime.Version(),
		Host: hostInfo(), CommandLine: redactArgs(args), Started: time.Now().UTC(),
		Matrix: matrixJSON, MatrixHash: hash,
	}
}

// redactArgs hides values of arguments that could carry secrets.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		l := strings.ToLower(a)
		if strings.Contains(l, "pass") || strings.Contains(l, "psk") || strings.Contains(l, "secret") {
			if k, _, ok := strings.Cut(a, "="); ok {
				a = k + "=REDACTED"
			} else {
				a = "REDACTED"
			}
		}
		out[i] = a
	}
	return out
}
