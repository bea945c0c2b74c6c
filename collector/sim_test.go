package collector

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/sim"
	"github.com/wsbench/wsbench/wire"
)

// TestVirtualBoardReset captures wsbench's virtual board on a pty: its boot
// (ROM banner, Hello), then a "reset" command: the new banner and Hello are
// a new segment, and the reset is classed as software.
func TestVirtualBoardReset(t *testing.T) {
	for _, profile := range []string{"esp32s3-n8r8", "esp32-wrover"} {
		t.Run(profile, func(t *testing.T) {
			b, err := sim.New(sim.Config{Profile: profile, Seed: 1})
			if err != nil {
				t.Skipf("virtual board: %v", err)
			}
			ctx, cancel := context.WithCancel(testctx.New(t))
			defer cancel()
			path, done, err := sim.ServePTY(ctx, b)
			if err != nil {
				t.Skip(err)
			}
			dir := t.TempDir()
			q := NewQueue()
			c, err := Start(ctx, SerialOpener(path, 115200), Options{Dir: dir, OnRecord: q.Push})
			if err != nil {
				t.Fatal(err)
			}
			wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
			defer wcancel()
			is := func(typ record.Type, seg uint32) func(record.Record) bool {
				return func(r record.Record) bool { return r.Type == typ && r.Segment == seg }
			}
			if _, err := q.WaitFor(wctx, c.Done(), is(record.TypeHello, 0)); err != nil {
				t.Fatalf("no Hello: %v", err)
			}
			if err := c.Send(wire.Command{Name: wire.CmdReset}); err != nil {
				t.Fatal(err)
			}
			r, err := q.WaitFor(wctx, c.Done(), is(record.TypeReset, 1))
			if err != nil {
				t.Fatalf("no reset in segment 1: %v", err)
			}
			if rst := r.Body.(*record.Reset); rst.Class != "software" || rst.After != "" {
				t.Errorf("reset %+v, want class software", rst)
			}
			h, err := q.WaitFor(wctx, c.Done(), is(record.TypeHello, 1))
			if err != nil {
				t.Fatalf("no Hello after the reset: %v", err)
			}
			if reason := h.Body.(*wire.Hello).ResetReason; reason != 3 {
				t.Errorf("Hello reset reason %d, want 3 (SW)", reason)
			}
			st, err := c.Stop()
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			select {
			case err := <-done:
				if err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("virtual board: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("virtual board still serving 30 s after its context ended")
			}
			if st.Segments != 2 || st.CRCErrors != 0 || st.DecodeErrors != 0 {
				t.Errorf("stats %+v", st)
			}
			msgp, _ := os.ReadFile(filepath.Join(dir, rundir.RecordsFile))
			again, _ := replayBytes(t, dir)
			if !bytes.Equal(again, msgp) {
				t.Error("decode of raw.bin differs from the live records")
			}
		})
	}
}
