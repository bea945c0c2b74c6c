package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/wsbench/wsbench/sim/heap"
	"github.com/wsbench/wsbench/wire"
)

// runState is the state of the run in progress.
type runState struct {
	p           wire.RunParams
	phase       wire.Phase
	period      int64 // µs
	nextSample  int64
	samples     uint32 // samples sent
	dropped     uint32
	events      uint32
	sinceDetail uint16
	rng         *rand.Rand
	wallBase    time.Time
	virtBase    int64
	sessions    []*session
	failed      error // a failure that ends the run with status "failed"
}

// checkRun rejects runs the board cannot start.
func (m *machine) checkRun(p wire.RunParams) error {
	switch p.Scenario {
	case wire.ScenarioSweep:
		// n=0 is the reference point of a sweep: no session, no client.
		if p.N > 0 && p.WSURL == "" && p.HTTPSURL == "" {
			return errors.New("run: sweep needs ws_url or https_url")
		}
	case wire.ScenarioChurn, wire.ScenarioHandler:
		if p.WSURL == "" {
			return fmt.Errorf("run: %s needs ws_url", p.Scenario)
		}
	}
	for _, u := range []struct{ name, v, scheme string }{{"ws_url", p.WSURL, "wss"}, {"https_url", p.HTTPSURL, "https"}} {
		if u.v == "" {
			continue
		}
		if _, _, err := splitURL(u.v, u.scheme); err != nil {
			return fmt.Errorf("run: %s: %w", u.name, err)
		}
	}
	return nil
}

// execute runs one scenario. It returns a *rebootError when the board
// crashed (no RunEnd is sent then, as on hardware).
func (m *machine) execute(ctx context.Context, p wire.RunParams) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := &runState{p: p, period: int64(p.PeriodMS) * 1000, rng: newRand(m.b.cfg.Seed^0x9e3779b97f4a7c15, p.Seed),
		wallBase: time.Now(), virtBase: m.now}
	r.nextSample = m.now + r.period
	m.run = r
	defer func() { m.run = nil }()
	m.logf('I', "wsbench", "run %s: scenario %s n=%d period_ms=%d", p.Cell, p.Scenario, p.N, p.PeriodMS)
	m.send(&wire.RunStart{Params: p, TimeUS: uint64(m.now), Variant: m.b.cfg.Variant}, false)
	var err error
	switch p.Scenario {
	case wire.ScenarioSweep:
		err = m.sweep(ctx)
	case wire.ScenarioChurn:
		err = m.churn(ctx)
	case wire.ScenarioHandler:
		err = m.handler(ctx)
	}
	var rb *rebootError
	if errors.As(err, &rb) {
		m.dropSessions()
		return err
	}
	cause := context.Cause(ctx)
	if ctx.Err() != nil && !errors.Is(cause, errStopped) {
		// Reset or shutdown: the board goes away without a RunEnd.
		m.dropSessions()
		return nil
	}
	// Teardown of whatever is still open, also after stop.
	tctx := context.WithoutCancel(ctx)
	if len(r.sessions) > 0 {
		if r.phase != wire.PhaseTeardown {
			m.setPhase(wire.PhaseTeardown)
		}
		for i := len(r.sessions) - 1; i >= 0; i-- {
			m.closeSession(r.sessions[i])
			_ = m.advance(tctx, m.gap())
		}
		r.sessions = nil
	}
	m.setPhase(wire.PhaseDone)
	end := &wire.RunEnd{Cell: p.Cell, TimeUS: uint64(m.now), Status: "ok", SamplesSent: r.samples,
		SamplesDropped: r.dropped, Events: r.events}
	switch {
	case errors.Is(cause, errStopped):
		end.Status, end.Err = "aborted", "stopped by command"
	case r.failed != nil:
		end.Status, end.Err = "failed", r.failed.Error()
	case err != nil:
		end.Status, end.Err = "failed", err.Error()
	}
	m.logf('I', "wsbench", "run %s: %s %s", p.Cell, end.Status, end.Err)
	m.send(end, false)
	return nil
}

// dropSessions closes real sockets without modelling anything (the board
// is going away).
func (m *machine) dropSessions() {
	for _, s := range m.run.sessions {
		s.closeNet()
	}
	m.run.sessions = nil
}

// gap is the settle time between sessions: two sample periods, at least
// 300 ms (our scenario design).
func (m *machine) gap() int64 { return max(2*m.run.period, 300_000) }

// advance moves virtual time by d µs, sending every sample that falls due.
// In realtime mode it also waits until the wall clock catches up.
func (m *machine) advance(ctx context.Context, d int64) error {
	r := m.run
	end := m.now + d
	for r.nextSample <= end {
		m.now = r.nextSample
		r.nextSample += r.period
		m.sample(false)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	m.now = end
	if m.b.cfg.Realtime {
		due := r.wallBase.Add(time.Duration(m.now-r.virtBase) * time.Microsecond)
		if err := m.realtimeSleep(ctx, time.Until(due)); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// sample sends one Sample (and a HeapDetail when due or forced).
func (m *machine) sample(forceDetail bool) {
	r := m.run
	in := m.heaps.Info(heap.CapInternal)
	sp := m.heaps.Info(heap.CapSPIRAM)
	s := &wire.Sample{Seq: m.seq, TimeUS: uint64(m.now), Phase: r.phase, Sessions: uint8(min(m.open, 255)),
		InternalFree: in.Free, InternalMinFree: in.MinFree, InternalLargest: in.Largest,
		SPIRAMFree: sp.Free, SPIRAMMinFree: sp.MinFree, SPIRAMLargest: sp.Largest, WSStackHWM: m.wsHWM}
	if !m.send(s, m.b.cfg.Realtime) {
		r.dropped++
		m.seq++
		return
	}
	r.samples++
	r.sinceDetail++
	if forceDetail || (r.p.DetailEvery > 0 && r.sinceDetail >= r.p.DetailEvery) {
		r.sinceDetail = 0
		d := &wire.HeapDetail{Seq: m.seq, Internal: heapInfo(in), DMA: heapInfo(m.heaps.Info(heap.CapDMA)), SPIRAM: heapInfo(sp)}
		m.send(d, false)
	}
	m.seq++
}

func heapInfo(i heap.Info) wire.HeapInfo {
	return wire.HeapInfo{Free: i.Free, Allocated: i.Allocated, Largest: i.Largest, MinFree: i.MinFree,
		AllocatedBlocks: i.AllocatedBlocks, FreeBlocks: i.FreeBlocks, TotalBlocks: i.TotalBlocks}
}

// event sends an Event stamped now.
func (m *machine) event(e wire.Event) {
	e.TimeUS = uint64(m.now)
	if m.run != nil {
		m.run.events++
	}
	m.send(&e, false)
}

// setPhase starts a phase: an EventPhase, a Sample with its HeapDetail, and
// the Owners table.
func (m *machine) setPhase(ph wire.Phase) {
	m.run.phase = ph
	m.event(wire.Event{Kind: wire.EventPhase, Session: -1, Name: ph.String()})
	seq := m.seq
	m.sample(true)
	m.sendOwners(seq) // the Owners table belongs to the phase-change sample
}

// sessionURL picks what session i of a sweep connects to: with both URLs,
// session 0 is the websocket client and the others are HTTPS keep-alive
// sessions; with one URL, every session uses it.
func sessionKind(p wire.RunParams, i int) (ws bool, url string) {
	switch {
	case p.WSURL != "" && (i == 0 || p.HTTPSURL == ""):
		return true, p.WSURL
	default:
		return false, p.HTTPSURL
	}
}

func (m *machine) sweep(ctx context.Context) error {
	p := m.run.p
	m.setPhase(wire.PhaseBaseline)
	if err := m.advance(ctx, int64(p.BaselineMS)*1000); err != nil {
		return err
	}
	m.setPhase(wire.PhaseRamp)
	for i := 0; i < int(p.N); i++ {
		ws, url := sessionKind(p, i)
		s, err := m.openSession(ctx, i, ws, url)
		if err != nil {
			return err
		}
		if s != nil {
			m.run.sessions = append(m.run.sessions, s)
		}
		if m.run.failed != nil {
			return nil
		}
		if err := m.advance(ctx, m.gap()); err != nil {
			return err
		}
	}
	m.setPhase(wire.PhaseSteady)
	// The steady window, with the clients' keep-alive traffic every
	// keepAliveEvery (the websocket client's PING interval).
	for left := int64(p.WindowMS) * 1000; left > 0; {
		d := min(left, keepAliveEvery)
		if err := m.advance(ctx, d); err != nil {
			return err
		}
		left -= d
		if left > 0 {
			if err := m.keepAlive(ctx); err != nil {
				return err
			}
		}
	}
	m.setPhase(wire.PhaseTeardown)
	return nil
}

// keepAliveEvery is WEBSOCKET_PING_INTERVAL_SEC (10 s) of esp_websocket_client
// (its source, not a facts-sheet row); HTTPS keep-alive sessions make one
// request at the same pace, which keeps the peer's idle timeout away.
const keepAliveEvery = 10_000_000

// keepAlive pings every open session over the real network; a session the
// peer closed is reported as failed and its memory is freed.
func (m *machine) keepAlive(ctx context.Context) error {
	r := m.run
	kept := r.sessions[:0]
	for _, s := range r.sessions {
		err := m.poke(ctx, s)
		if err == nil {
			kept = append(kept, s)
			continue
		}
		if ctx.Err() != nil {
			kept = append(kept, s)
			r.sessions = kept
			return ctx.Err()
		}
		m.logf('E', "wsbench", "session %d (%s): connection lost: %v", s.idx, s.prefix, err)
		if s.open {
			s.open = false
			m.open--
		}
		m.event(wire.Event{Kind: wire.EventSessionFailed, Session: int16(s.idx), Err: classify(err), Name: s.prefix})
		m.closeSession(s)
	}
	r.sessions = kept
	return nil
}

func (m *machine) churn(ctx context.Context) error {
	p := m.run.p
	m.setPhase(wire.PhaseBaseline)
	if err := m.advance(ctx, int64(p.BaselineMS)*1000); err != nil {
		return err
	}
	if p.N > 0 {
		m.setPhase(wire.PhaseRamp)
		for i := 1; i <= int(p.N); i++ {
			ws, url := p.HTTPSURL == "", p.HTTPSURL
			if ws {
				url = p.WSURL
			}
			s, err := m.openSession(ctx, i, ws, url)
			if err != nil {
				return err
			}
			if s != nil {
				m.run.sessions = append(m.run.sessions, s)
			}
			if err := m.advance(ctx, m.gap()); err != nil {
				return err
			}
		}
	}
	m.setPhase(wire.PhaseChurn)
	for c := 0; c < int(p.Cycles); c++ {
		s, err := m.openSession(ctx, 0, true, p.WSURL)
		if err != nil {
			return err
		}
		if m.run.failed != nil {
			return nil
		}
		// Hold the connection for one settle gap, then stop and destroy.
		if err := m.advance(ctx, m.gap()); err != nil {
			if s != nil {
				m.run.sessions = append(m.run.sessions, s)
			}
			return err
		}
		if s != nil {
			m.closeSession(s)
		}
		if leak := m.b.getFaults().LeakBytes; leak > 0 {
			// The leak fault: bytes lost on every cycle, never freed.
			if _, ok := m.heaps.Malloc(leak, "fault/leak"); !ok {
				m.event(wire.Event{Kind: wire.EventAllocFailed, Session: -1, Size: leak, Name: "fault/leak", Err: int32(heap.CapDefault)})
			}
		}
		m.event(wire.Event{Kind: wire.EventCycleEnd, Session: 0, Size: uint32(c)})
		if err := m.advance(ctx, m.gap()); err != nil {
			return err
		}
	}
	m.setPhase(wire.PhaseTeardown)
	return nil
}
