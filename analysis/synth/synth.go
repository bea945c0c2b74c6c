// Package synth writes synthetic run directories whose figures are known in
// advance: cells with a chosen baseline, per-session cost, fixed cost, leak
// per churn cycle, handler latencies, resets and watchdog triggers. Tests and
// benchmarks of analysis and charts use it.
//
// It never models a real board (that is package sim's job): its numbers are
// chosen to make answers exact, not to be plausible.
package synth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// Cell describes one synthetic cell.
type Cell struct {
	Cell rundir.Cell // ID, Board, Variant, Scenario, N, Rep... (Status defaults to ok)

	InternalTotal, SPIRAMTotal uint32
	BaselineFree               uint32 // internal free before any session
	FixedCost                  uint32 // taken when the first session opens
	PerSession                 uint32 // internal bytes per session
	PSRAMBaselineFree          uint32
	PSRAMPerSession            uint32
	Noise                      uint32 // uniform noise in [-Noise, +Noise] on every free value (multiples of 4)
	// Jitter is a per-cell offset, uniform in [-Jitter, +Jitter] (multiples
	// of 4), added to every internal free value once sessions open: what
	// differs from one boot to the next on a real board (Wi-Fi and lwIP
	// buffers in flight, timers), on top of the per-sample Noise.
	Jitter          uint32
	LargestFraction float64
	DMAFree         uint32
	Seed            uint64

	BaselineSamples, SteadySamples int
	PeriodMS                       int
	DetailEvery                    int

	StackSize uint32
	HWM       int32 // websocket task high-water mark in steady; -1 for none

	Cycles       int     // churn cycles
	LeakPerCycle float64 // bytes lost per churn cycle

	HandlerEvents int
	LatencyUS     []uint32 // latencies cycled through, one per handler event

	ResetAtSteady    int    // steady sample index at which the board reboots, 0 for none
	WatchdogAtSteady int    // steady sample index with a watchdog report + event, 0 for none
	WatchdogTask     string // task the watchdog names ("websocket_task" when empty)
	FailedSessions   int
	Owners           []wire.OwnerUse
	// OwnersPerFrame splits the owner table into frames of this many
	// entries with one seq, as a board does with a big table (0: one frame).
	OwnersPerFrame int
	Hello          *wire.Hello // overrides the default Hello
}

// Defaults fills zero fields of c with usable values.
func (c *Cell) Defaults() {
	if c.InternalTotal == 0 {
		c.InternalTotal = 400000
	}
	if c.SPIRAMTotal == 0 {
		c.SPIRAMTotal = 8 << 20
	}
	if c.BaselineFree == 0 {
		c.BaselineFree = 300000
	}
	if c.PSRAMBaselineFree == 0 {
		c.PSRAMBaselineFree = c.SPIRAMTotal - 100000
	}
	if c.LargestFraction == 0 {
		c.LargestFraction = 0.5
	}
	if c.DMAFree == 0 {
		c.DMAFree = 200000
	}
	if c.BaselineSamples == 0 {
		c.BaselineSamples = 20
	}
	if c.SteadySamples == 0 {
		c.SteadySamples = 50
	}
	if c.PeriodMS == 0 {
		c.PeriodMS = 100
	}
	if c.DetailEvery == 0 {
		c.DetailEvery = 10
	}
	if c.StackSize == 0 {
		c.StackSize = 4096
	}
	if c.HWM == 0 {
		c.HWM = 1200
	}
	if c.Cell.Status == "" {
		c.Cell.Status = rundir.StatusOK
	}
	if c.Cell.Scenario == "" {
		c.Cell.Scenario = "sweep"
	}
	if c.Cell.Board == "" {
		c.Cell.Board = "esp32s3-n8r8"
	}
	if c.Cell.ID == "" {
		c.Cell.ID = safeID(fmt.Sprintf("%s-%s-%s-n%d-r%d", c.Cell.Board, c.Cell.Variant, c.Cell.Scenario, c.Cell.N, c.Cell.Rep))
	}
}

// SteadyFree is the internal free bytes the cell holds in steady, before
// noise and jitter: BaselineFree - FixedCost·1[N≥1] - PerSession·open.
func (c *Cell) SteadyFree() uint32 {
	if c.Cell.N == 0 {
		return c.BaselineFree
	}
	return c.BaselineFree - c.FixedCost - uint32(c.open())*c.PerSession
}

// offset draws the cell's jitter.
func (w *writer) offset() int64 {
	if w.c.Jitter == 0 {
		return 0
	}
	n := int64(w.c.Jitter / 4)
	return (w.rng.Int64N(2*n+1) - n) * 4
}

// open is the number of sessions that stay open (N minus failed ones).
func (c *Cell) open() int { return max(c.Cell.N-c.FailedSessions, 0) }

// writer emits one cell's records with consistent times and segments.
type writer struct {
	w       *record.Writer
	c       *Cell
	rng     *rand.Rand
	jitter  int64 // this cell's offset once sessions open
	t0      int64
	tUS     uint64
	seq     uint32
	segment uint32
	off     int64
	err     error
}

func (w *writer) put(t record.Type, body any) {
	if w.err != nil {
		return
	}
	w.off += 48
	w.err = w.w.Write(record.Record{Type: t, HostNS: w.t0 + int64(w.tUS)*1000, Offset: w.off, Segment: w.segment, Body: body})
}

func (w *writer) noise() int64 {
	if w.c.Noise == 0 {
		return 0
	}
	n := int64(w.c.Noise / 4)
	return (w.rng.Int64N(2*n+1) - n) * 4
}

func (w *writer) sample(phase wire.Phase, sessions int, free, psFree uint32, hwm int32) {
	f := uint32(int64(free) + w.noise())
	if sessions > 0 {
		f = uint32(int64(f) + w.jitter)
	}
	s := &wire.Sample{Seq: w.seq, TimeUS: w.tUS, Phase: phase, Sessions: uint8(sessions), InternalFree: f,
		InternalMinFree: f - 1000, InternalLargest: uint32(float64(f) * w.c.LargestFraction),
		SPIRAMFree: psFree, SPIRAMMinFree: psFree - 1000, SPIRAMLargest: psFree / 2, WSStackHWM: hwm}
	w.put(record.TypeSample, s)
	if w.c.DetailEvery > 0 && int(w.seq)%w.c.DetailEvery == 0 {
		w.put(record.TypeHeapDetail, &wire.HeapDetail{Seq: w.seq, Internal: wire.HeapInfo{Free: f}, DMA: wire.HeapInfo{Free: w.c.DMAFree}, SPIRAM: wire.HeapInfo{Free: psFree}})
	}
	w.seq++
	w.tUS += uint64(w.c.PeriodMS) * 1000
}

func (w *writer) event(kind wire.EventKind, session int, dur, size uint32, name string) {
	w.put(record.TypeEvent, &wire.Event{TimeUS: w.tUS, Kind: kind, Session: int16(session), DurUS: dur, Size: size, Name: name})
}

func (w *writer) hello() {
	h := w.c.Hello
	if h == nil {
		h = &wire.Hello{Protocol: wire.ProtocolVersion, Board: w.c.Cell.Board, Virtual: true, Chip: "esp32s3", Cores: 2,
			InternalTotal: w.c.InternalTotal, SPIRAMTotal: w.c.SPIRAMTotal, PSRAMSize: w.c.SPIRAMTotal, IDFVersion: "v5.4.1",
			Component: "espressif/esp_websocket_client", ComponentVersion: "1.5.0", Behaviour: w.c.Cell.Behaviour,
			Variant: w.c.Cell.Variant, Options: w.c.Cell.Options}
		h.Options.WSTaskStack = w.c.StackSize
	}
	w.put(record.TypeHello, h)
}

// WriteCell writes cell.json and records.msgp of c below runDir.
func WriteCell(runDir string, c Cell) error {
	c.Defaults()
	dir := rundir.CellDir(runDir, c.Cell.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	c.setParams()
	if err := writeJSON(filepath.Join(dir, rundir.CellFile), c.Cell); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, rundir.RecordsFile))
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	_, err = EncodeCell(bw, c)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("synth cell %s: %w", c.Cell.ID, err)
	}
	return nil
}

// setParams sets the run parameters of c.Cell from c.
func (c *Cell) setParams() {
	c.Cell.N = max(c.Cell.N, 0)
	c.Cell.Params = wire.RunParams{Cell: c.Cell.ID, Scenario: c.Cell.Scenario, N: uint16(c.Cell.N), PeriodMS: uint32(c.PeriodMS),
		DetailEvery: uint16(c.DetailEvery), Cycles: uint32(c.Cycles), Seed: c.Seed}
}

// EncodeCell writes the records stream of c (what WriteCell puts in
// records.msgp) to w and returns the cell as WriteCell puts it in
// cell.json: defaults filled and run parameters set.
func EncodeCell(w io.Writer, c Cell) (rundir.Cell, error) {
	c.Defaults()
	c.setParams()
	cw := &writer{w: record.NewWriter(w), c: &c, rng: rand.New(rand.NewPCG(c.Seed, uint64(c.Cell.Rep)+1)),
		t0: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).UnixNano()}
	cw.emit()
	if cw.err == nil {
		cw.err = cw.w.Flush()
	}
	return c.Cell, cw.err
}

func (w *writer) emit() {
	c := w.c
	w.put(record.TypeReset, &record.Reset{Chip: "esp32s3", Code: 1, ROMName: "POWERON", Class: "poweron"})
	w.hello()
	w.put(record.TypeRunStart, &wire.RunStart{Params: c.Cell.Params, TimeUS: w.tUS, Variant: c.Cell.Variant})
	w.event(wire.EventPhase, -1, 0, 0, "baseline")
	for range c.BaselineSamples {
		w.sample(wire.PhaseBaseline, 0, c.BaselineFree, c.PSRAMBaselineFree, -1)
	}
	n := c.Cell.N
	if n > 0 {
		w.jitter = w.offset()
	}
	psSteady := c.PSRAMBaselineFree - uint32(c.open())*c.PSRAMPerSession
	switch c.Cell.Scenario {
	case "churn":
		w.event(wire.EventPhase, -1, 0, 0, "churn")
		for i := range c.Cycles {
			for s := range n {
				w.event(wire.EventSessionConnected, s, 40000, 0, "")
			}
			w.sample(wire.PhaseChurn, n, c.SteadyFree()-uint32(float64(i)*c.LeakPerCycle), psSteady, c.HWM)
			w.event(wire.EventCycleEnd, -1, 0, uint32(i), "")
			w.sample(wire.PhaseChurn, 0, c.BaselineFree-c.FixedCost-uint32(float64(i+1)*c.LeakPerCycle), c.PSRAMBaselineFree, -1)
		}
	case "handler":
		w.event(wire.EventPhase, -1, 0, 0, "handler")
		for i := range c.HandlerEvents {
			lat := uint32(1000)
			if len(c.LatencyUS) > 0 {
				lat = c.LatencyUS[i%len(c.LatencyUS)]
			}
			w.event(wire.EventHandlerLatency, 0, lat, 0, "")
			if i%10 == 0 {
				w.sample(wire.PhaseHandler, n, c.SteadyFree(), psSteady, c.HWM)
			}
		}
	default:
		w.event(wire.EventPhase, -1, 0, 0, "ramp")
		if n > 0 {
			w.event(wire.EventTaskStarted, -1, 0, c.StackSize, "websocket_task")
		}
		for s := range n {
			if s < c.FailedSessions {
				w.event(wire.EventSessionFailed, s, 5000, 0, "")
				continue
			}
			w.event(wire.EventSessionConnected, s, 40000, 0, "")
			k := uint32(s + 1 - c.FailedSessions)
			w.sample(wire.PhaseRamp, int(k), c.BaselineFree-c.FixedCost-k*c.PerSession, c.PSRAMBaselineFree-k*c.PSRAMPerSession, c.HWM+100)
		}
		w.event(wire.EventPhase, -1, 0, 0, "steady")
		hwm := c.HWM
		if n == 0 {
			hwm = -1
		}
		for i := range c.SteadySamples {
			if c.ResetAtSteady > 0 && i == c.ResetAtSteady {
				w.put(record.TypePanic, &record.Panic{Cause: "LoadProhibited", Core: 0})
				w.segment++
				w.tUS = 300_000 // the board's clock restarts at boot
				w.put(record.TypeReset, &record.Reset{Chip: "esp32s3", Code: 12, ROMName: "RTC_SW_CPU_RST", Class: "panic", After: "panic"})
				w.hello()
			}
			if c.WatchdogAtSteady > 0 && i == c.WatchdogAtSteady {
				task := c.WatchdogTask
				if task == "" {
					task = "websocket_task"
				}
				w.put(record.TypeWatchdog, &record.Watchdog{Starving: []string{"IDLE0 (CPU 0)", task}, Running: []string{"CPU 0: " + task}})
				w.event(wire.EventWatchdogWarning, -1, 0, 0, task)
			}
			w.sample(wire.PhaseSteady, c.open(), c.SteadyFree(), psSteady, hwm)
			if i == 0 && len(c.Owners) > 0 {
				// The table belongs to the sample just sent (its seq).
				per := c.OwnersPerFrame
				if per <= 0 {
					per = len(c.Owners)
				}
				for rest := c.Owners; len(rest) > 0; {
					k := min(per, len(rest))
					w.put(record.TypeOwners, &wire.Owners{Seq: w.seq - 1, Phase: wire.PhaseSteady, Entries: rest[:k]})
					rest = rest[k:]
				}
			}
		}
		w.event(wire.EventPhase, -1, 0, 0, "teardown")
		for s := range n {
			w.event(wire.EventSessionClosed, s, 0, 0, "")
		}
		w.sample(wire.PhaseTeardown, 0, c.BaselineFree-c.FixedCost, c.PSRAMBaselineFree, -1)
	}
	w.event(wire.EventPhase, -1, 0, 0, "done")
	w.sample(wire.PhaseDone, 0, c.BaselineFree-c.FixedCost, c.PSRAMBaselineFree, -1)
	w.put(record.TypeRunEnd, &wire.RunEnd{Cell: c.Cell.ID, TimeUS: w.tUS, Status: "ok", SamplesSent: w.seq})
}

// WriteRun writes a manifest and every cell below runDir.
func WriteRun(runDir string, cells []Cell) error {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return err
	}
	m := rundir.Manifest{RunID: filepath.Base(runDir), Tool: "wsbench", ToolVersion: "synth", Cells: len(cells),
		Started: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	if err := writeJSON(filepath.Join(runDir, rundir.ManifestFile), m); err != nil {
		return err
	}
	for _, c := range cells {
		if err := WriteCell(runDir, c); err != nil {
			return err
		}
	}
	return nil
}

// Sweep returns cells of a sweep for each variant, N and repetition, with
// per-session cost cost[variant] and the same baseline and fixed cost.
func Sweep(board string, variants []string, cost map[string]uint32, ns []int, reps int, noise uint32) []Cell {
	var out []Cell
	for vi, v := range variants {
		for _, n := range ns {
			for r := range reps {
				out = append(out, Cell{
					Cell:      rundir.Cell{Board: board, Variant: v, Behaviour: wire.BehaviourFallback, Scenario: "sweep", Label: "sweep", N: n, Rep: r},
					FixedCost: 12000, PerSession: cost[v], PSRAMPerSession: 30000 - cost[v]/2, Noise: noise,
					Seed: uint64(vi*1000 + n*10 + r),
				})
			}
		}
	}
	return out
}

// Truth is what a synthetic variant costs: the numbers a fit must find.
type Truth struct {
	BaselineFree uint32 // internal free before any session
	Fixed        uint32 // one-time cost when the first session (the websocket client) opens, besides its TLS session
	PerSession   uint32 // one TLS session
}

// Model describes a synthetic sweep: variants with known costs, the N
// swept, repetitions, noise and a seed that makes every cell's noise
// different from another run's.
type Model struct {
	Board    string
	Variants []string
	Truth    map[string]Truth
	Ns       []int
	Reps     int
	Noise    uint32 // per-sample, see Cell.Noise
	Jitter   uint32 // per-cell, see Cell.Jitter
	Seed     uint64
	Samples  int // steady samples per cell (default 50)
	// MaxOpen, when positive, is the most sessions that fit: a cell with
	// more fails the rest (out of memory), as on a board.
	MaxOpen int
	// StackHWM is the websocket task's high-water mark per variant (default 1200).
	StackHWM map[string]int32
}

// Cells returns the sweep cells of m.
func (m Model) Cells() []Cell {
	var out []Cell
	for vi, v := range m.Variants {
		tr := m.Truth[v]
		for _, n := range m.Ns {
			for r := range m.Reps {
				c := Cell{
					Cell:         rundir.Cell{Board: m.Board, Variant: v, Behaviour: wire.BehaviourFallback, Scenario: "sweep", Label: "sweep", N: n, Rep: r + 1},
					BaselineFree: tr.BaselineFree, FixedCost: tr.Fixed, PerSession: tr.PerSession, PSRAMPerSession: 1000,
					Noise: m.Noise, Jitter: m.Jitter, SteadySamples: m.Samples, BaselineSamples: min(m.Samples, 20),
					Seed: m.Seed*1_000_003 + uint64(vi*10_000+n*100+r),
				}
				if m.MaxOpen > 0 && n > m.MaxOpen {
					c.FailedSessions = n - m.MaxOpen
				}
				if h, ok := m.StackHWM[v]; ok {
					c.HWM = h
				}
				out = append(out, c)
			}
		}
	}
	return out
}

// writeJSON writes v as indented JSON without rundir.WriteJSON's fsync:
// synthetic runs are rewritten at will, and tests write thousands of cells.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("synth: encode %s: %w", path, err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// safeID keeps letters, digits, '.', '_' and '-' of s and replaces the rest
// with '_', so a hostile variant name still makes a directory name.
func safeID(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}
