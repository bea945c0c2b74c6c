package sim

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/wire"
)

// peer is a loopback TLS server: /ws echoes WebSocket messages, anything
// else answers 200.
type peer struct {
	srv   *httptest.Server
	pool  *x509.CertPool
	mu    sync.Mutex
	conns map[*websocket.Conn]bool
}

func startPeer(t testing.TB) *peer {
	t.Helper()
	p := &peer{conns: map[*websocket.Conn]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns[c] = true
		p.mu.Unlock()
		defer func() {
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
			c.CloseNow()
		}()
		for {
			typ, data, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, data); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/ws-drop", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err == nil {
			c.Close(websocket.StatusGoingAway, "dropped by the test peer")
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	p.srv = httptest.NewUnstartedServer(mux)
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected in some tests
	p.srv.StartTLS()
	p.pool = x509.NewCertPool()
	p.pool.AddCert(p.srv.Certificate())
	t.Cleanup(func() {
		p.mu.Lock()
		for c := range p.conns {
			c.CloseNow()
		}
		p.mu.Unlock()
		p.srv.Close()
	})
	return p
}

func (p *peer) wsURL() string    { return "wss://" + p.srv.Listener.Addr().String() + "/ws" }
func (p *peer) httpsURL() string { return "https://" + p.srv.Listener.Addr().String() + "/" }

func (p *peer) openWS() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// capture is what the host side saw: console text and decoded frames.
type capture struct {
	mu     sync.Mutex
	text   strings.Builder
	msgs   []wire.Message
	errs   []error
	demux  wire.Demuxer
	change chan struct{}
}

func (c *capture) feed(p []byte) {
	c.mu.Lock()
	c.demux.Feed(p, func(ch wire.Chunk) {
		switch ch.Kind {
		case wire.ChunkText:
			c.text.Write(ch.Text)
		case wire.ChunkFrame:
			m, err := wire.Decode(ch.Type, ch.Payload)
			if err != nil {
				c.errs = append(c.errs, err)
				return
			}
			c.msgs = append(c.msgs, m)
		}
	})
	c.mu.Unlock()
	select {
	case c.change <- struct{}{}:
	default:
	}
}

func (c *capture) snapshot() (string, []wire.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.text.String(), append([]wire.Message(nil), c.msgs...)
}

// harness runs a board over in-memory pipes.
type harness struct {
	t    testing.TB
	cmdW *io.PipeWriter
	cap  *capture
	done chan error
	stop context.CancelFunc
}

type pipeRW struct {
	io.Reader
	io.Writer
}

func startBoard(t testing.TB, cfg Config) *harness {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmdR, cmdW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(testctx.New(t))
	h := &harness{t: t, cmdW: cmdW, cap: &capture{change: make(chan struct{}, 1)}, done: make(chan error, 1), stop: cancel}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := outR.Read(buf)
			h.cap.feed(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	go func() {
		h.done <- b.Serve(ctx, pipeRW{cmdR, outW})
		outW.Close()
	}()
	t.Cleanup(func() {
		cancel()
		cmdW.Close()
		outR.Close()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Error("board did not stop")
		}
	})
	return h
}

func (h *harness) send(line string) {
	h.t.Helper()
	if _, err := io.WriteString(h.cmdW, line+"\n"); err != nil {
		h.t.Fatal(err)
	}
}

// waitFor polls until pred holds on the capture, or fails after timeout.
func (h *harness) waitFor(what string, timeout time.Duration, pred func(text string, msgs []wire.Message) bool) (string, []wire.Message) {
	h.t.Helper()
	deadline := time.After(timeout)
	for {
		text, msgs := h.cap.snapshot()
		if pred(text, msgs) {
			return text, msgs
		}
		select {
		case <-h.cap.change:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s; console tail:\n%s", what, tail(text, 3000))
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// runAndWait sends a run command and waits for its RunEnd.
func (h *harness) runAndWait(p wire.RunParams) (*wire.RunEnd, []wire.Message, string) {
	h.t.Helper()
	_, before := h.cap.snapshot()
	h.send(wire.RunCommand(p).String())
	var end *wire.RunEnd
	text, msgs := h.waitFor("RunEnd of "+p.Cell, 60*time.Second, func(_ string, msgs []wire.Message) bool {
		for _, m := range msgs[len(before):] {
			if r, ok := m.(*wire.RunEnd); ok && r.Cell == p.Cell {
				end = r
				return true
			}
			if r, ok := m.(*wire.Reply); ok && r.Cmd == wire.CmdRun && !r.OK {
				h.t.Fatalf("run refused: %s", r.Err)
			}
		}
		return false
	})
	return end, msgs[len(before):], text
}

func waitHello(h *harness, n int) *wire.Hello {
	h.t.Helper()
	var hello *wire.Hello
	h.waitFor(fmt.Sprintf("hello #%d", n), 20*time.Second, func(_ string, msgs []wire.Message) bool {
		k := 0
		for _, m := range msgs {
			if hh, ok := m.(*wire.Hello); ok {
				k++
				if k == n {
					hello = hh
					return true
				}
			}
		}
		return false
	})
	return hello
}

// lastSample returns the last Sample of phase ph.
func lastSample(msgs []wire.Message, ph wire.Phase) (*wire.Sample, error) {
	var s *wire.Sample
	for _, m := range msgs {
		if x, ok := m.(*wire.Sample); ok && x.Phase == ph {
			s = x
		}
	}
	if s == nil {
		return nil, errors.New("no sample in phase " + ph.String())
	}
	return s, nil
}

func events(msgs []wire.Message, kind wire.EventKind) []*wire.Event {
	var out []*wire.Event
	for _, m := range msgs {
		if e, ok := m.(*wire.Event); ok && e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func sweepParams(p *peer, cell string, n uint16) wire.RunParams {
	return wire.RunParams{Cell: cell, Scenario: wire.ScenarioSweep, N: n, PeriodMS: 100, DetailEvery: 10,
		BaselineMS: 1000, WindowMS: 3000, HandlerMode: wire.HandlerQueued, Seed: 7,
		WSURL: p.wsURL(), HTTPSURL: p.httpsURL()}
}
