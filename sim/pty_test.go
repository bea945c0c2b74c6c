package sim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/wire"
)

// TestEndToEndOverPTY runs a board on a pseudo-terminal, reads it through
// go.bug.st/serial as the collector does, demultiplexes with wire.Demuxer
// and checks the frames against what the board logged on its console.
func TestEndToEndOverPTY(t *testing.T) {
	p := startPeer(t)
	b, err := New(Config{Profile: "esp32-wrover", RootCAs: p.pool, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testctx.New(t))
	path, done, err := ServePTY(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("ServePTY did not end")
		}
	}()
	port, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer port.Close()
	if err := port.SetReadTimeout(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	c := &capture{change: make(chan struct{}, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := port.Read(buf)
			if n > 0 {
				c.feed(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	h := &harness{t: t, cap: c}
	write := func(line string) {
		if _, err := port.Write([]byte(line + "\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	waitHello(h, 1)
	write(wire.RunCommand(sweepParams(p, "pty", 3)).String())
	text, msgs := h.waitFor("RunEnd", 60*time.Second, func(_ string, msgs []wire.Message) bool {
		for _, m := range msgs {
			if _, ok := m.(*wire.RunEnd); ok {
				return true
			}
		}
		return false
	})
	c.mu.Lock()
	st := c.demux.Stats()
	errs := c.errs
	c.mu.Unlock()
	if st.CRCErrors != 0 || st.BadHeaders != 0 || len(errs) != 0 {
		t.Fatalf("stream damaged: %+v, decode errors %v", st, errs)
	}
	var end *wire.RunEnd
	samples := 0
	for _, m := range msgs {
		switch x := m.(type) {
		case *wire.RunEnd:
			end = x
		case *wire.Sample:
			samples++
		case *wire.Event:
			if x.Kind == wire.EventSessionConnected {
				line := fmt.Sprintf("wsbench: session %d (%s) connected in %d ms", x.Session, x.Name, x.DurUS/1000)
				if !strings.Contains(text, line) {
					t.Errorf("event %+v has no matching console line %q", x, line)
				}
			}
		}
	}
	if !strings.Contains(text, fmt.Sprintf("wsbench: run pty: %s", end.Status)) {
		t.Errorf("console does not log the run's end status %q", end.Status)
	}
	if uint32(samples) != end.SamplesSent || end.SamplesDropped != 0 {
		t.Errorf("received %d samples, RunEnd says %d sent, %d dropped", samples, end.SamplesSent, end.SamplesDropped)
	}
	if !strings.Contains(text, "ets Jun  8 2016 00:22:57") || !strings.Contains(text, "rst:0x1 (POWERON_RESET)") {
		t.Error("no ESP32 ROM banner")
	}
	connected := len(events(msgs, wire.EventSessionConnected))
	failed := len(events(msgs, wire.EventSessionFailed))
	if connected+failed != 3 || connected == 0 {
		t.Errorf("connected %d + failed %d != 3", connected, failed)
	}
	t.Logf("pty %s: %d bytes, %d frames, %d samples, %d connected, %d failed", path, st.Bytes, st.Frames, samples, connected, failed)
}
