package peer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestConcurrentClients(t *testing.T) {
	const clients, rounds = 50, 20
	s := startPeer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	errs := make(chan error, 2*clients)
	for i := range clients {
		wg.Go(func() {
			c, err := dialWS(ctx, t, s, s.WSURL()+"?tag=ws", nil)
			if err != nil {
				errs <- fmt.Errorf("ws client %d: dial: %w", i, err)
				return
			}
			defer c.CloseNow()
			for r := range rounds {
				msg := fmt.Appendf(nil, "client %d round %d", i, r)
				if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
					errs <- fmt.Errorf("ws client %d: write: %w", i, err)
					return
				}
				typ, got, err := c.Read(ctx)
				if err != nil || typ != websocket.MessageText || !bytes.Equal(got, msg) {
					errs <- fmt.Errorf("ws client %d round %d: echo %q %v, err %v", i, r, got, typ, err)
					return
				}
			}
			if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
				errs <- fmt.Errorf("ws client %d: close: %w", i, err)
			}
		})
		wg.Go(func() {
			hc := client(t, clientTLS(s, 0, 0))
			for r := range rounds {
				n := 100 + i*10 + r
				resp, err := hc.Get(fmt.Sprintf("%s?n=%d&tag=https", s.HTTPSURL(), n))
				if err != nil {
					errs <- fmt.Errorf("https client %d: %w", i, err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || len(body) != n {
					errs <- fmt.Errorf("https client %d round %d: status %d, %d bytes (want %d), err %v", i, r, resp.StatusCode, len(body), n, err)
					return
				}
			}
			hc.CloseIdleConnections()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	waitFor(t, "all sessions closed", func() bool { return s.Counters().Totals.Active == 0 })

	snap := s.Counters()
	tot := snap.Totals
	if tot.WebSockets != clients || tot.Requests != clients*rounds || tot.Refused != 0 || tot.HandshakeErrors != 0 {
		t.Errorf("totals: %+v; want %d websockets, %d requests, none refused", tot, clients, clients*rounds)
	}
	var ws, https int
	for _, ss := range snap.Sessions {
		switch ss.Kind {
		case KindWebSocket:
			ws++
			if ss.MessagesIn != rounds || ss.MessagesOut != rounds || ss.Tag != "ws" || ss.Errors != 0 {
				t.Errorf("ws session %+v: want %d messages each way, tag ws, no errors", ss, rounds)
			}
		case KindHTTPS:
			https++
			if ss.Tag != "https" || ss.Errors != 0 {
				t.Errorf("https session %+v", ss)
			}
		}
		if ss.BytesIn == 0 || ss.BytesOut == 0 || ss.Handshakes != 1 || ss.TLSVersion != "1.3" {
			t.Errorf("session %d: %+v: want wire bytes both ways, one TLS 1.3 handshake", ss.ID, ss)
		}
	}
	if ws != clients || https < clients {
		t.Errorf("%d websocket and %d https sessions, want %d and at least %d", ws, https, clients, clients)
	}
}

func TestEchoAndPush(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		query    string
		pushSize int
	}{
		{"push from config", Config{PushSize: 100, PushInterval: 10 * time.Millisecond}, "", 100},
		{"push from query", Config{}, "?push_size=24&push_every=5ms", 24},
		{"push tiny message", Config{}, "?push_size=4&push_every=5", 4},
		{"echo only", Config{}, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startPeer(t, tc.cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := dialWS(ctx, t, s, s.WSURL()+tc.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			msg := []byte{0, 1, 2, 0xff}
			if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
				t.Fatal(err)
			}
			echoed, pushes := false, 0
			var lastSeq uint64
			for !echoed || pushes < 3 && tc.pushSize > 0 {
				_, got, err := c.Read(ctx)
				if err != nil {
					t.Fatalf("read after %d pushes (echo %v): %v", pushes, echoed, err)
				}
				if bytes.Equal(got, msg) && !echoed {
					echoed = true
					continue
				}
				if len(got) != tc.pushSize {
					t.Fatalf("message of %d bytes, want echo %x or a push of %d", len(got), msg, tc.pushSize)
				}
				if tc.pushSize >= 8 {
					seq := binary.BigEndian.Uint64(got)
					if seq <= lastSeq {
						t.Fatalf("push sequence %d after %d", seq, lastSeq)
					}
					lastSeq = seq
				}
				pushes++
			}
			c.Close(websocket.StatusNormalClosure, "")
			waitFor(t, "session closed", func() bool { return s.Counters().Totals.Active == 0 })
			ss := s.Counters().Sessions[0]
			if ss.Kind != KindWebSocket || ss.MessagesIn != 1 || ss.Pushes < uint64(pushes) || ss.CloseReason != ReasonClientClosed || ss.Errors != 0 {
				t.Errorf("session %+v: want 1 message in, >= %d pushes, client closed, no errors", ss, pushes)
			}
		})
	}
}

func TestBadPushParametersAreRefused(t *testing.T) {
	s := startPeer(t, Config{})
	for _, q := range []string{"?push_size=-1", "?push_size=10", "?push_size=10&push_every=0", "?push_every=xyz", fmt.Sprintf("?push_size=%d&push_every=1s", DefaultMaxResponseSize+1)} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := dialWS(ctx, t, s, s.WSURL()+q, nil)
		cancel()
		if err == nil {
			c.CloseNow()
			t.Errorf("%s: dial succeeded, want a 400", q)
		} else if !strings.Contains(err.Error(), "400") {
			t.Errorf("%s: %v, want status 400", q, err)
		}
	}
}

func TestTLSVersions(t *testing.T) {
	tests := []struct {
		name             string
		srvMin, srvMax   uint16
		cliMin, cliMax   uint16
		want             string // negotiated version, or "" for a failed handshake
		wantServerErrors uint64
	}{
		{"TLS 1.2 only client", 0, 0, tls.VersionTLS12, tls.VersionTLS12, "1.2", 0},
		{"TLS 1.3 only client", 0, 0, tls.VersionTLS13, tls.VersionTLS13, "1.3", 0},
		{"TLS 1.2 only server", tls.VersionTLS12, tls.VersionTLS12, 0, 0, "1.2", 0},
		{"1.3 server refuses 1.2 client", tls.VersionTLS13, 0, tls.VersionTLS12, tls.VersionTLS12, "", 1},
		{"1.2 server refuses 1.3 client", 0, tls.VersionTLS12, tls.VersionTLS13, tls.VersionTLS13, "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startPeer(t, Config{MinTLS: tc.srvMin, MaxTLS: tc.srvMax})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := dialWS(ctx, t, s, s.WSURL(), clientTLS(s, tc.cliMin, tc.cliMax))
			if tc.want == "" {
				if err == nil {
					c.CloseNow()
					t.Fatal("handshake succeeded, want failure")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
					t.Fatal(err)
				}
				if _, _, err := c.Read(ctx); err != nil {
					t.Fatal(err)
				}
				c.Close(websocket.StatusNormalClosure, "")
			}
			waitFor(t, "session closed", func() bool { return s.Counters().Totals.Active == 0 })
			snap := s.Counters()
			if got := snap.Sessions[0].TLSVersion; got != tc.want {
				t.Errorf("session TLS version %q, want %q", got, tc.want)
			}
			if snap.Totals.HandshakeErrors != tc.wantServerErrors {
				t.Errorf("handshake errors %d, want %d", snap.Totals.HandshakeErrors, tc.wantServerErrors)
			}
			info := s.Info()
			if wantMin := TLSVersionName(max(tc.srvMin, tls.VersionTLS12)); info.TLSMinVersion != wantMin {
				t.Errorf("Info TLS min %q, want %q", info.TLSMinVersion, wantMin)
			}
		})
	}
}

func TestMaxConnsRefusesAndCounts(t *testing.T) {
	const limit = 3
	s := startPeer(t, Config{MaxConns: limit})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var conns []*websocket.Conn
	for range limit {
		c, err := dialWS(ctx, t, s, s.WSURL(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		conns = append(conns, c)
	}
	// Over the limit: HTTPS and WebSocket alike fail at the handshake.
	hc := client(t, clientTLS(s, 0, 0))
	if resp, err := hc.Get(s.HTTPSURL()); err == nil {
		resp.Body.Close()
		t.Fatal("connection over the limit succeeded")
	}
	if c, err := dialWS(ctx, t, s, s.WSURL(), nil); err == nil {
		c.CloseNow()
		t.Fatal("websocket over the limit succeeded")
	}
	if tot := s.Counters().Totals; tot.Refused != 2 || tot.Active != limit || tot.Accepted != limit {
		t.Fatalf("totals %+v: want 2 refused, %d active and accepted", tot, limit)
	}
	// A slot freed is a slot available again.
	conns[0].Close(websocket.StatusNormalClosure, "")
	waitFor(t, "a slot to free", func() bool { return s.Counters().Totals.Active == limit-1 })
	resp, err := hc.Get(s.HTTPSURL())
	if err != nil {
		t.Fatalf("after a slot freed: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// rawTLS opens a TLS connection to the https port without HTTP.
func rawTLS(t *testing.T, s *Server) *tls.Conn {
	t.Helper()
	u, _ := url.Parse(s.HTTPSURL())
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", u.Host, clientTLS(s, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reads from c until it ends and reports whether that
// happened within d.
func closedWithin(c net.Conn, d time.Duration) (bool, string) {
	c.SetReadDeadline(time.Now().Add(d))
	data, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false, string(data)
	}
	return true, string(data)
}

func TestTimeoutsCloseSlowClients(t *testing.T) {
	const short = 300 * time.Millisecond
	cfg := Config{HandshakeTimeout: short, HeaderTimeout: short, IdleTimeout: short}
	tests := []struct {
		name   string
		client func(t *testing.T, s *Server) net.Conn
		reason string
		check  func(t *testing.T, tot Totals)
	}{
		{
			name: "silent TCP client hits the handshake timeout",
			client: func(t *testing.T, s *Server) net.Conn {
				u, _ := url.Parse(s.WSURL())
				c, err := net.Dial("tcp", u.Host)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			},
			reason: ReasonHandshakeTimeout,
			check: func(t *testing.T, tot Totals) {
				if tot.HandshakeTimeouts != 1 {
					t.Errorf("handshake timeouts %d, want 1", tot.HandshakeTimeouts)
				}
			},
		},
		{
			name: "client trickling a header hits the header timeout",
			client: func(t *testing.T, s *Server) net.Conn {
				c := rawTLS(t, s)
				io.WriteString(c, "GET /bytes HTTP/1.1\r\nHost: x\r\n")
				go func() { // one byte every 50 ms, never the end of the header
					for range 100 {
						if _, err := io.WriteString(c, "X"); err != nil {
							return
						}
						time.Sleep(50 * time.Millisecond)
					}
				}()
				return c
			},
			reason: ReasonReadTimeout,
			check: func(t *testing.T, tot Totals) {
				if tot.ReadTimeouts != 1 {
					t.Errorf("read timeouts %d, want 1", tot.ReadTimeouts)
				}
			},
		},
		{
			name: "idle keep-alive connection hits the idle timeout",
			client: func(t *testing.T, s *Server) net.Conn {
				c := rawTLS(t, s)
				io.WriteString(c, "GET /bytes?n=10 HTTP/1.1\r\nHost: x\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				return c
			},
			reason: ReasonReadTimeout,
		},
		{
			name: "silent WebSocket hits the idle timeout",
			client: func(t *testing.T, s *Server) net.Conn {
				u, _ := url.Parse(s.WSURL())
				c, err := tls.Dial("tcp", u.Host, clientTLS(s, 0, 0))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
					"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
				return c
			},
			reason: ReasonIdleTimeout,
			check: func(t *testing.T, tot Totals) {
				if tot.IdleTimeouts != 1 {
					t.Errorf("idle timeouts %d, want 1", tot.IdleTimeouts)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startPeer(t, cfg)
			c := tc.client(t, s)
			if ok, _ := closedWithin(c, 20*short); !ok {
				t.Fatalf("server kept the connection open for %v", 20*short)
			}
			waitFor(t, "session closed", func() bool { return s.Counters().Totals.Active == 0 })
			snap := s.Counters()
			if tc.reason != "" && snap.Sessions[0].CloseReason != tc.reason {
				t.Errorf("close reason %q, want %q", snap.Sessions[0].CloseReason, tc.reason)
			}
			if tc.check != nil {
				tc.check(t, snap.Totals)
			}
		})
	}
}

func TestWebSocketPingsKeepSessionAlive(t *testing.T) {
	const idle = 300 * time.Millisecond
	s := startPeer(t, Config{IdleTimeout: idle})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dialWS(ctx, t, s, s.WSURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	rctx := c.CloseRead(ctx) // reads pongs
	for range 12 {           // 12 x 75 ms = 3 idle periods with only pings
		if err := c.Ping(ctx); err != nil {
			t.Fatalf("ping: %v (closed: %v)", err, rctx.Err())
		}
		time.Sleep(idle / 4)
	}
	if tot := s.Counters().Totals; tot.IdleTimeouts != 0 || tot.Active != 1 {
		t.Errorf("totals %+v: pinging client was treated as idle", tot)
	}
}

func TestReadLimits(t *testing.T) {
	const limit = 1024
	s := startPeer(t, Config{MaxMessageSize: limit, MaxHeaderBytes: 1024})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("websocket message at the limit is echoed, over it closes", func(t *testing.T) {
		c, err := dialWS(ctx, t, s, s.WSURL(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		ok := bytes.Repeat([]byte{'a'}, limit)
		if err := c.Write(ctx, websocket.MessageBinary, ok); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.Read(ctx); err != nil || len(got) != limit {
			t.Fatalf("echo of %d bytes: %d, %v", limit, len(got), err)
		}
		if err := c.Write(ctx, websocket.MessageBinary, append(ok, 'b')); err != nil {
			t.Fatal(err)
		}
		_, _, err = c.Read(ctx)
		if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
			t.Fatalf("read after oversize message: %v, want close status %v", err, websocket.StatusMessageTooBig)
		}
	})
	hc := client(t, clientTLS(s, 0, 0))
	t.Run("oversize header gets 431", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.HTTPSURL(), nil)
		req.Header.Set("X-Big", strings.Repeat("h", 8<<10))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", resp.StatusCode)
		}
	})
	t.Run("oversize body gets 413", func(t *testing.T) {
		resp, err := hc.Post(s.HTTPSURL()+"?n=5", "application/octet-stream", bytes.NewReader(make([]byte, limit+1)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", resp.StatusCode)
		}
		resp, err = hc.Post(s.HTTPSURL()+"?n=5", "application/octet-stream", bytes.NewReader(make([]byte, limit)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) != 5 {
			t.Fatalf("body at the limit: status %d, %d bytes", resp.StatusCode, len(body))
		}
	})
	t.Run("bad sizes get 400", func(t *testing.T) {
		for _, q := range []string{"?n=-1", "?n=x", fmt.Sprintf("?n=%d", DefaultMaxResponseSize+1)} {
			resp, err := hc.Get(s.HTTPSURL() + q)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", q, resp.StatusCode)
			}
		}
	})
	if tot := s.Counters().Totals; tot.ReadLimitHits != 2 {
		t.Errorf("read limit hits %d, want 2 (websocket message, POST body)", tot.ReadLimitHits)
	}
}

func TestShutdownClosesEverythingAndLeavesNoGoroutines(t *testing.T) {
	tests := []struct {
		name       string
		deadline   time.Duration
		stubborn   bool // a WebSocket client that never answers the close
		wantForced bool
	}{
		{"graceful", 10 * time.Second, false, false},
		{"forced by deadline", 100 * time.Millisecond, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := Start(ctx, Config{CertDir: t.TempDir(), PushSize: 64, PushInterval: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() }) // a failure before Shutdown still stops it; a no-op after
			var clients []*websocket.Conn
			for range 5 {
				c, err := dialWS(ctx, t, s, s.WSURL(), nil)
				if err != nil {
					t.Fatal(err)
				}
				clients = append(clients, c)
			}
			closed := make(chan error, len(clients))
			for _, c := range clients {
				go func() { // read until the server closes
					for {
						if _, _, err := c.Read(ctx); err != nil {
							closed <- err
							return
						}
					}
				}()
			}
			hc := client(t, clientTLS(s, 0, 0))
			resp, err := hc.Get(s.HTTPSURL())
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close() // now an idle keep-alive connection
			u, _ := url.Parse(s.WSURL())
			half, err := net.Dial("tcp", u.Host) // mid-handshake
			if err != nil {
				t.Fatal(err)
			}
			defer half.Close()
			if tc.stubborn {
				raw, err := tls.Dial("tcp", u.Host, clientTLS(s, 0, 0))
				if err != nil {
					t.Fatal(err)
				}
				defer raw.Close()
				io.WriteString(raw, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
					"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
			}
			waitFor(t, "sessions to register", func() bool {
				tot := s.Counters().Totals
				want := uint64(5)
				if tc.stubborn {
					want++
				}
				return tot.WebSockets == want && tot.Accepted >= want+2
			})

			sctx, scancel := context.WithTimeout(context.Background(), tc.deadline)
			err = s.Shutdown(sctx)
			scancel()
			if tc.wantForced != (err != nil) {
				t.Fatalf("Shutdown: %v, want forced=%v", err, tc.wantForced)
			}
			if tc.wantForced && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Shutdown: %v, want a deadline error", err)
			}
			for range clients {
				err := <-closed
				if !tc.wantForced && websocket.CloseStatus(err) != websocket.StatusGoingAway {
					t.Errorf("client saw %v, want close status going away", err)
				}
			}
			snap := s.Counters()
			if snap.Totals.Active != 0 {
				t.Errorf("%d sessions still active after Shutdown", snap.Totals.Active)
			}
			for _, ss := range snap.Sessions {
				if ss.Kind == KindWebSocket && ss.CloseReason != ReasonShutdown {
					t.Errorf("websocket session %d closed for %q, want %q", ss.ID, ss.CloseReason, ReasonShutdown)
				}
			}
			if _, err := hc.Get(s.HTTPSURL()); err == nil {
				t.Error("request after Shutdown succeeded")
			}
			if s.Close() != err && !tc.wantForced {
				t.Error("Close after Shutdown gave a different result")
			}
			hc.CloseIdleConnections()
			half.Close()
			checkNoLeaks(t, before)
		})
	}
}

func TestSnapshotDeltaAndTag(t *testing.T) {
	s := startPeer(t, Config{})
	hc1, hc2 := client(t, clientTLS(s, 0, 0)), client(t, clientTLS(s, 0, 0))
	get := func(hc *http.Client, tag string, n int) {
		t.Helper()
		resp, err := hc.Get(fmt.Sprintf("%s?n=%d&tag=%s", s.HTTPSURL(), n, tag))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get(hc1, "cell-a", 100)
	get(hc2, "cell-b", 200)
	before := s.Counters()
	get(hc1, "cell-a", 300)
	after := s.Counters()

	d := after.Delta(before)
	if len(d.Sessions) != 1 || d.Sessions[0].Tag != "cell-a" || d.Sessions[0].PayloadOut != 300 || d.Sessions[0].MessagesIn != 1 {
		t.Errorf("delta sessions %+v: want one cell-a session with 300 bytes out, 1 request", d.Sessions)
	}
	if d.Totals.Requests != 1 || d.Totals.PayloadOut != 300 || d.Totals.Accepted != 0 {
		t.Errorf("delta totals %+v", d.Totals)
	}
	a := after.WithTag("cell-a")
	if len(a.Sessions) != 1 || a.Totals.PayloadOut != 400 || a.Totals.Requests != 2 || a.Totals.Active != 1 {
		t.Errorf("cell-a: %+v", a)
	}
	b, err := json.Marshal(after)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil || len(back.Sessions) != 2 || back.Totals != after.Totals {
		t.Errorf("JSON round trip: %v, %+v", err, back)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{KeyType: "dsa"}, "KeyType"},
		{Config{MinTLS: tls.VersionTLS13, MaxTLS: tls.VersionTLS12}, "MinTLS"},
		{Config{MinTLS: tls.VersionTLS11}, "MinTLS"},
		{Config{PushSize: 10}, "PushInterval"},
		{Config{CertFile: "x.pem"}, "KeyFile"},
		{Config{CAKeyFile: "k.pem"}, "CAFile"},
		{Config{WSPort: 70000}, "WSPort"},
		{Config{ResponseSize: 100, MaxResponseSize: 10}, "ResponseSize"},
		{Config{MaxConns: -1}, "MaxConns (--max-conns) must not be negative"},
		{Config{IdleTimeout: -time.Second}, "IdleTimeout must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			tc.cfg.CertDir = t.TempDir()
			s, err := Start(context.Background(), tc.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
		})
	}
}

func TestSharedPortServesBoth(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := startPeer(t, Config{WSPort: port, HTTPSPort: port})
	if !strings.Contains(s.WSURL(), fmt.Sprint(":", port, "/")) || !strings.Contains(s.HTTPSURL(), fmt.Sprint(":", port, "/")) {
		t.Fatalf("URLs %s %s, want port %d", s.WSURL(), s.HTTPSURL(), port)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dialWS(ctx, t, s, s.WSURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.CloseNow()
	resp, err := client(t, clientTLS(s, 0, 0)).Get(s.HTTPSURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestSessionHistoryIsBoundedButTotalsAreNot(t *testing.T) {
	const history, sessions = 3, 5
	s := startPeer(t, Config{SessionHistory: history})
	for range sessions {
		hc := client(t, clientTLS(s, 0, 0))
		resp, err := hc.Get(s.HTTPSURL() + "?n=10")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		hc.CloseIdleConnections()
		// The history keeps the sessions that closed last: wait for this one
		// to close before the next opens, so that they close in ID order
		// (the server sees a client's close a little later, and a later
		// session could otherwise close first).
		waitFor(t, "session closed", func() bool { return s.Counters().Totals.Active == 0 })
	}
	snap := s.Counters()
	if len(snap.Sessions) != history || snap.Dropped != sessions-history {
		t.Errorf("%d sessions kept, %d dropped; want %d and %d", len(snap.Sessions), snap.Dropped, history, sessions-history)
	}
	if snap.Totals.Accepted != sessions || snap.Totals.PayloadOut != 10*sessions || snap.Sessions[0].ID != sessions-history+1 {
		t.Errorf("totals %+v, first kept session %d", snap.Totals, snap.Sessions[0].ID)
	}
}
