package sim

import (
	"context"
	"fmt"

	"github.com/coder/websocket"

	"github.com/wsbench/wsbench/wire"
)

// freertosTick is one FreeRTOS tick at CONFIG_FREERTOS_HZ=100 (ESP-IDF
// default; not a facts-sheet row): the queued worker's vTaskDelay(1).
const freertosTick = 10_000 // µs

// handler runs the handler scenario: one websocket session; an event (a
// real echoed message) every event_ms; W=work_ms of CPU work per event,
// either inline in the websocket task (which then starves IDLE0 while busy
// and trips the task watchdog after its timeout) or handed to a worker task
// through a queue (the worker yields every workerSlice, so IDLE runs).
func (m *machine) handler(ctx context.Context) error {
	r := m.run
	p := r.p
	m.setPhase(wire.PhaseBaseline)
	if err := m.advance(ctx, int64(p.BaselineMS)*1000); err != nil {
		return err
	}
	m.setPhase(wire.PhaseRamp)
	s, err := m.openSession(ctx, 0, true, p.WSURL)
	if err != nil {
		return err
	}
	if s == nil {
		if r.failed == nil {
			r.failed = fmt.Errorf("handler: the websocket session did not connect")
		}
		return nil
	}
	r.sessions = append(r.sessions, s)
	queued := p.HandlerMode == wire.HandlerQueued
	var worker memSet
	defer m.free(&worker, "")
	if queued {
		if !m.alloc(&worker, -1, "app/worker_stack", workerStack, howInternal) ||
			!m.alloc(&worker, -1, "app/worker_tcb", tcbSize, howInternal) ||
			!m.alloc(&worker, -1, "app/worker_queue", queueStruct+workerQueueDepth*workerQueueItem, howInternal) {
			r.failed = fmt.Errorf("handler: cannot create the worker task: %w", errNoMem)
			return nil
		}
		m.event(wire.Event{Kind: wire.EventTaskStarted, Session: -1, Name: "worker", Size: workerStack, Err: int32(wire.HeapInternal)})
	}
	m.setPhase(wire.PhaseHandler)
	o := m.b.opts
	timeout := int64(o.TaskWDTTimeoutS) * 1_000_000
	panicOn := o.TaskWDTPanic || m.b.getFaults().WDTPanic
	work := int64(p.WorkMS) * 1000
	every := int64(p.EventMS) * 1000
	start := m.now
	end := start + int64(p.WindowMS)*1000

	// Inline state: the current busy stretch of the websocket task (IDLE0
	// cannot run during it) and the watchdog trips in it.
	stretch, trips := int64(-1), int64(0)
	busyUntil := start
	// Queued state: completion times of queued events (FIFO).
	type job struct{ arrival, done int64 }
	var jobs []job
	workerFree := start
	dropped := 0

	// busy advances by d while the websocket task runs without blocking,
	// checking the task watchdog.
	busy := func(d int64) error {
		stop := m.now + d
		for {
			trip := stretch + (trips+1)*timeout
			if trip > stop {
				break
			}
			if err := m.advance(ctx, trip-m.now); err != nil {
				return err
			}
			trips++
			m.wdtDump("websocket_task")
			m.event(wire.Event{Kind: wire.EventWatchdogWarning, Session: 0, Name: "websocket_task", DurUS: uint32(min(trips*timeout, 1<<32-1))})
			if panicOn {
				m.logf('E', "task_wdt", "Aborting.")
				m.abortPanic()
				return &rebootError{resetTaskWDT}
			}
		}
		return m.advance(ctx, stop-m.now)
	}
	latency := func(arrival int64, err int32) {
		m.event(wire.Event{Kind: wire.EventHandlerLatency, Session: 0, Err: err, DurUS: uint32(min(m.now-arrival, 1<<32-1))})
	}
	for k := int64(0); ; k++ {
		t := start + k*every
		if t >= end {
			break
		}
		// The real event: one message echoed by the peer.
		if err := m.echo(ctx, s, k); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.failed = fmt.Errorf("handler: event %d: %w", k, err)
			m.event(wire.Event{Kind: wire.EventSessionFailed, Session: 0, Err: espFail, Name: s.prefix})
			return nil
		}
		if !queued {
			if m.now >= end {
				dropped++ // arrived but never handled within the window
				continue
			}
			if m.now < t {
				// The task blocked waiting for data: IDLE0 ran.
				if err := m.advance(ctx, t-m.now); err != nil {
					return err
				}
			}
			if busyUntil < m.now || stretch < 0 {
				stretch, trips = m.now, 0
			}
			if err := busy(work); err != nil {
				return err
			}
			busyUntil = m.now
			latency(t, 0)
			continue
		}
		for len(jobs) > 0 && jobs[0].done <= t {
			if err := m.advance(ctx, jobs[0].done-m.now); err != nil {
				return err
			}
			latency(jobs[0].arrival, 0)
			jobs = jobs[1:]
		}
		if err := m.advance(ctx, t-m.now); err != nil {
			return err
		}
		waiting := 0
		for _, j := range jobs {
			if j.done-work > t { // not started yet
				waiting++
			}
		}
		if waiting >= workerQueueDepth {
			dropped++
			latency(t, espErrTimeout) // xQueueSend timed out: the event is dropped
			continue
		}
		begin := max(workerFree, t)
		slices := (work + workerSlice - 1) / workerSlice
		workerFree = begin + work + slices*freertosTick
		jobs = append(jobs, job{t, workerFree})
	}
	for len(jobs) > 0 && jobs[0].done <= end {
		if err := m.advance(ctx, jobs[0].done-m.now); err != nil {
			return err
		}
		latency(jobs[0].arrival, 0)
		jobs = jobs[1:]
	}
	if end > m.now {
		if err := m.advance(ctx, end-m.now); err != nil {
			return err
		}
	}
	if len(jobs) > 0 || dropped > 0 {
		m.logf('W', "wsbench", "handler: %d events dropped or left unhandled, %d unfinished at the end of the window", dropped, len(jobs))
	}
	m.setPhase(wire.PhaseTeardown)
	if queued {
		m.event(wire.Event{Kind: wire.EventTaskStopped, Session: -1, Name: "worker"})
	}
	return nil
}

// echo sends one message on the session's real websocket and reads the echo
// (mutex released).
func (m *machine) echo(ctx context.Context, s *session, k int64) error {
	c := s.wsConn
	m.mu.Unlock()
	defer m.mu.Lock()
	ctx, cancel := context.WithTimeout(ctx, networkTimeout)
	defer cancel()
	msg := fmt.Sprintf("wsbench event %d", k)
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	// Wait for the echo; other messages (server push) are skipped.
	for {
		select {
		case data := <-s.rx:
			if string(data) == msg {
				return nil
			}
		case <-s.rxDone:
			return fmt.Errorf("read echo: %w", s.rxErr)
		case <-ctx.Done():
			return fmt.Errorf("read echo: %w", ctx.Err())
		}
	}
}
