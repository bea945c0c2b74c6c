package collector

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial/enumerator"

	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

func TestPickPort(t *testing.T) {
	cp210x := &enumerator.PortDetails{Name: "/dev/ttyUSB0", IsUSB: true, VID: "10C4", PID: "EA60", Product: "CP2102"}
	s3 := &enumerator.PortDetails{Name: "/dev/ttyACM0", IsUSB: true, VID: "303A", PID: "1001"}
	ch340 := &enumerator.PortDetails{Name: "/dev/ttyUSB1", IsUSB: true, VID: "1a86", PID: "7523"}
	ftdi := &enumerator.PortDetails{Name: "/dev/ttyUSB2", IsUSB: true, VID: "0403", PID: "6001"}
	builtin := &enumerator.PortDetails{Name: "/dev/ttyS0"}
	tests := []struct {
		name    string
		ports   []*enumerator.PortDetails
		want    string
		wantErr string
	}{
		{"one_espressif_port_among_others", []*enumerator.PortDetails{builtin, ftdi, s3}, "/dev/ttyACM0", ""},
		{"lower_case_vid_matches", []*enumerator.PortDetails{ch340, builtin}, "/dev/ttyUSB1", ""},
		{"none_lists_what_was_found", []*enumerator.PortDetails{builtin, ftdi}, "", "no Espressif, CP210x or CH340 USB serial port among: /dev/ttyS0, /dev/ttyUSB2 (USB 0403:6001 )"},
		{"no_ports_at_all", nil, "", "no serial ports found"},
		{"several_name_the_candidates", []*enumerator.PortDetails{s3, cp210x}, "", "2 candidate ports (/dev/ttyACM0, /dev/ttyUSB0)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pickPort(tc.ports)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestOpenMissingPortNamesIt(t *testing.T) {
	_, err := SerialOpener("/dev/does-not-exist", 115200)(context.Background())
	if err == nil || !strings.Contains(err.Error(), "/dev/does-not-exist") {
		t.Fatalf("err = %v", err)
	}
}

func TestWatchdogBlockIsEmittedWhenTheConsoleGoesQuiet(t *testing.T) {
	master, slave := newPTY(t)
	dir := t.TempDir()
	q := NewQueue()
	c, err := Start(testctx.New(t), SerialOpener(slave, 115200), Options{Dir: dir, OnRecord: q.Push, BlockTimeout: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer stopWithin(t, c, 30*time.Second)
	// A watchdog report with nothing after it: it must not wait for the
	// next line forever.
	write(t, master, []byte("E (5000) task_wdt: Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:\r\n"+
		"E (5000) task_wdt:  - IDLE1 (CPU 1)\r\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := q.WaitFor(ctx, c.Done(), func(r record.Record) bool { return r.Type == record.TypeWatchdog })
	if err != nil {
		t.Fatalf("no watchdog record while the capture runs: %v", err)
	}
	if wd := r.Body.(*record.Watchdog); len(wd.Starving) != 1 || wd.Starving[0] != "IDLE1 (CPU 1)" {
		t.Errorf("watchdog %+v", wd)
	}
	if _, err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	// The expiry is in raw.idx: decoding gives the same records.
	msgp, _ := os.ReadFile(filepath.Join(dir, rundir.RecordsFile))
	again, _ := replayBytes(t, dir)
	if string(again) != string(msgp) {
		t.Error("decode of raw.bin differs from the live records")
	}
	if _, err := q.Next(ctx, c.Done()); err != nil && !errors.Is(err, ErrEnded) {
		t.Errorf("Next after the end: %v", err)
	}
}

func TestQueueWaitForAndSend(t *testing.T) {
	// The matrix runner's pattern: wait for Hello, send a command, wait for
	// the reply, all through a Queue.
	master, slave := newPTY(t)
	dir := t.TempDir()
	q := NewQueue()
	c, err := Start(testctx.New(t), SerialOpener(slave, 115200), Options{Dir: dir, OnRecord: q.Push})
	if err != nil {
		t.Fatal(err)
	}
	defer stopWithin(t, c, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s := &stream{t: t}
	s.text("I (1) boot: hi\n").msg(hello(1))
	write(t, master, s.b)
	if _, err := q.WaitFor(ctx, c.Done(), func(r record.Record) bool { return r.Type == record.TypeHello }); err != nil {
		t.Fatal(err)
	}
	run := wire.RunCommand(wire.RunParams{Cell: "c1", Scenario: wire.ScenarioSweep, N: 4, PeriodMS: 100})
	if err := c.Send(run); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1024)
	n, err := master.Read(buf) // bounded: newPTY's deadline
	if err != nil {
		t.Fatalf("board side: read the command: %v", err)
	}
	if got, err := wire.ParseCommand(string(buf[:n])); err != nil || got.Name != wire.CmdRun {
		t.Fatalf("board got %q: %v", buf[:n], err)
	}
	s.b = s.b[:0]
	s.msg(&wire.Reply{Cmd: "run", OK: true})
	write(t, master, s.b)
	r, err := q.WaitFor(ctx, c.Done(), func(r record.Record) bool { return r.Type == record.TypeReply })
	if err != nil || !r.Body.(*wire.Reply).OK {
		t.Fatalf("reply %v, %v", r, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(run); err == nil {
		t.Error("Send after the end succeeded")
	}
}

// pipePort is a port whose Read blocks until data comes or it is closed,
// like a network port without deadlines.
type pipePort struct {
	*io.PipeReader
	w *io.PipeWriter
}

func (p pipePort) Write(b []byte) (int, error) { return len(b), nil }
func (p pipePort) Close() error                { p.w.Close(); return p.PipeReader.Close() }

func TestBlockingPortStopsPromptlyAndFlushes(t *testing.T) {
	r, w := io.Pipe()
	port := pipePort{PipeReader: r, w: w}
	dir := t.TempDir()
	c, err := Start(testctx.New(t), func(context.Context) (Port, error) { return port, nil }, Options{Dir: dir, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go w.Write([]byte("I (1) app: one\n")) // ends when Stop closes the pipe
	// Flushed while Read is blocked: records.msgp holds the line.
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, rundir.RecordsFile))
		if len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("records.msgp not flushed while Read blocks")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopped := make(chan error, 1)
	go func() { _, err := c.Stop(); stopped <- err }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return while Read blocked")
	}
	if got := readRecords(t, dir); len(got) != 1 || got[0].Body.(*record.Console).Tag != "app" {
		t.Fatalf("records %v", got)
	}
}
