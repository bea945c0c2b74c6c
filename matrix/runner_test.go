package matrix

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// fakeBoard speaks just enough of the protocol to drive the runner: Hello at
// boot, a Reply and a short run for "run", RunEnd.
type fakeBoard struct {
	variant  string // variant it claims to run; "" = the cell's
	silent   bool   // never sends Hello
	resetLop bool   // prints ROM banners forever
	hang     bool   // never ends the run
	refuse   string // refuses the run command with this error
	endErr   string // ends the run with status "error" and this error
	runs     *atomic.Int32
}

type fakeDevice struct {
	name  string
	board fakeBoard
	cell  rundir.Cell
	host  net.Conn
	dev   net.Conn
	wg    sync.WaitGroup
}

func (d *fakeDevice) Name() string { return d.name }

func (d *fakeDevice) Prepare(ctx context.Context, c rundir.Cell) (Opener, error) {
	d.cell = c
	d.host, d.dev = net.Pipe()
	used := false
	return func(ctx context.Context) (Port, error) {
		if used {
			return nil, errors.New("port gone")
		}
		used = true
		return d.host, nil
	}, nil
}

func (d *fakeDevice) Boot(ctx context.Context, _ func(wire.Command) error) error {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.board.serve(d.dev, d.cell)
	}()
	return nil
}

// Release closes the device's end of the pipe, which ends the fake board,
// and waits for it, bounded: a board that does not stop is an error.
func (d *fakeDevice) Release() error {
	d.dev.Close()
	stopped := make(chan struct{})
	go func() { d.wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("fake board still serving 30 s after its device was closed")
	}
}

func send(w net.Conn, m wire.Message) error {
	b, err := wire.AppendMessage(nil, m)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func (b fakeBoard) serve(conn net.Conn, c rundir.Cell) {
	if b.resetLop {
		for i := 0; i < 10; i++ {
			if _, err := fmt.Fprintf(conn, "ESP-ROM:esp32s3-20210327\r\nrst:0xc (RTC_SW_CPU_RST),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n"); err != nil {
				return
			}
		}
		io := bufio.NewReader(conn)
		for {
			if _, err := io.ReadString('\n'); err != nil {
				return
			}
		}
	}
	fmt.Fprintf(conn, "I (312) wsbench: fake board up\r\n")
	if !b.silent {
		v := b.variant
		if v == "" {
			v = c.Variant
		}
		send(conn, &wire.Hello{Protocol: wire.ProtocolVersion, Variant: v, Options: c.Options, Behaviour: c.Behaviour, ResetReason: 1})
	}
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd, err := wire.ParseCommand(line)
		if err != nil {
			send(conn, &wire.Reply{Cmd: "?", Err: err.Error()})
			continue
		}
		switch cmd.Name {
		case wire.CmdRun:
			p, err := wire.ParseRunParams(cmd)
			if err != nil {
				send(conn, &wire.Reply{Cmd: cmd.Name, Err: err.Error()})
				continue
			}
			b.runs.Add(1)
			if b.refuse != "" {
				send(conn, &wire.Reply{Cmd: cmd.Name, Err: b.refuse})
				continue
			}
			send(conn, &wire.Reply{Cmd: cmd.Name, OK: true})
			send(conn, &wire.RunStart{Params: p})
			for i := 0; i < 5; i++ {
				send(conn, &wire.Sample{Seq: uint32(i), Phase: wire.PhaseSteady, InternalFree: 150000})
			}
			if b.endErr != "" {
				send(conn, &wire.RunEnd{Cell: p.Cell, Status: "error", Err: b.endErr, SamplesSent: 5})
			} else if !b.hang {
				send(conn, &wire.RunEnd{Cell: p.Cell, Status: "ok", SamplesSent: 5})
			}
		case wire.CmdStop:
			send(conn, &wire.Reply{Cmd: cmd.Name, OK: true})
			send(conn, &wire.RunEnd{Status: "aborted"})
		}
	}
}

// pipeCapture is a minimal capture: demux, decode, deliver.
type pipeCapture struct {
	port Port
	done chan struct{}
	mu   sync.Mutex
}

func startPipeCapture(ctx context.Context, open Opener, dir string, onRecord func(record.Record)) (Capture, error) {
	p, err := open(ctx)
	if err != nil {
		return nil, err
	}
	c := &pipeCapture{port: p, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		var d wire.Demuxer
		buf := make([]byte, 4096)
		var line []byte
		for {
			n, err := p.Read(buf)
			d.Feed(buf[:n], func(ch wire.Chunk) {
				switch ch.Kind {
				case wire.ChunkFrame:
					m, err := wire.Decode(ch.Type, ch.Payload)
					if err == nil {
						onRecord(record.Record{Type: record.Type(ch.Type), Offset: ch.Offset, Body: m})
					}
				case wire.ChunkText:
					for _, b := range ch.Text {
						if b == '\n' {
							s := strings.TrimRight(string(line), "\r")
							line = line[:0]
							onRecord(record.Record{Type: record.TypeConsole, Body: &record.Console{Text: s}})
							if strings.HasPrefix(s, "rst:") {
								onRecord(record.Record{Type: record.TypeReset, Body: &record.Reset{ROMName: "RTC_SW_CPU_RST", Class: "software"}})
							}
							continue
						}
						line = append(line, b)
					}
				}
			})
			if err != nil {
				return
			}
		}
	}()
	return c, nil
}

func (c *pipeCapture) Send(cmd wire.Command) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.port.Write([]byte(cmd.String() + "\n"))
	return err
}

func (c *pipeCapture) Close() error {
	err := c.port.Close()
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		return errors.New("pipe capture still reading 30 s after its port was closed")
	}
	return err
}

const smallMatrix = `
boards:
  - name: v
    virtual: esp32s3-n8r8
    count: 2
variants:
  - name: int
  - name: stack-ext
    stack_in_ext_ram: true
scenarios:
  - scenario: sweep
    n: [0, 2]
    window: 1s
repetitions: 2
`

func runFake(t *testing.T, ctx context.Context, dir string, board func(slot int) fakeBoard, resume bool) *Result {
	t.Helper()
	f, err := Parse("small.yaml", []byte(smallMatrix))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, f, Options{
		RunDir: dir, Resume: resume, Manifest: rundir.Manifest{RunID: "t", MatrixHash: "h"},
		Peer:         PeerURLs{WSURL: "wss://127.0.0.1:1/ws", HTTPSURL: "https://127.0.0.1:1/"},
		HelloTimeout: 500 * time.Millisecond,
		NewDevice: func(b Board, slot int) (Device, error) {
			return &fakeDevice{name: fmt.Sprintf("%s#%d", b.Name, slot), board: board(slot)}, nil
		},
		StartCapture: startPipeCapture,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRunnerCellOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		board      fakeBoard
		wantStatus string
		wantReason string
	}{
		{"good board", fakeBoard{}, rundir.StatusOK, ""},
		{"wrong variant fails the cell", fakeBoard{variant: "both-ext"}, rundir.StatusFailed, `wrong firmware on board v: it reports variant "both-ext", cell expects`},
		{"no hello", fakeBoard{silent: true}, rundir.StatusFailed, `no Hello from v#`},
		{"reset loop", fakeBoard{resetLop: true}, rundir.StatusFailed, "board reset loop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs atomic.Int32
			tt.board.runs = &runs
			res := runFake(t, testctx.New(t), t.TempDir(), func(int) fakeBoard { return tt.board }, false)
			if len(res.Cells) != 8 {
				t.Fatalf("%d cells, want 8", len(res.Cells))
			}
			for _, c := range res.Cells {
				if c.Status != tt.wantStatus || !strings.Contains(c.Reason, tt.wantReason) {
					t.Fatalf("cell %s: status %s reason %q; want %s containing %q", c.ID, c.Status, c.Reason, tt.wantStatus, tt.wantReason)
				}
				var onDisk rundir.Cell
				if err := rundir.ReadJSON(filepath.Join(rundir.CellDir(res.RunDir, c.ID), rundir.CellFile), &onDisk); err != nil {
					t.Fatal(err)
				}
				if onDisk.Status != c.Status || onDisk.Reason != c.Reason {
					t.Fatalf("cell.json of %s says %s %q, result says %s %q", c.ID, onDisk.Status, onDisk.Reason, c.Status, c.Reason)
				}
			}
		})
	}
}

func TestRunnerInterruptAndResume(t *testing.T) {
	dir := t.TempDir()
	var runs atomic.Int32
	ctx, cancel := context.WithCancel(testctx.New(t))
	// Cancel while the third run hangs: its cell is interrupted, later ones never start.
	board := func(int) fakeBoard { return fakeBoard{runs: &runs, hang: runs.Load() >= 2} }
	go func() {
		for runs.Load() < 3 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	f, _ := Parse("small.yaml", []byte(smallMatrix))
	f.Boards[0].Count = 1
	res, err := Run(ctx, f, Options{
		RunDir: dir, Manifest: rundir.Manifest{RunID: "t", MatrixHash: "h"}, HelloTimeout: time.Second,
		NewDevice: func(b Board, slot int) (Device, error) {
			return &lazyDevice{fakeDevice: &fakeDevice{name: "v"}, mk: board}, nil
		},
		StartCapture: startPipeCapture,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted {
		t.Fatal("run not marked interrupted")
	}
	counts := res.Counts()
	if counts[rundir.StatusOK] != 2 || counts[rundir.StatusInterrupted] != 1 || counts[rundir.StatusPending] != 5 {
		t.Fatalf("after interrupt: %v", counts)
	}
	// Resume: only the 6 unfinished cells run, and the run completes.
	runs.Store(-100)
	res2 := runFake(t, testctx.New(t), dir, func(int) fakeBoard { return fakeBoard{runs: &runs} }, true)
	if got := runs.Load() + 100; got != 6 {
		t.Fatalf("resume ran %d cells, want 6", got)
	}
	if c := res2.Counts(); c[rundir.StatusOK] != 8 {
		t.Fatalf("after resume: %v", c)
	}
	onDisk, err := rundir.ReadCells(dir)
	if err != nil || len(onDisk) != 8 {
		t.Fatalf("cells on disk: %d, %v", len(onDisk), err)
	}
	// The interrupted attempt was kept aside, not deleted.
	kept, err := filepath.Glob(filepath.Join(dir, rundir.AttemptsDir, "*", rundir.CellFile))
	if err != nil || len(kept) != 1 {
		t.Fatalf("earlier attempts kept: %v, %v; want the one interrupted cell", kept, err)
	}
	var old rundir.Cell
	if err := rundir.ReadJSON(kept[0], &old); err != nil || old.Status != rundir.StatusInterrupted {
		t.Fatalf("kept attempt: %+v, %v", old, err)
	}
}

// lazyDevice picks the fake board's behaviour when the cell boots.
type lazyDevice struct {
	*fakeDevice
	mk func(int) fakeBoard
}

func (d *lazyDevice) Boot(ctx context.Context, send func(wire.Command) error) error {
	d.board = d.mk(0)
	return d.fakeDevice.Boot(ctx, send)
}

func TestResumeKeepsTheShard(t *testing.T) {
	run := func(dir string, shard [2]int, manifestShard string, resume bool) (*Result, error) {
		f, err := Parse("small.yaml", []byte(smallMatrix))
		if err != nil {
			t.Fatal(err)
		}
		var runs atomic.Int32
		return Run(testctx.New(t), f, Options{
			RunDir: dir, Resume: resume, Shard: shard, Manifest: rundir.Manifest{RunID: "t", MatrixHash: "h", Shard: manifestShard},
			Peer:         PeerURLs{WSURL: "wss://127.0.0.1:1/ws", HTTPSURL: "https://127.0.0.1:1/"},
			HelloTimeout: 500 * time.Millisecond,
			NewDevice: func(b Board, slot int) (Device, error) {
				return &fakeDevice{name: fmt.Sprintf("%s#%d", b.Name, slot), board: fakeBoard{runs: &runs}}, nil
			},
			StartCapture: startPipeCapture,
		})
	}
	tests := []struct {
		name       string
		first      [2]int // shard of the first run ({0,0}: whole matrix)
		resume     [2]int // shard given on resume
		wantCells  int    // cells of the resumed run; 0 with wantErr
		wantErr    string
		wantOnDisk string // manifest shard after resume
	}{
		{"shard resumed without --shard stays the shard", [2]int{1, 2}, [2]int{}, 4, "", "1/2"},
		{"shard resumed with its own --shard", [2]int{2, 2}, [2]int{2, 2}, 4, "", "2/2"},
		{"shard resumed as another shard", [2]int{1, 2}, [2]int{2, 2}, 0, "the run is shard 1/2, not 2/2", ""},
		{"whole run resumed as a shard", [2]int{}, [2]int{1, 2}, 0, "the run is not a shard", ""},
		{"whole run resumed whole", [2]int{}, [2]int{}, 8, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ms := ""
			if tt.first[1] > 0 {
				ms = fmt.Sprintf("%d/%d", tt.first[0], tt.first[1])
			}
			if _, err := run(dir, tt.first, ms, false); err != nil {
				t.Fatal(err)
			}
			res, err := run(dir, tt.resume, "", true)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Cells) != tt.wantCells {
				t.Errorf("resumed run has %d cells, want %d", len(res.Cells), tt.wantCells)
			}
			man, err := rundir.ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			if man.Shard != tt.wantOnDisk {
				t.Errorf("manifest shard %q after resume, want %q", man.Shard, tt.wantOnDisk)
			}
		})
	}
}
