package matrix

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wsbench/wsbench/internal/termsafe"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// maxBootResets is how many resets before a Hello make a reset loop.
const maxBootResets = 3

// runCell runs one cell on dev and returns it with its status and reason.
// Every path writes cell.json.
func runCell(ctx context.Context, dev Device, c rundir.Cell, opt Options) rundir.Cell {
	dir := rundir.CellDir(opt.RunDir, c.ID)
	c.Started = time.Now().UTC()
	c.Ended = time.Time{}
	c.Attempts++
	c.Status, c.Reason, c.HelloMatch = rundir.StatusRunning, "", false
	// The cell id tags every session at the peer, so its counters can be
	// told apart from other boards' running at the same time.
	urls := opt.Peer
	if r, ok := dev.(PeerRewriter); ok {
		urls = r.PeerURLs(urls)
	}
	c.Params.WSURL, c.Params.HTTPSURL = withTag(urls.WSURL, c.ID), withTag(urls.HTTPSURL, c.ID)
	finish := func(status, reason string) rundir.Cell {
		c.Status, c.Reason = status, reason
		c.Ended = time.Now().UTC()
		if err := rundir.WriteJSON(filepath.Join(dir, rundir.CellFile), c); err != nil && c.Status != rundir.StatusFailed {
			c.Status, c.Reason = rundir.StatusFailed, err.Error()
		}
		return c
	}
	// A cell that runs again starts from an empty directory; what an earlier
	// attempt captured (an interrupted or crashed run) is kept, moved aside.
	if err := keepEarlierAttempt(opt.RunDir, c.ID); err != nil {
		return finish(rundir.StatusFailed, err.Error())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return finish(rundir.StatusFailed, fmt.Sprintf("create cell directory: %v", err))
	}
	if err := rundir.WriteJSON(filepath.Join(dir, rundir.CellFile), c); err != nil {
		return finish(rundir.StatusFailed, err.Error())
	}

	open, err := dev.Prepare(ctx, c)
	if err != nil {
		if ctx.Err() != nil {
			return finish(rundir.StatusInterrupted, "interrupted while preparing the board")
		}
		return finish(rundir.StatusFailed, fmt.Sprintf("prepare %s: %v", dev.Name(), err))
	}
	defer dev.Release()

	// The capture calls onRecord from its own goroutine, in order. The runner
	// needs only the records that steer a cell; samples go to disk only.
	recs := make(chan record.Record, 64)
	quit := make(chan struct{})
	capCtx, stopCapture := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCapture()
	capt, err := opt.StartCapture(capCtx, open, dir, func(r record.Record) {
		switch r.Type {
		case record.TypeHello, record.TypeReply, record.TypeRunEnd, record.TypeReset, record.TypeConsole, record.TypeEvent:
			select {
			case recs <- r:
			case <-quit:
			}
		}
	})
	if err != nil {
		return finish(rundir.StatusFailed, fmt.Sprintf("capture %s: %v", dev.Name(), err))
	}
	// The password is redacted from everything the capture writes, from
	// before the board boots: a board may print a stored one at boot.
	if s, ok := capt.(interface{ AddSecret(string) }); ok && opt.WiFiPass != "" {
		s.AddSecret(opt.WiFiPass)
	}
	closeCapture := func() error {
		err := capt.Close()
		stopCapture()
		return err
	}

	status, reason := drive(ctx, dev, capt, c, opt, recs, &c.HelloMatch)
	close(quit)
	if opt.CellPeer != nil {
		if err := rundir.WriteJSON(filepath.Join(dir, rundir.PeerFile), opt.CellPeer(c.ID)); err != nil && status == rundir.StatusOK {
			status, reason = rundir.StatusFailed, err.Error()
		}
	}
	if err := closeCapture(); err != nil && status == rundir.StatusOK {
		status, reason = rundir.StatusFailed, fmt.Sprintf("close capture: %v", err)
	}
	return finish(status, reason)
}

// drive boots the board, checks its Hello, runs the scenario and waits for
// its end. It returns the cell status and reason.
func drive(ctx context.Context, dev Device, capt Capture, c rundir.Cell, opt Options, recs <-chan record.Record, match *bool) (string, string) {
	if err := dev.Boot(ctx, capt.Send); err != nil {
		if ctx.Err() != nil {
			return rundir.StatusInterrupted, "interrupted while booting"
		}
		return rundir.StatusFailed, fmt.Sprintf("boot %s: %v", dev.Name(), err)
	}
	var lastLine string
	resets := 0
	awaitReset := false
	if r, ok := dev.(CommandResetter); ok && r.ResetsByCommand() {
		awaitReset = true
	}
	helloTimeout := opt.HelloTimeout
	if b, ok := dev.(SlowBooter); ok {
		helloTimeout = max(helloTimeout, b.BootTimeout())
	}
	helloTimer := time.NewTimer(helloTimeout)
	defer helloTimer.Stop()
	var hello *wire.Hello
	// A board that can end on its own (an emulator process) ends the cell
	// at once when it does; nil for the others, which never fires.
	var ended <-chan struct{}
	if e, ok := dev.(Ender); ok {
		ended = e.Ended()
	}
	for hello == nil {
		select {
		case <-ended:
			return rundir.StatusFailed, fmt.Sprintf("%s ended before its Hello: %s", dev.Name(), dev.(Ender).EndReason())
		case <-ctx.Done():
			return rundir.StatusInterrupted, "interrupted while waiting for Hello"
		case <-helloTimer.C:
			msg := fmt.Sprintf("no Hello from %s within %s", dev.Name(), helloTimeout)
			if awaitReset {
				msg = fmt.Sprintf("%s did not answer the reset command within %s (is the wsbench firmware running?)", dev.Name(), helloTimeout)
			}
			if lastLine != "" {
				msg += fmt.Sprintf("; last console line: %q", lastLine)
			} else {
				msg += "; no console output either (is the port right, the baud rate, the firmware flashed?)"
			}
			return rundir.StatusFailed, msg
		case r := <-recs:
			switch b := r.Body.(type) {
			case *record.Console:
				lastLine = b.Text
			case *record.Reset:
				resets++
				if resets >= maxBootResets {
					return rundir.StatusFailed, fmt.Sprintf("board reset loop: %d resets before Hello (last: %s %s)", resets, termsafe.String(b.ROMName), termsafe.String(b.Class))
				}
			case *wire.Reply:
				if b.Cmd == wire.CmdReset {
					if !b.OK {
						return rundir.StatusFailed, fmt.Sprintf("board refused the reset command: %s", termsafe.String(b.Err))
					}
					awaitReset = false
				}
			case *wire.Hello:
				if !awaitReset {
					hello = b
				}
			}
		}
	}
	if err := CheckHello(hello, c); err != nil {
		return rundir.StatusFailed, err.Error()
	}
	if hc, ok := dev.(HelloChecker); ok {
		if err := hc.CheckHello(hello); err != nil {
			return rundir.StatusFailed, err.Error()
		}
	}
	*match = true

	if !hello.Virtual && hello.Emulator == "" && opt.WiFiSSID != "" {
		if err := capt.Send(wire.Command{Name: wire.CmdWiFi, Args: []wire.Arg{{Key: "ssid", Value: opt.WiFiSSID}, {Key: "pass", Value: opt.WiFiPass}}}); err != nil {
			return rundir.StatusFailed, fmt.Sprintf("send wifi command: %v", err)
		}
		if status, reason, ok := awaitReply(ctx, recs, wire.CmdWiFi, 30*time.Second); !ok {
			return status, reason
		}
	}

	if err := capt.Send(wire.RunCommand(c.Params)); err != nil {
		return rundir.StatusFailed, fmt.Sprintf("send run command: %v", err)
	}
	timeout := CellTimeout(c.Params)
	runTimer := time.NewTimer(timeout)
	defer runTimer.Stop()
	stopping := false
	var reply *wire.Reply
	connected, failed := 0, 0
	var firstFail *wire.Event
	for {
		select {
		case <-ended:
			return rundir.StatusFailed, fmt.Sprintf("%s ended during the run: %s", dev.Name(), dev.(Ender).EndReason())
		case <-ctx.Done():
			if !stopping {
				stopping = true
				// Ask the board to end the run so its RunEnd lands in the capture.
				_ = capt.Send(wire.Command{Name: wire.CmdStop})
				runTimer.Reset(2 * time.Second)
				ctx = context.WithoutCancel(ctx)
			}
		case <-runTimer.C:
			if stopping {
				return rundir.StatusInterrupted, "interrupted by the user"
			}
			return rundir.StatusFailed, fmt.Sprintf("no RunEnd within %s", timeout)
		case r := <-recs:
			switch b := r.Body.(type) {
			case *wire.Reply:
				if b.Cmd == wire.CmdRun && reply == nil {
					reply = b
					if !b.OK {
						return rundir.StatusFailed, fmt.Sprintf("board refused the run command: %s", termsafe.String(b.Err))
					}
				}
			case *wire.Hello:
				// The board rebooted during the run: the samples up to the reset
				// are data, and the reset is the finding.
				if stopping {
					return rundir.StatusInterrupted, "interrupted by the user"
				}
				return rundir.StatusOK, fmt.Sprintf("board reset during the run (reset reason %s); run ended by the reset", wire.ResetReasonName(b.ResetReason))
			case *wire.Event:
				switch b.Kind {
				case wire.EventSessionConnected:
					connected++
				case wire.EventSessionFailed:
					failed++
					if firstFail == nil {
						firstFail = b
					}
				}
			case *wire.RunEnd:
				if stopping {
					return rundir.StatusInterrupted, "interrupted by the user"
				}
				switch b.Status {
				case "ok":
					// Not one session connected: the peer is unreachable or
					// refuses the board; the figures would be of a board
					// holding no TLS session at all.
					if connected == 0 && failed > 0 {
						return rundir.StatusFailed, fmt.Sprintf("no TLS session connected (%d failed; the first: session %d, error 0x%x): is the peer server at %s reachable from the board?",
							failed, firstFail.Session, uint32(firstFail.Err), c.Params.WSURL)
					}
					return rundir.StatusOK, ""
				default:
					msg := fmt.Sprintf("run ended with status %q", b.Status)
					if b.Err != "" {
						msg += ": " + termsafe.String(b.Err)
					}
					return rundir.StatusFailed, msg
				}
			}
		}
	}
}

// keepEarlierAttempt moves the directory of an earlier attempt at a cell,
// if there is one, to <run>/attempts/<id>-<time>, outside cells/ so that it
// is never taken for the cell's data. Captured bytes are never deleted.
func keepEarlierAttempt(run, id string) error {
	dir := rundir.CellDir(run, id)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	attempts := filepath.Join(run, rundir.AttemptsDir)
	if err := os.MkdirAll(attempts, 0o755); err != nil {
		return fmt.Errorf("keep earlier attempt of %s: %w", id, err)
	}
	dst := filepath.Join(attempts, id+"-"+time.Now().UTC().Format("20060102T150405.000000000"))
	if err := os.Rename(dir, dst); err != nil {
		return fmt.Errorf("keep earlier attempt of %s: %w", id, err)
	}
	return nil
}

// awaitReply waits for the board's Reply to cmd.
func awaitReply(ctx context.Context, recs <-chan record.Record, cmd string, timeout time.Duration) (string, string, bool) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return rundir.StatusInterrupted, "interrupted while waiting for the board", false
		case <-t.C:
			return rundir.StatusFailed, fmt.Sprintf("no reply to %q within %s", cmd, timeout), false
		case r := <-recs:
			if b, ok := r.Body.(*wire.Reply); ok && b.Cmd == cmd {
				if !b.OK {
					return rundir.StatusFailed, fmt.Sprintf("board refused %q: %s", cmd, termsafe.String(b.Err)), false
				}
				return "", "", true
			}
		}
	}
}

// withTag adds tag=<cell> to a peer URL's query.
func withTag(raw, tag string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("tag", tag)
	u.RawQuery = q.Encode()
	return u.String()
}

// CheckHello checks that a board runs the firmware a cell expects: a board
// running the wrong variant is an error, never silent data.
func CheckHello(h *wire.Hello, c rundir.Cell) error {
	var diffs []string
	if h.Protocol != wire.ProtocolVersion {
		diffs = append(diffs, fmt.Sprintf("protocol %d (this wsbench speaks %d)", h.Protocol, wire.ProtocolVersion))
	}
	want := c.Variant
	if h.Variant != want {
		diffs = append(diffs, fmt.Sprintf("variant %q, cell expects %q", h.Variant, want))
	}
	if h.Options.WSTaskStackInExtRAM != c.Options.WSTaskStackInExtRAM {
		diffs = append(diffs, fmt.Sprintf("ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM=%t, cell expects %t", h.Options.WSTaskStackInExtRAM, c.Options.WSTaskStackInExtRAM))
	}
	if h.Options.WSAllocInExtRAM != c.Options.WSAllocInExtRAM {
		diffs = append(diffs, fmt.Sprintf("ESP_WS_CLIENT_ALLOC_IN_EXT_RAM=%t, cell expects %t", h.Options.WSAllocInExtRAM, c.Options.WSAllocInExtRAM))
	}
	if c.Behaviour != "" && h.Behaviour != c.Behaviour {
		diffs = append(diffs, fmt.Sprintf("component behaviour %q, cell expects %q", h.Behaviour, c.Behaviour))
	}
	if c.Options.MbedTLSAlloc != "" && h.Options.MbedTLSAlloc != c.Options.MbedTLSAlloc {
		diffs = append(diffs, fmt.Sprintf("mbedTLS allocation %q, cell expects %q", h.Options.MbedTLSAlloc, c.Options.MbedTLSAlloc))
	}
	if h.Options.MbedTLSDynamicBuffer != c.Options.MbedTLSDynamicBuffer {
		diffs = append(diffs, fmt.Sprintf("MBEDTLS_DYNAMIC_BUFFER=%t, cell expects %t", h.Options.MbedTLSDynamicBuffer, c.Options.MbedTLSDynamicBuffer))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("wrong firmware on board %s: it reports %s", c.Board, strings.Join(diffs, "; "))
	}
	return nil
}

// CellTimeout is how long a cell's run may take in wall-clock time before it
// is declared stuck: the run's own duration (as if in real time) plus a margin
// for handshakes, so it also holds for real boards.
func CellTimeout(p wire.RunParams) time.Duration {
	d := time.Duration(p.BaselineMS+p.WindowMS) * time.Millisecond
	d += time.Duration(p.N) * 5 * time.Second // a TLS handshake on the chip takes up to a few seconds
	if p.Scenario == wire.ScenarioChurn {
		d += time.Duration(p.Cycles) * (5*time.Second + time.Duration(p.N)*5*time.Second)
	}
	return d + 30*time.Second
}
