package collector

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// boardSession is a board's output: boot, samples with console text around
// and inside lines, a corrupted frame, a task watchdog report, a panic with
// its ROM banner, and a fresh boot whose sample sequence restarts.
func boardSession(t *testing.T) ([]byte, []string) {
	s := &stream{t: t}
	s.text("ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n")
	s.text("\x1b[0;32mI (312) cpu_start: Starting scheduler on PRO CPU.\x1b[0m\r\n")
	s.msg(hello(1))
	s.msg(sample(0))
	s.text("I (500) app: half")
	s.msg(sample(1)) // a frame in the middle of a console line
	s.text(" a line\r\n")
	s.msg(sample(2))
	s.corrupt(sample(3))
	s.msg(sample(4))
	s.text("\x1b[0;31mE (15336) task_wdt: Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:\x1b[0m\r\n")
	s.text("\x1b[0;31mE (15336) task_wdt:  - IDLE0 (CPU 0)\x1b[0m\r\n")
	s.text("\x1b[0;31mE (15336) task_wdt: Tasks currently running:\x1b[0m\r\n")
	s.text("\x1b[0;31mE (15336) task_wdt: CPU 0: websocket_task\x1b[0m\r\n")
	s.text("\x1b[0;31mE (15336) task_wdt: CPU 1: IDLE1\x1b[0m\r\n")
	s.msg(sample(5))
	s.text("Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.\r\n")
	s.text("Core  0 register dump:\r\n")
	s.text("Backtrace: 0x400d1d2b:0x3ffb1f50 0x400d1e59:0x3ffb1f70\r\n")
	s.text("\r\nRebooting...\r\n")
	s.text("ets Jun  8 2016 00:22:57\r\n\r\nrst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n")
	s.msg(hello(4))
	s.msg(sample(0))
	s.msg(sample(1))
	s.text("I (900) app: bye\r\n")
	want := []string{
		`0 console "ets Jun  8 2016 00:22:57"`,
		`0 console ""`,
		`0 console "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)"`,
		`0 reset esp32 POWERON_RESET poweron after=`,
		`0 console "I (312) cpu_start: Starting scheduler on PRO CPU." I/cpu_start`,
		`0 hello reason=1`,
		`0 sample seq=0`,
		`0 sample seq=1`,
		`0 console "I (500) app: half a line" I/app`,
		`0 sample seq=2`,
		`0 note seq_gap`,
		`0 sample seq=4`,
		`0 console "<junk>E (15336) task_wdt: Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:" E/task_wdt`,
		`0 console "E (15336) task_wdt:  - IDLE0 (CPU 0)" E/task_wdt`,
		`0 console "E (15336) task_wdt: Tasks currently running:" E/task_wdt`,
		`0 console "E (15336) task_wdt: CPU 0: websocket_task" E/task_wdt`,
		`0 console "E (15336) task_wdt: CPU 1: IDLE1" E/task_wdt`,
		`0 sample seq=5`,
		`0 watchdog starving=IDLE0 (CPU 0) running=CPU 0: websocket_task,CPU 1: IDLE1 aborted=false`,
		`0 console "Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled."`,
		`0 console "Core  0 register dump:"`,
		`0 console "Backtrace: 0x400d1d2b:0x3ffb1f50 0x400d1e59:0x3ffb1f70"`,
		`0 panic LoadProhibited core=0 bt=true`,
		`0 console ""`,
		`0 console "Rebooting..."`,
		`1 note segment`,
		`1 console "ets Jun  8 2016 00:22:57"`,
		`1 console ""`,
		`1 console "rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)"`,
		`1 reset esp32 SW_CPU_RESET panic after=panic`,
		`1 hello reason=4`,
		`1 sample seq=0`,
		`1 sample seq=1`,
		`1 console "I (900) app: bye" I/app`,
	}
	return s.b, want
}

func TestCaptureOverPTY(t *testing.T) {
	data, want := boardSession(t)
	master, slave := newPTY(t)
	dir := t.TempDir()
	var mu sync.Mutex
	var delivered []record.Record
	c := startCapture(t, SerialOpener(slave, 115200), dir, func(r record.Record) {
		mu.Lock()
		delivered = append(delivered, r)
		mu.Unlock()
	})

	// The board side sees commands as lines.
	if err := c.Send(wire.Command{Name: wire.CmdWiFi, Args: []wire.Arg{{Key: "ssid", Value: "lab"}, {Key: "pass", Value: "secret"}}}); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(master).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimRight(line, "\r\n"); got != "wifi ssid=lab pass=secret" {
		t.Fatalf("board received %q", got)
	}

	writeSlowly(t, master, data, 37)
	waitBytes(t, c, int64(len(data)))
	st, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}

	recs := readRecords(t, dir)
	var got []string
	for _, r := range recs {
		if n, ok := r.Body.(*record.Note); ok && n.Kind == "command" {
			if strings.Contains(n.Text, "secret") {
				t.Errorf("command note leaks the password: %q", n.Text)
			}
			continue
		}
		got = append(got, summary(r))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantStats := Stats{Bytes: int64(len(data)), CRCErrors: 1, SeqGaps: 1, Segments: 2, Frames: 9}
	if st.Bytes != wantStats.Bytes || st.CRCErrors != 1 || st.SeqGaps != 1 || st.Segments != 2 || st.Frames != 9 || st.Resyncs < 1 {
		t.Errorf("stats %+v, want %+v", st, wantStats)
	}

	raw, err := os.ReadFile(filepath.Join(dir, rundir.RawFile))
	if err != nil || !bytes.Equal(raw, data) {
		t.Fatalf("raw.bin differs from what the board sent (%d vs %d bytes, %v)", len(raw), len(data), err)
	}
	mu.Lock()
	if !reflect.DeepEqual(delivered, recs) {
		t.Errorf("OnRecord got %d records, records.msgp holds %d (or they differ)", len(delivered), len(recs))
	}
	mu.Unlock()

	// Decoding raw.bin again gives the same records, byte for byte.
	msgp, err := os.ReadFile(filepath.Join(dir, rundir.RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	again, res := replayBytes(t, dir)
	if !bytes.Equal(again, msgp) {
		t.Errorf("decode of raw.bin gives %d bytes of records, the live run wrote %d", len(again), len(msgp))
	}
	if res.Stats != st {
		t.Errorf("replay stats %+v, live %+v", res.Stats, st)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("replay warnings: %v", res.Warnings)
	}
	var info Info
	if err := rundir.ReadJSON(filepath.Join(dir, rundir.CaptureFile), &info); err != nil || info.Stats != st {
		t.Errorf("capture.json: %+v, %v", info, err)
	}
	log, _ := os.ReadFile(filepath.Join(dir, rundir.ConsoleFile))
	if !bytes.Contains(log, []byte(" I (500) app: half a line\n")) || bytes.Contains(log, []byte("\x1b")) {
		t.Errorf("console.log lacks the joined line or keeps ANSI codes:\n%s", log)
	}
}

// flakyOpener hands out the slaves of ptys: the first at once, later ones
// after failing fails times each.
type flakyOpener struct {
	mu     sync.Mutex
	slaves []string
	fails  int
	tries  int
}

func (f *flakyOpener) open(ctx context.Context) (Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.slaves) == 0 {
		return nil, errors.New("no device")
	}
	if f.tries < f.fails && f.tries >= 0 {
		f.tries++
		return nil, fmt.Errorf("device not there yet (try %d)", f.tries)
	}
	name := f.slaves[0]
	f.slaves = f.slaves[1:]
	f.tries = 0
	return SerialOpener(name, 115200)(ctx)
}

func TestCaptureSurvivesPortVanishing(t *testing.T) {
	m1, s1 := newPTY(t)
	m2, s2 := newPTY(t)
	op := &flakyOpener{slaves: []string{s1, s2}, fails: 3, tries: -1}
	dir := t.TempDir()
	c, err := Start(testctx.New(t), op.open, Options{Dir: dir, MaxBackoff: 200 * time.Millisecond, BlockTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer stopWithin(t, c, 30*time.Second)
	op.mu.Lock()
	op.tries = 0
	op.mu.Unlock()

	s := &stream{t: t}
	s.msg(hello(1)).msg(sample(0)).text("I (1) app: before\n").msg(sample(1))
	// The frame of sample 2 is cut by the loss: its first half arrives
	// before, the rest never does.
	part1 := len(s.b)
	s.msg(sample(2))
	cut := part1 + 7
	first := s.b[:cut]
	writeSlowly(t, m1, first, 64)
	waitBytes(t, c, int64(len(first)))
	m1.Close() // the device vanishes

	s2b := &stream{t: t}
	s2b.msg(sample(3)).text("I (2) app: after\n")
	// Wait for the reopen, then send the rest on the new device.
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().PortReopened == 0 {
		if time.Now().After(deadline) {
			t.Fatal("port not reopened")
		}
		time.Sleep(10 * time.Millisecond)
	}
	writeSlowly(t, m2, s2b.b, 64)
	total := int64(len(first) + len(s2b.b))
	waitBytes(t, c, total)
	st, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if st.PortLost != 1 || st.PortReopened != 1 {
		t.Errorf("stats %+v: want 1 loss, 1 reopen", st)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, rundir.RawFile))
	want := append(append([]byte{}, first...), s2b.b...)
	if !bytes.Equal(raw, want) {
		t.Fatalf("raw.bin has %d bytes, want %d", len(raw), len(want))
	}
	var got []string
	for _, r := range readRecords(t, dir) {
		got = append(got, summary(r))
	}
	wantRecs := []string{
		"0 hello reason=1", "0 sample seq=0", `0 console "I (1) app: before" I/app`, "0 sample seq=1",
		"0 note port_lost", "0 note port_reopened", "0 note seq_gap", "0 sample seq=3", `0 console "I (2) app: after" I/app`,
	}
	// The 7 bytes of the cut frame are passed on as text once the demuxer
	// sees they are no frame: they end up in front of the next line, which
	// is still parsed as a log line.
	if len(got) != len(wantRecs) {
		t.Fatalf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRecs, "\n"))
	}
	for i := range got {
		w := wantRecs[i]
		if i == len(got)-1 {
			w = `app: after" I/app`
		}
		if !strings.HasSuffix(got[i], w) {
			t.Errorf("record %d: %s, want %s", i, got[i], wantRecs[i])
		}
	}
	msgp, _ := os.ReadFile(filepath.Join(dir, rundir.RecordsFile))
	again, _ := replayBytes(t, dir)
	if !bytes.Equal(again, msgp) {
		t.Errorf("decode of raw.bin differs from the live records (%d vs %d bytes)", len(again), len(msgp))
	}
}

func TestStartFailsOnUsedDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, rundir.RawFile), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Start(testctx.New(t), FileOpener(filepath.Join(dir, rundir.RawFile)), Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("err = %v, want already exists", err)
	}
}

func TestFileSourceCaptureMatchesDecode(t *testing.T) {
	data, _ := boardSession(t)
	src := filepath.Join(t.TempDir(), "saved.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c, err := Start(testctx.New(t), FileOpener(src), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st, err := waitEnded(t, c, 30*time.Second)
	if err != nil || st.Bytes != int64(len(data)) || st.Segments != 2 {
		t.Fatalf("stats %+v, err %v", st, err)
	}
	msgp, _ := os.ReadFile(filepath.Join(dir, rundir.RecordsFile))
	again, _ := replayBytes(t, dir)
	if !bytes.Equal(again, msgp) {
		t.Error("decode of raw.bin differs from the live records")
	}
}

// maxCaptureFuzzInput bounds FuzzCapture's inputs.
const maxCaptureFuzzInput = 8 << 10

// FuzzCapture runs a whole capture on arbitrary bytes from a file source:
// raw.bin must equal the input, and decoding it again must give the records
// the capture wrote. Each execution is a whole capture (four files,
// goroutines), so it is kept small: inputs up to 8 KB (the seed session cut
// to its first 8 KB still holds every kind of frame and console shape), no
// fsync of raw.bin (NoSync: the source is a file). The per-byte decoding
// is fuzzed at a far higher rate by FuzzPipeline and FuzzDemux.
func FuzzCapture(f *testing.F) {
	data, _ := boardSession(&testing.T{})
	f.Add(data[:min(len(data), maxCaptureFuzzInput)])
	f.Add([]byte{wire.Magic0, wire.Magic1, 1, 0xff, 0x0f})
	f.Add([]byte("\r\n\x1b[0;31mE (1) task_wdt: Task watchdog got triggered. The following tasks did not reset the watchdog in time:\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > maxCaptureFuzzInput {
			return
		}
		tmp := t.TempDir()
		src := filepath.Join(tmp, "in")
		if err := os.WriteFile(src, in, 0o644); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(tmp, "cap")
		c, err := Start(testctx.New(t), FileOpener(src), Options{Dir: dir, BlockTimeout: time.Hour, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := waitEnded(t, c, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join(dir, rundir.RawFile))
		if err != nil || !bytes.Equal(raw, in) {
			t.Fatalf("raw.bin has %d bytes, input %d (%v)", len(raw), len(in), err)
		}
		msgp, _ := os.ReadFile(filepath.Join(dir, rundir.RecordsFile))
		again, _ := replayBytes(t, dir)
		if !bytes.Equal(again, msgp) {
			t.Fatal("decode of raw.bin differs from the live records")
		}
	})
}
