package sim

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wsbench/wsbench/collector"
	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/wire"
)

// TestFaultsVisibleThroughCollector runs a board on a pty with wsbench's
// collector on the other side: the watchdog panic, the stack overflow and
// the per-cycle leak must all come out as the collector's records.
func TestFaultsVisibleThroughCollector(t *testing.T) {
	p := startPeer(t)
	b, err := New(Config{Profile: "esp32s3-n8r8", RootCAs: p.pool, Seed: 4, Faults: Faults{WDTPanic: true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testctx.New(t))
	defer cancel()
	path, done, err := ServePTY(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	// stopBoard ends the board and waits for it, bounded; it runs on
	// every path (cleanup) and once.
	stopBoard := sync.OnceFunc(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("virtual board still serving 30 s after its context ended")
		}
	})
	t.Cleanup(stopBoard)
	q := collector.NewQueue()
	c, err := collector.Start(ctx, collector.SerialOpener(path, 115200), collector.Options{Dir: t.TempDir(), OnRecord: q.Push})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() }) // ends with ctx; a no-op once stopped
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	wait := func(what string, match func(record.Record) bool) record.Record {
		t.Helper()
		r, err := q.WaitFor(wctx, c.Done(), match)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		return r
	}
	typ := func(ty record.Type, seg uint32) func(record.Record) bool {
		return func(r record.Record) bool { return r.Type == ty && r.Segment == seg }
	}
	send := func(cmd wire.Command) {
		t.Helper()
		if err := c.Send(cmd); err != nil {
			t.Fatal(err)
		}
	}
	wait("Hello", typ(record.TypeHello, 0))

	// 1. Inline handler with the watchdog panic on.
	send(wire.RunCommand(handlerParams(p, "wdt", wire.HandlerInline)))
	wait("watchdog report", typ(record.TypeWatchdog, 0))
	rst := wait("reset", typ(record.TypeReset, 1)).Body.(*record.Reset)
	if rst.Class != "task_wdt" {
		t.Errorf("watchdog reset %+v, want class task_wdt", rst)
	}
	if h := wait("Hello", typ(record.TypeHello, 1)).Body.(*wire.Hello); h.ResetReason != resetTaskWDT {
		t.Errorf("Hello reason %d", h.ResetReason)
	}

	// 2. Stack too small for TLS.
	send(wire.Command{Name: wire.CmdFault, Args: []wire.Arg{{Key: "small_stack", Value: "1"}, {Key: "wdt_panic", Value: "0"}}})
	send(wire.RunCommand(sweepParams(p, "stack", 1)))
	wait("a sample with no stack headroom", func(r record.Record) bool {
		s, ok := r.Body.(*wire.Sample)
		return ok && r.Segment == 1 && s.WSStackHWM == 0
	})
	so := wait("stack overflow", typ(record.TypeStackOverflow, 1)).Body.(*record.StackOverflow)
	t.Logf("stack overflow record: %+v", so)
	if rst := wait("reset", typ(record.TypeReset, 2)).Body.(*record.Reset); rst.Class != "panic" {
		t.Errorf("stack overflow reset %+v, want class panic", rst)
	}

	// 3. The leak: internal free after each cycle falls by the leak.
	wait("Hello", typ(record.TypeHello, 2))
	send(wire.Command{Name: wire.CmdFault, Args: []wire.Arg{{Key: "small_stack", Value: "0"}, {Key: "leak", Value: "2000"}}})
	send(wire.RunCommand(wire.RunParams{Cell: "leak", Scenario: wire.ScenarioChurn, PeriodMS: 50, DetailEvery: 5,
		BaselineMS: 200, Cycles: 5, HandlerMode: wire.HandlerQueued, WSURL: p.wsURL()}))
	var frees []uint32
	afterCycle := false
	for {
		r := wait("churn records", func(r record.Record) bool { return r.Segment == 2 })
		switch x := r.Body.(type) {
		case *wire.Event:
			afterCycle = afterCycle || x.Kind == wire.EventCycleEnd
		case *wire.Sample:
			if afterCycle {
				frees = append(frees, x.InternalFree)
				afterCycle = false
			}
		}
		if _, ok := r.Body.(*wire.RunEnd); ok {
			break
		}
	}
	if len(frees) != 5 {
		t.Fatalf("samples after cycle ends: %v", frees)
	}
	for i := 1; i < len(frees); i++ {
		if d := int64(frees[i-1]) - int64(frees[i]); d != 2004 {
			t.Errorf("cycle %d: internal free fell by %d, want 2004 (leak + header); frees %v", i, d, frees)
		}
	}
	st, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	stopBoard()
	if st.CRCErrors != 0 || st.DecodeErrors != 0 || st.Segments != 3 {
		t.Errorf("collector stats %+v", st)
	}
}
