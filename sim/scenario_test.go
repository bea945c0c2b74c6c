package sim

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/wire"
)

func handlerParams(p *peer, cell, mode string) wire.RunParams {
	return wire.RunParams{Cell: cell, Scenario: wire.ScenarioHandler, PeriodMS: 100, DetailEvery: 10, BaselineMS: 500,
		WindowMS: 8000, HandlerMode: mode, WorkMS: 150, EventMS: 100, Seed: 1, WSURL: p.wsURL()}
}

func TestHandlerTripsWatchdogOnlyInline(t *testing.T) {
	p := startPeer(t)
	tests := []struct {
		mode     string
		work     uint32
		wantTrip bool
	}{
		{wire.HandlerInline, 150, true},  // busy 100% of the time: IDLE0 starves
		{wire.HandlerQueued, 150, false}, // the worker yields: IDLE runs
		{wire.HandlerInline, 50, false},  // the task blocks between events
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/work_ms=%d", tt.mode, tt.work), func(t *testing.T) {
			h := startBoard(t, Config{Profile: "esp32s3-n8r8", RootCAs: p.pool})
			waitHello(h, 1)
			par := handlerParams(p, "h", tt.mode)
			par.WorkMS = tt.work
			end, msgs, text := h.runAndWait(par)
			if end.Status != "ok" {
				t.Fatalf("RunEnd %+v", end)
			}
			warn := events(msgs, wire.EventWatchdogWarning)
			dump := strings.Contains(text, "E (") && strings.Contains(text, "task_wdt: Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:")
			if tripped := len(warn) > 0; tripped != tt.wantTrip || dump != tt.wantTrip {
				t.Fatalf("watchdog events %d, dump printed %v; want trip=%v", len(warn), dump, tt.wantTrip)
			}
			lat := events(msgs, wire.EventHandlerLatency)
			if len(lat) < 20 {
				t.Fatalf("only %d latency events", len(lat))
			}
			if tt.wantTrip {
				if !strings.Contains(text, "task_wdt:  - IDLE0 (CPU 0)") || !strings.Contains(text, "task_wdt: CPU 0: websocket_task") {
					t.Errorf("dump lacks the task lines:\n%s", tail(text, 1500))
				}
				// First trip 5 s (facts §4 default) after the busy stretch began.
				phase := events(msgs, wire.EventPhase)
				var start uint64
				for _, e := range phase {
					if e.Name == "handler" {
						start = e.TimeUS
					}
				}
				if d := warn[0].TimeUS - start; d < 5_000_000 || d > 5_200_000 {
					t.Errorf("first trip %d µs after the handler phase began, want ~5 s", d)
				}
				if strings.Contains(text, "Aborting.") {
					t.Error("aborted without TaskWDTPanic")
				}
			}
			// Inline latency grows with the backlog; queued latency too, but
			// within the worker's own pace.
			t.Logf("%s work=%d: %d latency events, first %d µs, last %d µs, %d watchdog warnings",
				tt.mode, tt.work, len(lat), lat[0].DurUS, lat[len(lat)-1].DurUS, len(warn))
		})
	}
}

func TestWatchdogPanicReboots(t *testing.T) {
	p := startPeer(t)
	for _, prof := range []string{"esp32s3-n8r8", "esp32-wrover"} {
		t.Run(prof, func(t *testing.T) {
			h := startBoard(t, Config{Profile: prof, RootCAs: p.pool, Faults: Faults{WDTPanic: true}})
			waitHello(h, 1)
			h.send(wire.RunCommand(handlerParams(p, "h", wire.HandlerInline)).String())
			hello := waitHello(h, 2)
			if hello.ResetReason != resetTaskWDT {
				t.Errorf("reset reason %d, want TASK_WDT (6)", hello.ResetReason)
			}
			text, msgs := h.cap.snapshot()
			i := strings.Index(text, "task_wdt: Aborting.")
			j := strings.Index(text, "abort() was called at PC")
			k := strings.LastIndex(text, "Rebooting...")
			banner := "rst:0xc (RTC_SW_CPU_RST)"
			if prof == "esp32-wrover" {
				banner = "rst:0xc (SW_CPU_RESET)"
			}
			l := strings.LastIndex(text, banner)
			if i < 0 || j < i || k < j || l < k {
				t.Errorf("want Aborting., abort(), Rebooting..., %q in order; got %d %d %d %d:\n%s", banner, i, j, k, l, tail(text, 3000))
			}
			for _, m := range msgs {
				if _, ok := m.(*wire.RunEnd); ok {
					t.Error("a RunEnd after a watchdog reset")
				}
			}
			// The board works after the reboot.
			h.send("hello")
			waitHello(h, 3)
		})
	}
}

func TestLeakFaultShowsPerCycle(t *testing.T) {
	p := startPeer(t)
	const cycles, leak = 6, 1000
	for _, leakOn := range []bool{false, true} {
		h := startBoard(t, Config{Profile: "esp32s3-n8r8", RootCAs: p.pool})
		waitHello(h, 1)
		if leakOn {
			h.send("fault leak=1000")
		}
		par := wire.RunParams{Cell: "churn", Scenario: wire.ScenarioChurn, N: 1, PeriodMS: 50, DetailEvery: 5, BaselineMS: 500,
			Cycles: cycles, HandlerMode: wire.HandlerQueued, Seed: 2, WSURL: p.wsURL(), HTTPSURL: p.httpsURL()}
		end, msgs, _ := h.runAndWait(par)
		if end.Status != "ok" {
			t.Fatalf("RunEnd %+v", end)
		}
		ce := events(msgs, wire.EventCycleEnd)
		if len(ce) != cycles || ce[cycles-1].Size != cycles-1 {
			t.Fatalf("cycle_end events: %d", len(ce))
		}
		// Internal free right after each cycle end.
		var after []uint32
		for i, m := range msgs {
			if e, ok := m.(*wire.Event); ok && e.Kind == wire.EventCycleEnd {
				for _, n := range msgs[i:] {
					if s, ok := n.(*wire.Sample); ok {
						after = append(after, s.InternalFree)
						break
					}
				}
			}
		}
		if len(after) != cycles {
			t.Fatalf("samples after cycle ends: %d", len(after))
		}
		per := (int64(after[0]) - int64(after[cycles-1])) / (cycles - 1)
		want := int64(0)
		if leakOn {
			want = leak + 4 // payload + block header
		}
		if per != want {
			t.Errorf("leak=%v: internal free falls %d B per cycle, want %d (after each cycle: %v)", leakOn, per, want, after)
		}
		var leakOwner *wire.OwnerUse
		for _, m := range msgs {
			if o, ok := m.(*wire.Owners); ok && o.Phase == wire.PhaseDone {
				for _, e := range o.Entries {
					if e.Label == "fault/leak" {
						leakOwner = &e
					}
				}
			}
		}
		if leakOn != (leakOwner != nil) || leakOn && leakOwner.Blocks != cycles {
			t.Errorf("leak=%v: owners entry %+v", leakOn, leakOwner)
		}
	}
}

func TestSmallStackOverflows(t *testing.T) {
	p := startPeer(t)
	h := startBoard(t, Config{Profile: "esp32s3-n8r8", RootCAs: p.pool})
	waitHello(h, 1)
	h.send("fault small_stack=1")
	h.send(wire.RunCommand(sweepParams(p, "s", 1)).String())
	hello := waitHello(h, 2)
	if hello.ResetReason != resetPanic {
		t.Errorf("reset reason %d, want PANIC (4)", hello.ResetReason)
	}
	text, msgs := h.cap.snapshot()
	if !strings.Contains(text, "***ERROR*** A stack overflow in task websocket_task has been detected.") {
		t.Errorf("no stack overflow line:\n%s", tail(text, 2000))
	}
	if !strings.Contains(text, "Rebooting...") {
		t.Error("no Rebooting...")
	}
	zero := false
	for _, m := range msgs {
		if s, ok := m.(*wire.Sample); ok && s.WSStackHWM == 0 {
			zero = true
		}
	}
	if !zero {
		t.Error("no sample with a websocket stack high-water mark of 0")
	}
	// Default stack: headroom stays positive.
	h.send("fault small_stack=0")
	end, msgs, _ := h.runAndWait(sweepParams(p, "ok", 1))
	s, _ := lastSample(msgs, wire.PhaseSteady)
	// QEMU's handshakes peaked at 3524..3728 B (wsStackTLSPeaks).
	if end.Status != "ok" || s.WSStackHWM < 4096-3728 || s.WSStackHWM > 4096-3524 {
		t.Errorf("default stack: %+v, HWM %d", end, s.WSStackHWM)
	}
}

func TestSeededVariation(t *testing.T) {
	p := startPeer(t)
	run := func(boardSeed, runSeed uint64) (*wire.Sample, []wire.OwnerUse) {
		h := startBoard(t, Config{Profile: "esp32s3-n8r8", RootCAs: p.pool, Seed: boardSeed})
		waitHello(h, 1)
		par := sweepParams(p, "v", 3)
		par.Seed = runSeed
		_, msgs, _ := h.runAndWait(par)
		s, _ := lastSample(msgs, wire.PhaseSteady)
		var own []wire.OwnerUse
		for _, m := range msgs {
			if o, ok := m.(*wire.Owners); ok && o.Phase == wire.PhaseSteady {
				own = append(own, o.Entries...)
			}
		}
		return s, own
	}
	a, ao := run(1, 1)
	b, bo := run(1, 1)
	if a.InternalFree != b.InternalFree || a.InternalMinFree != b.InternalMinFree || a.WSStackHWM != b.WSStackHWM || len(ao) != len(bo) {
		t.Errorf("same seeds differ: %+v vs %+v", a, b)
	}
	for i := range ao {
		if ao[i] != bo[i] {
			t.Errorf("owners differ: %+v vs %+v", ao[i], bo[i])
		}
	}
	c, _ := run(1, 2)
	if c.InternalMinFree == a.InternalMinFree && c.WSStackHWM == a.WSStackHWM {
		t.Errorf("another run seed changed nothing: %+v", c)
	}
	t.Logf("min free: seed 1 %d, seed 2 %d; HWM %d vs %d", a.InternalMinFree, c.InternalMinFree, a.WSStackHWM, c.WSStackHWM)
}
