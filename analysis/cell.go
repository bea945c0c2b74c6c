package analysis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/wsbench/wsbench/analysis/stats"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// minSteadySamples is the steady window below which a cell's steady figures
// carry a warning.
const minSteadySamples = 10

// warmupCycles: with at least this many churn cycles the first is left out
// of the leak fit (first-use allocations are not a leak).
const warmupCycles = 4

// cellAcc accumulates one cell's figures while its records stream past.
type cellAcc struct {
	hello    *wire.Hello
	runStart *wire.RunStart
	runEnd   *wire.RunEnd

	phase   wire.Phase
	started bool // a RunStart or a Sample was seen: later boot banners are resets

	samples                                 int
	baselineFree                            stats.Counter
	steadyFree, steadyLargest, steadyPSRAM  stats.Counter
	steadyDMA                               stats.Counter
	steadySessions                          stats.Counter
	minFree                                 uint32
	minFreeN                                int
	hwm                                     int64
	hwmN                                    int
	maxSegment                              uint32
	resets, consoleWDT, eventWDT, overflows int
	panics, sessionFail, allocFail          int
	latency                                 stats.Counter
	wsStack                                 uint32
	pendingCycle                            int64 // cycle index waiting for its first sample, -1 for none
	cycleX, cycleY                          []float64
	// owners is the last steady owner snapshot: every Owners frame with
	// one seq (a board splits a big table into frames) is one snapshot.
	owners       []wire.OwnerUse
	ownersSeq    uint32
	ownersSeen   bool
	ownersFree   uint32 // internal free of the sample with the snapshot's seq
	ownersFreeOK bool
	lastSeq      uint32
	lastFree     uint32
	lastSampleOK bool
	badBodies    int
	firstBadBody string
}

func newCellAcc() *cellAcc {
	return &cellAcc{minFree: math.MaxUint32, hwm: math.MaxInt64, pendingCycle: -1}
}

func (a *cellAcc) sample(s *wire.Sample) {
	a.started = true
	a.samples++
	a.phase = s.Phase
	a.lastSeq, a.lastFree, a.lastSampleOK = s.Seq, s.InternalFree, true
	switch s.Phase {
	case wire.PhaseBaseline:
		a.baselineFree.Add(s.InternalFree)
	case wire.PhaseSteady:
		a.steadyFree.Add(s.InternalFree)
		a.steadyLargest.Add(s.InternalLargest)
		a.steadyPSRAM.Add(s.SPIRAMFree)
		a.steadySessions.Add(uint32(s.Sessions))
	}
	a.minFree = min(a.minFree, s.InternalMinFree)
	a.minFreeN++
	if s.WSStackHWM >= 0 {
		a.hwm = min(a.hwm, int64(s.WSStackHWM))
		a.hwmN++
	}
	if a.pendingCycle >= 0 {
		a.cycleX = append(a.cycleX, float64(a.pendingCycle))
		a.cycleY = append(a.cycleY, float64(s.InternalFree))
		a.pendingCycle = -1
	}
}

func (a *cellAcc) event(e *wire.Event) {
	switch e.Kind {
	case wire.EventSessionFailed:
		a.sessionFail++
	case wire.EventAllocFailed:
		a.allocFail++
	case wire.EventHandlerLatency:
		a.latency.Add(e.DurUS)
	case wire.EventWatchdogWarning:
		a.eventWDT++
	case wire.EventCycleEnd:
		a.pendingCycle = int64(e.Size)
	case wire.EventTaskStarted:
		if isWSTask(e.Name) && e.Size > 0 {
			a.wsStack = e.Size
		}
	case wire.EventPhase:
		for i := wire.Phase(0); i <= wire.PhaseDone; i++ {
			if i.String() == e.Name {
				a.phase = i
			}
		}
	}
}

// isWSTask reports whether a task name is esp_websocket_client's task.
func isWSTask(name string) bool { return strings.Contains(strings.ToLower(name), "websocket") }

func (a *cellAcc) record(r *record.Record) {
	a.maxSegment = max(a.maxSegment, r.Segment)
	switch b := r.Body.(type) {
	case *wire.Hello:
		if a.hello == nil {
			a.hello = b
		}
	case *wire.RunStart:
		a.started = true
		if a.runStart == nil {
			a.runStart = b
		}
	case *wire.RunEnd:
		a.runEnd = b
	case *wire.Sample:
		a.sample(b)
	case *wire.HeapDetail:
		if a.phase == wire.PhaseSteady {
			a.steadyDMA.Add(b.DMA.Free)
		}
	case *wire.Event:
		a.event(b)
	case *wire.Owners:
		if b.Phase != wire.PhaseSteady {
			break
		}
		if !a.ownersSeen || b.Seq != a.ownersSeq {
			a.owners, a.ownersSeq, a.ownersSeen = nil, b.Seq, true
			// The board sends the table right after the sample it belongs to.
			a.ownersFree, a.ownersFreeOK = a.lastFree, a.lastSampleOK && a.lastSeq == b.Seq
		}
		a.owners = append(a.owners, b.Entries...)
	case *record.Watchdog:
		a.consoleWDT++
	case *record.Panic:
		a.panics++
	case *record.StackOverflow:
		a.overflows++
	case *record.Reset:
		if a.started {
			a.resets++
		}
	}
}

// AnalyzeCell streams the records of one cell directory and returns its
// figures. A missing records file gives a result with a warning and no
// metrics; a stream cut short gives figures up to the cut and a warning.
func AnalyzeCell(ctx context.Context, cellDir string, cell rundir.Cell) (CellResult, error) {
	res := newCellResult(cell)
	path := filepath.Join(cellDir, rundir.RecordsFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		res.Warnings = append(res.Warnings, "no "+rundir.RecordsFile+": no figures")
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("analyze cell %s: %w", cell.ID, err)
	}
	defer f.Close()
	return analyzeRecords(ctx, f, cellDir, res)
}

// newCellResult is the result of cell before its records are read.
func newCellResult(cell rundir.Cell) CellResult {
	res := CellResult{
		ID: cell.ID, Rep: cell.Rep, Status: cell.Status, Reason: cell.Reason,
		Key: Key{Board: cell.Board, Variant: cell.Variant, Behaviour: cell.Behaviour, Branch: cell.Branch,
			Scenario: cell.Scenario, Label: cell.Label, N: cell.N},
	}
	if cell.Status != "" && cell.Status != rundir.StatusOK {
		msg := "cell status " + cell.Status
		if cell.Reason != "" {
			msg += ": " + cell.Reason
		}
		res.Warnings = append(res.Warnings, msg)
	}
	return res
}

// analyzeRecords streams one cell's records from r (the records file of
// cellDir) and adds their figures to res.
func analyzeRecords(ctx context.Context, r io.Reader, cellDir string, res CellResult) (CellResult, error) {
	path := filepath.Join(cellDir, rundir.RecordsFile)
	a := newCellAcc()
	rd := record.NewReader(r, path)
	var s wire.Sample
	for i := 0; ; i++ {
		if i&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return res, fmt.Errorf("analyze cell %s: %w", res.ID, err)
			}
		}
		env, off, err := rd.NextEnvelope()
		if err == io.EOF {
			break
		}
		if err != nil {
			// The envelope stream is cut or garbled: nothing after it can be
			// framed, keep what came before.
			res.Warnings = append(res.Warnings, fmt.Sprintf("records end early: %v (the raw capture is intact: wsbench decode --rebuild %s, then wsbench report)", err, cellDir))
			break
		}
		a.maxSegment = max(a.maxSegment, env.Segment)
		if env.Type == record.TypeSample {
			// Fast path: decode samples into one reused value.
			s = wire.Sample{}
			if err := wire.DecodeInto(&s, env.Body); err != nil {
				a.badBody(path, off, err)
				continue
			}
			a.sample(&s)
			continue
		}
		rec, err := record.Decode(*env)
		if err != nil {
			a.badBody(path, off, err)
			continue
		}
		a.record(&rec)
	}
	a.finish(&res)
	return res, nil
}

func (a *cellAcc) badBody(path string, off int64, err error) {
	a.badBodies++
	if a.firstBadBody == "" {
		a.firstBadBody = fmt.Sprintf("%s: record at byte %d: %v", path, off, err)
	}
}

func (a *cellAcc) finish(res *CellResult) {
	res.Samples = a.samples
	res.Segments = int(a.maxSegment) + 1
	warn := func(format string, args ...any) { res.Warnings = append(res.Warnings, fmt.Sprintf(format, args...)) }
	add := func(m Metric) { res.Metrics = append(res.Metrics, m) }
	if a.badBodies > 0 {
		warn("%d records did not decode and were skipped; first: %s", a.badBodies, a.firstBadBody)
	}
	if a.hello != nil {
		h := a.hello
		res.Chip, res.IDFVersion, res.ComponentVersion = h.Chip, h.IDFVersion, h.ComponentVersion
		res.BoardKind = boardKind(h)
		res.InternalTotal, res.SPIRAMTotal = h.InternalTotal, h.SPIRAMTotal
		if a.wsStack == 0 {
			a.wsStack = h.Options.WSTaskStack
		}
	} else {
		warn("no hello from the board: totals and PSRAM used unknown")
	}
	res.WSTaskStack = a.wsStack
	if a.samples == 0 {
		warn("no samples")
	}
	if a.runEnd == nil && a.samples > 0 {
		warn("no run_end: the capture may have been cut short")
	}
	if a.baselineFree.N() > 0 {
		add(point(MetricInternalFreeBaseline, a.baselineFree.Median(), a.baselineFree.N()))
	}
	if n := a.steadyFree.N(); n > 0 {
		free := a.steadyFree.Median()
		largest := a.steadyLargest.Median()
		add(point(MetricInternalFreeSteady, free, n))
		add(point(MetricInternalLargest, largest, n))
		if free > 0 {
			add(point(MetricFragmentation, 1-largest/free, n))
		}
		if res.InternalTotal > 0 {
			add(point(MetricInternalUsed, float64(res.InternalTotal)-free, n))
		}
		psFree := a.steadyPSRAM.Median()
		if res.SPIRAMTotal > 0 {
			add(point(MetricPSRAMFreeSteady, psFree, n))
			add(point(MetricPSRAMUsed, float64(res.SPIRAMTotal)-psFree, n))
		}
		open := a.steadySessions.Median()
		add(point(MetricSessionsOpen, open, n))
		if open < float64(res.Key.N) {
			warn("only %g of %d sessions open in the steady phase", open, res.Key.N)
		}
		if n < minSteadySamples {
			warn("steady window has only %d samples (want >= %d)", n, minSteadySamples)
		}
	} else if a.samples > 0 && (res.Key.Scenario == "sweep" || res.Key.Scenario == "") {
		warn("no samples in the steady phase")
	}
	if a.steadyDMA.N() > 0 {
		add(point(MetricDMAFree, a.steadyDMA.Median(), a.steadyDMA.N()))
	}
	if a.minFreeN > 0 {
		add(point(MetricInternalFreeMin, float64(a.minFree), a.minFreeN))
	}
	if a.hwmN > 0 {
		add(point(MetricWSStackHWM, float64(a.hwm), a.hwmN))
		if a.wsStack > 0 {
			add(point(MetricWSStackHeadroom, float64(a.hwm)/float64(a.wsStack), a.hwmN))
		}
	}
	// A board reports one trigger twice, as a console report and as a
	// watchdog_warning event: count triggers, not reports.
	wdt := max(a.consoleWDT, a.eventWDT)
	add(point(MetricResets, float64(a.resets), 1))
	add(point(MetricWatchdogs, float64(wdt), 1))
	add(point(MetricStackOverflows, float64(a.overflows), 1))
	add(point(MetricPanics, float64(a.panics), 1))
	add(point(MetricSessionFailures, float64(a.sessionFail), 1))
	add(point(MetricAllocFailures, float64(a.allocFail), 1))
	if a.runEnd != nil {
		add(point(MetricSamplesDropped, float64(a.runEnd.SamplesDropped), 1))
		if a.runEnd.SamplesDropped > 0 {
			warn("the board dropped %d samples", a.runEnd.SamplesDropped)
		}
		if a.runEnd.Status != "" && a.runEnd.Status != "ok" {
			msg := "run ended " + a.runEnd.Status
			if a.runEnd.Err != "" {
				msg += ": " + a.runEnd.Err
			}
			warn("%s", msg)
		}
	}
	if a.resets > 0 {
		warn("%d reset(s) during the cell: figures mix %d boots", a.resets, res.Segments)
	}
	if wdt > 0 {
		warn("%d watchdog trigger(s)", wdt)
	}
	if a.overflows > 0 {
		warn("%d stack overflow(s)", a.overflows)
	}
	if a.panics > 0 {
		warn("%d panic(s)", a.panics)
	}
	if a.sessionFail > 0 {
		warn("%d session(s) failed", a.sessionFail)
	}
	if a.pendingCycle >= 0 {
		warn("cycle %d ended with no sample after it", a.pendingCycle)
	}
	if len(a.cycleX) > 0 {
		x, y := a.cycleX, a.cycleY
		if len(x) >= warmupCycles {
			x, y = x[1:], y[1:]
		}
		if m, err := LeakMetric(x, y); err != nil {
			warn("leak per cycle: %v (%d cycles)", err, len(x))
		} else {
			add(m)
			if *m.Significant && m.Value > 0 {
				warn("leak: %.0f B per cycle, 95%% interval [%.0f, %.0f] excludes zero", m.Value, float64(m.Lo), float64(m.Hi))
			}
		}
	}
	if n := a.latency.N(); n > 0 {
		q := a.latency.Quantiles(0.5, 0.9, 0.99)
		add(point(MetricLatencyP50, q[0], n))
		add(point(MetricLatencyP90, q[1], n))
		add(point(MetricLatencyP99, q[2], n))
		add(point(MetricLatencyMax, float64(a.latency.Max()), n))
	}
	if a.ownersSeen {
		var internal uint64
		for _, e := range a.owners {
			res.Owners = append(res.Owners, OwnerUse{Label: e.Label, Heap: e.Heap.String(), Bytes: e.Bytes, Blocks: e.Blocks})
			if e.Heap == wire.HeapInternal {
				internal += uint64(e.Bytes)
			}
		}
		res.OwnersSeq = a.ownersSeq
		if a.ownersFreeOK && res.InternalTotal > 0 {
			used := int64(res.InternalTotal) - int64(a.ownersFree)
			res.OwnersInternalUsed = used
			res.OwnersUnattributed = used - int64(internal)
			if res.OwnersUnattributed < 0 {
				warn("owner snapshot (seq %d) names %d B of internal RAM but only %d B were in use at that sample", a.ownersSeq, internal, used)
			}
		} else {
			warn("owner snapshot (seq %d) has no sample with its seq: internal RAM in use at that moment unknown", a.ownersSeq)
		}
	}
}

// LeakMetric fits internal free bytes y against cycle index x and returns
// leak_per_cycle: the negated slope (bytes lost per cycle) with its 95%
// interval, Significant when the interval excludes zero.
func LeakMetric(x, y []float64) (Metric, error) {
	fit, err := stats.LinearFit(x, y, Confidence)
	if err != nil {
		return Metric{}, err
	}
	sig := fit.ExcludesZero()
	return Metric{Name: MetricLeakPerCycle, Unit: UnitBytesCycle, Value: negate(fit.Slope),
		Lo: Float(negate(fit.SlopeHi)), Hi: Float(negate(fit.SlopeLo)), Confidence: Confidence, N: fit.N, Significant: &sig}, nil
}

// negate returns -v, but 0 for 0: a flat fit is "0 B/cycle", not "-0".
func negate(v float64) float64 {
	if v == 0 {
		return 0
	}
	return -v
}
