package collector

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsbench/wsbench/internal/pty"
	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// stream builds what a board sends.
type stream struct {
	t *testing.T
	b []byte
}

func (s *stream) text(txt string) *stream { s.b = append(s.b, txt...); return s }

func (s *stream) msg(m wire.Message) *stream {
	var err error
	s.b, err = wire.AppendMessage(s.b, m)
	if err != nil {
		s.t.Fatal(err)
	}
	return s
}

// corrupt appends m framed with one payload byte flipped (a CRC error).
func (s *stream) corrupt(m wire.Message) *stream {
	start := len(s.b)
	s.msg(m)
	s.b[start+wire.HeaderSize+1] ^= 0x40
	return s
}

func sample(seq uint32) *wire.Sample {
	return &wire.Sample{Seq: seq, TimeUS: uint64(seq) * 100000, Phase: wire.PhaseSteady, Sessions: 4,
		InternalFree: 150000 - seq, InternalMinFree: 140000, InternalLargest: 90000,
		SPIRAMFree: 8000000, SPIRAMMinFree: 7900000, SPIRAMLargest: 7000000, WSStackHWM: 1200}
}

func hello(reason uint8) *wire.Hello {
	return &wire.Hello{Protocol: wire.ProtocolVersion, Board: "esp32-devkitc", Chip: "esp32", Cores: 2,
		IDFVersion: "v5.3.1", AppName: "wsbench", Component: "espressif/esp_websocket_client", ResetReason: reason}
}

// ptyIOLimit bounds every read and write of a test on a pty master: a
// capture that stopped reading makes the test fail, not hang.
const ptyIOLimit = time.Minute

// newPTY opens a pty (raw, non-blocking: internal/pty) and returns its master
// and the path of its slave, for a capture to open. The test keeps the slave
// open so the master never sees a hang-up while the capture reopens it. Every
// read and write on the master fails once ptyIOLimit has passed.
func newPTY(t *testing.T) (master *os.File, slaveName string) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	if err := m.SetDeadline(time.Now().Add(ptyIOLimit)); err != nil {
		t.Fatalf("pty master deadline: %v", err)
	}
	return m, s.Name()
}

// waitEnded waits, at most d, for c to end by itself (a file source at
// EOF), and returns what Wait returns.
func waitEnded(t *testing.T, c *Capture, d time.Duration) (Stats, error) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(d):
		t.Fatalf("capture still running after %v", d)
	}
	return c.Wait()
}

// stopWithin stops c and fails the test if that takes more than d.
func stopWithin(t *testing.T, c *Capture, d time.Duration) {
	t.Helper()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		c.Stop()
	}()
	select {
	case <-stopped:
	case <-time.After(d):
		t.Errorf("capture Stop did not return within %v", d)
	}
}

// readAll reads records.msgp of a capture directory.
func readRecords(t *testing.T, dir string) []record.Record {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, rundir.RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := record.NewReader(f, rundir.RecordsFile)
	var out []record.Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

// replayBytes decodes raw.bin of dir again and returns the msgp stream it
// writes and the records.
func replayBytes(t *testing.T, dir string) ([]byte, Replayed) {
	t.Helper()
	var buf bytes.Buffer
	w := record.NewWriter(&buf)
	res, err := DecodeRaw(filepath.Join(dir, rundir.RawFile), func(r record.Record, payload []byte) {
		if err := WriteRecord(w, r, payload); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), res
}

// waitBytes waits until the capture has read n bytes.
func waitBytes(t *testing.T, c *Capture, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().Bytes < n {
		if time.Now().After(deadline) {
			t.Fatalf("capture read %d of %d bytes", c.Stats().Bytes, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeSlowly writes b to w in pieces so that the capture sees many reads
// and frames split across them.
func writeSlowly(t *testing.T, w io.Writer, b []byte, piece int) {
	t.Helper()
	for len(b) > 0 {
		n := min(piece, len(b))
		if _, err := w.Write(b[:n]); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
		time.Sleep(time.Millisecond)
	}
}

// summary renders a record compactly for comparisons.
func summary(r record.Record) string {
	var body string
	switch b := r.Body.(type) {
	case *record.Console:
		text := b.Text
		if i := strings.LastIndex(text, `\x`); i >= 0 && i+4 <= len(text) {
			text = "<junk>" + text[i+4:]
		}
		body = fmt.Sprintf("%q", text)
		if b.Level != "" {
			body += " " + b.Level + "/" + b.Tag
		}
	case *wire.Sample:
		body = fmt.Sprintf("seq=%d", b.Seq)
	case *wire.Hello:
		body = fmt.Sprintf("reason=%d", b.ResetReason)
	case *record.Note:
		body = b.Kind
	case *record.Reset:
		body = fmt.Sprintf("%s %s %s after=%s", b.Chip, b.ROMName, b.Class, b.After)
	case *record.Panic:
		body = fmt.Sprintf("%s core=%d bt=%t", b.Cause, b.Core, b.Backtrace != "")
	case *record.Watchdog:
		body = fmt.Sprintf("starving=%s running=%s aborted=%t", strings.Join(b.Starving, ","), strings.Join(b.Running, ","), b.Aborted)
	case *wire.Reply:
		body = b.Cmd
	default:
		body = fmt.Sprintf("%T", b)
	}
	return fmt.Sprintf("%d %s %s", r.Segment, r.Type, body)
}

func startCapture(t *testing.T, open Opener, dir string, onRecord func(record.Record)) *Capture {
	t.Helper()
	c, err := Start(testctx.New(t), open, Options{Dir: dir, Source: "test pty", OnRecord: onRecord, BlockTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopWithin(t, c, 30*time.Second) })
	return c
}

// write writes b to a pty master (bounded by newPTY's deadline).
func write(t *testing.T, w io.Writer, b []byte) {
	t.Helper()
	if _, err := w.Write(b); err != nil {
		t.Fatalf("board side: write %d bytes: %v", len(b), err)
	}
}
