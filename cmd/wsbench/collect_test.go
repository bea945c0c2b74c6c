package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsbench/wsbench/collector"
	"github.com/wsbench/wsbench/internal/pty"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

func boardBytes(t *testing.T) []byte {
	t.Helper()
	b := []byte("ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n")
	var err error
	for _, m := range []wire.Message{
		&wire.Hello{Protocol: wire.ProtocolVersion, Chip: "esp32", ResetReason: 1},
		&wire.Sample{Seq: 0, WSStackHWM: -1}, &wire.Sample{Seq: 1, WSStackHWM: -1},
	} {
		if b, err = wire.AppendMessage(b, m); err != nil {
			t.Fatal(err)
		}
	}
	b = append(b, "Guru Meditation Error: Core  1 panic'ed (StoreProhibited). Exception was unhandled.\r\nBacktrace: 0x1:0x2\r\n"...)
	b = append(b, "ets Jun  8 2016 00:22:57\r\n\r\nrst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n"...)
	return b
}

// TestCollectThenDecode runs `collect` on a pty until it has captured what
// the board sent, then `decode --json` on raw.bin and on records.msgp: both
// print the same records, each with a type.
func TestCollectThenDecode(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer master.Close()
	defer slave.Close()
	out := filepath.Join(t.TempDir(), "cap")
	data := boardBytes(t)
	// The board writes once collect runs; collect is stopped (ctx) once
	// raw.bin holds every byte, so a slow machine only makes it slower.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	boardDone := make(chan error, 1)
	go func() {
		boardDone <- func() error {
			defer cancel()
			time.Sleep(200 * time.Millisecond)
			master.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if _, err := master.Write(data); err != nil {
				return fmt.Errorf("board write: %w", err)
			}
			raw := filepath.Join(out, rundir.RawFile)
			for ctx.Err() == nil {
				if st, err := os.Stat(raw); err == nil && st.Size() >= int64(len(data)) {
					return nil
				}
				time.Sleep(10 * time.Millisecond)
			}
			return fmt.Errorf("collect did not store the board's %d bytes within the test's minute", len(data))
		}()
	}()
	var stdout bytes.Buffer
	err = runCollect(ctx, &stdout, collectConfig{port: slave.Name(), baud: 115200, out: out, cmds: []wire.Command{{Name: "hello"}}})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-boardDone; err != nil { // bounded: the goroutine ends once ctx has
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "panic") || !strings.Contains(stdout.String(), "0 CRC errors") {
		t.Errorf("collect printed:\n%s", stdout.String())
	}
	var man rundir.Manifest
	if err := rundir.ReadJSON(filepath.Join(out, rundir.ManifestFile), &man); err != nil || man.Ended.IsZero() || man.ToolVersion == "" {
		t.Errorf("manifest %+v, %v", man, err)
	}
	for _, f := range []string{rundir.RawFile, rundir.IndexFile, rundir.RecordsFile, rundir.ConsoleFile, rundir.CaptureFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}

	var fromRaw, fromRecords, stderr bytes.Buffer
	if err := runDecode(&fromRaw, &stderr, filepath.Join(out, rundir.RawFile), true); err != nil {
		t.Fatal(err)
	}
	if err := runDecode(&fromRecords, &stderr, filepath.Join(out, rundir.RecordsFile), true); err != nil {
		t.Fatal(err)
	}
	if fromRaw.String() != fromRecords.String() {
		t.Errorf("decode raw.bin:\n%s\ndecode records.msgp:\n%s", fromRaw.String(), fromRecords.String())
	}
	types := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(fromRaw.String()), "\n") {
		var v struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil || v.Type == "" {
			t.Fatalf("line %q: %v", line, err)
		}
		types[v.Type]++
	}
	for typ, n := range map[string]int{"hello": 1, "sample": 2, "panic": 1, "reset": 2, "note": 2} {
		if types[typ] != n {
			t.Errorf("%d %s records, want %d (all: %v)", types[typ], typ, n, types)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %s", stderr.String())
	}

	// Without a telling name, the content decides.
	renamed := filepath.Join(t.TempDir(), "stream")
	b, _ := os.ReadFile(filepath.Join(out, rundir.RecordsFile))
	os.WriteFile(renamed, b, 0o644)
	var sniffed bytes.Buffer
	if err := runDecode(&sniffed, &stderr, renamed, true); err != nil || sniffed.String() != fromRecords.String() {
		t.Errorf("decode of an unnamed record stream: %v", err)
	}
}

func TestDecodeErrorsNameFileAndOffset(t *testing.T) {
	dir := t.TempDir()
	// A record stream cut in the middle of its second record.
	var stdout, stderr bytes.Buffer
	cut := filepath.Join(dir, "cut.msgp")
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	// Build a small records.msgp by decoding a raw file once.
	raw := filepath.Join(src, rundir.RawFile)
	os.WriteFile(raw, boardBytes(t), 0o644)
	var full bytes.Buffer
	if err := runDecode(&full, &stderr, raw, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "no ") || !strings.Contains(stderr.String(), "raw.idx") {
		t.Errorf("missing raw.idx gives no warning: %q", stderr.String())
	}
	msgp := encodeRecordsOf(t, raw)
	os.WriteFile(cut, msgp[:len(msgp)-3], 0o644)
	err := runDecode(&stdout, &stderr, cut, true)
	if err == nil || !strings.Contains(err.Error(), cut) || !strings.Contains(err.Error(), "byte ") {
		t.Fatalf("err = %v, want one naming %s and a byte offset", err, cut)
	}
	if err := runDecode(&stdout, &stderr, filepath.Join(dir, "missing.bin"), true); err == nil {
		t.Fatal("decoding a missing file succeeded")
	}
}

// encodeRecordsOf decodes a raw capture and returns its records.msgp bytes.
func encodeRecordsOf(t *testing.T, raw string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := record.NewWriter(&buf)
	if _, err := collector.DecodeRaw(raw, func(r record.Record, payload []byte) {
		if err := collector.WriteRecord(w, r, payload); err != nil {
			t.Fatal(err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeWarnsAboutDamagedFrames(t *testing.T) {
	good := boardBytes(t)
	hello := bytes.Index(good, []byte{0xa5}) // the first frame's magic
	if hello < 0 {
		t.Fatal("no frame in the board bytes")
	}
	tests := []struct {
		name   string
		damage func([]byte) []byte
		want   string // in stderr; "" means no damage warning
	}{
		{"intact", func(b []byte) []byte { return b }, ""},
		{"flipped payload byte", func(b []byte) []byte { b[hello+8] ^= 0x5a; return b }, "1 CRC errors"},
		{"cut inside the last frame", func(b []byte) []byte {
			last := bytes.LastIndex(b, []byte{0xa5})
			return b[:last+6]
		}, "1 truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := filepath.Join(t.TempDir(), rundir.RawFile)
			b := tt.damage(append([]byte(nil), good...))
			if err := os.WriteFile(raw, b, 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if err := runDecode(&stdout, &stderr, raw, true); err != nil {
				t.Fatal(err)
			}
			got := strings.Contains(stderr.String(), "damaged frames")
			if tt.want == "" {
				if got {
					t.Errorf("warning on an intact capture: %q", stderr.String())
				}
				return
			}
			if !got || !strings.Contains(stderr.String(), tt.want) || !strings.Contains(stderr.String(), raw) {
				t.Errorf("stderr %q: want a damaged-frames warning naming %s with %q", stderr.String(), raw, tt.want)
			}
		})
	}
}
