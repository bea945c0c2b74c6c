package matrix

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsbench/wsbench/collector"
	"github.com/wsbench/wsbench/internal/pty"
	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// echoDevice is a hostile real-looking board on a pseudo-terminal: it
// prints a stored password at boot, echoes every command line it receives
// (the wifi command's password included) byte by byte, puts the password
// in an event frame, and otherwise runs cells like a good board.
type echoDevice struct {
	secret        string
	cell          rundir.Cell
	master, slave *os.File
	wg            sync.WaitGroup
}

func (d *echoDevice) Name() string { return "echo" }

func (d *echoDevice) Prepare(ctx context.Context, c rundir.Cell) (Opener, error) {
	d.cell = c
	master, slave, err := pty.Open()
	if err != nil {
		return nil, err
	}
	if err := pty.MakeRaw(slave); err != nil {
		master.Close()
		slave.Close()
		return nil, err
	}
	d.master, d.slave = master, slave
	return Opener(collector.SerialOpener(slave.Name(), 115200)), nil
}

func (d *echoDevice) Boot(ctx context.Context, _ func(wire.Command) error) error {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.serve()
	}()
	return nil
}

func (d *echoDevice) Release() error {
	// With every slave descriptor closed (the capture has closed its own),
	// a read on the master fails, which ends serve.
	d.slave.Close()
	d.wg.Wait()
	d.master.Close()
	return nil
}

// trickle writes p in pieces of 1 to 3 bytes with pauses, so the secret is
// split across the collector's reads.
func trickle(w *os.File, p string) {
	for i := 0; i < len(p); {
		n := min(1+i%3, len(p)-i)
		if _, err := w.WriteString(p[i : i+n]); err != nil {
			return
		}
		i += n
		time.Sleep(200 * time.Microsecond)
	}
}

func (d *echoDevice) serve() {
	conn := d.master
	c := d.cell
	fmt.Fprintf(conn, "I (300) nvs: stored wifi password %s\r\n", d.secret)
	msg := func(m wire.Message) {
		b, err := wire.AppendMessage(nil, m)
		if err == nil {
			conn.Write(b)
		}
	}
	msg(&wire.Hello{Protocol: wire.ProtocolVersion, Board: "echo", Variant: c.Variant, Options: c.Options, Behaviour: c.Behaviour, ResetReason: 1})
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		trickle(conn, "I (400) echo: "+strings.TrimRight(line, "\r\n")+"\r\n")
		cmd, err := wire.ParseCommand(line)
		if err != nil {
			msg(&wire.Reply{Cmd: "?", Err: err.Error()})
			continue
		}
		switch cmd.Name {
		case wire.CmdWiFi:
			pass, _ := cmd.Get("pass")
			trickle(conn, "W (401) wifi: joining with "+pass+"\r\n")
			msg(&wire.Event{Kind: wire.EventSessionFailed, Name: pass})
			conn.WriteString(pass) // raw, no line ending, then a frame right after it
			msg(&wire.Reply{Cmd: cmd.Name, OK: true})
		case wire.CmdRun:
			p, err := wire.ParseRunParams(cmd)
			if err != nil {
				msg(&wire.Reply{Cmd: cmd.Name, Err: err.Error()})
				continue
			}
			msg(&wire.Reply{Cmd: cmd.Name, OK: true})
			msg(&wire.RunStart{Params: p})
			for i := range 5 {
				msg(&wire.Sample{Seq: uint32(i), Phase: wire.PhaseSteady, InternalFree: 150000})
			}
			msg(&wire.RunEnd{Cell: p.Cell, Status: "ok", SamplesSent: 5})
		case wire.CmdStop:
			msg(&wire.Reply{Cmd: cmd.Name, OK: true})
		}
	}
}

// No file of a run holds the Wi-Fi password, even from a board that
// echoes it (issue 13, "Seen" 3: raw.bin 5 times, records.msgp 3,
// console.log 2).
func TestEchoedWiFiPasswordNeverLandsOnDisk(t *testing.T) {
	const secret = "s3cr3t pass/wörd!" // encoded on the command line as s3cr3t%20pass/w%C3%B6rd%21
	forms := []string{secret, "s3cr3t%20pass/w%C3%B6rd%21", "s3cr3t%20pass/w%c3%b6rd%21"}
	f, err := Parse("m.yaml", []byte(`
boards:
  - name: b
    virtual: esp32s3-n8r8
variants:
  - name: int
scenarios:
  - scenario: sweep
    n: [1]
    window: 1s
repetitions: 2
`))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, f, Options{
		RunDir: dir, Manifest: NewManifest("r", "test", []string{"wsbench", "run"}, f, nil, "h"),
		Peer:         PeerURLs{WSURL: "wss://127.0.0.1:1/ws", HTTPSURL: "https://127.0.0.1:1/"},
		HelloTimeout: 5 * time.Second,
		NewDevice: func(b Board, slot int) (Device, error) {
			return &echoDevice{secret: secret}, nil
		},
		StartCapture: CollectorCapture,
		WiFiSSID:     "lab",
		WiFiPass:     secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cells {
		if c.Status != rundir.StatusOK {
			t.Fatalf("cell %s: %s %s", c.ID, c.Status, c.Reason)
		}
	}
	files, redacted := 0, 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for _, form := range forms {
			if i := bytes.Index(b, []byte(form)); i >= 0 {
				t.Errorf("%s holds the password (%q) at byte %d", p, form, i)
			}
		}
		if filepath.Base(p) == rundir.CaptureFile {
			var info collector.Info
			if err := rundir.ReadJSON(p, &info); err != nil {
				return err
			}
			redacted += int(info.Redacted)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each cell: the boot line, the echoed command line, the "joining"
	// line, the event frame, the bare echo.
	if redacted < 2*5 {
		t.Errorf("%d redactions in the run, want at least 10", redacted)
	}
	con, err := os.ReadFile(filepath.Join(rundir.CellDir(dir, res.Cells[0].ID), rundir.ConsoleFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(con, []byte("stored wifi password "+strings.Repeat("*", len(secret)))) {
		t.Errorf("console.log does not show the redacted boot line:\n%s", con)
	}
	t.Logf("%d files checked, %d redactions", files, redacted)
}

// A password that WPA2 would not take is refused before anything runs.
func TestWiFiPasswordLength(t *testing.T) {
	f, err := Parse("m.yaml", []byte(hostileBase))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(testctx.New(t), f, Options{RunDir: t.TempDir(), WiFiPass: "short", NewDevice: func(Board, int) (Device, error) { return nil, nil }, StartCapture: CollectorCapture})
	if err == nil || !strings.Contains(err.Error(), "has 5 bytes: want 8 to 63") {
		t.Fatalf("error %v", err)
	}
}
