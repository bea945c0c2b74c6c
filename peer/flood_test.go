package peer

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// dialerFrom dials from local IP src (any 127.x address works on loopback).
func dialerFrom(src string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
}

// wsFrom opens a WebSocket from local IP src.
func wsFrom(ctx context.Context, s *Server, src string) (*websocket.Conn, error) {
	d := dialerFrom(src)
	tr := &http.Transport{TLSClientConfig: clientTLS(s, 0, 0), DialContext: d.DialContext}
	c, _, err := websocket.Dial(ctx, s.WSURL(), &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	return c, err
}

// flood opens, from each source address, silent TCP connections (never a
// ClientHello) and upgraded WebSockets that then stay idle, and returns
// what it holds open.
type flood struct {
	conns []net.Conn
	wss   []*websocket.Conn
	// counts
	wsOpen, wsRefused int
}

func (f *flood) close() {
	for _, c := range f.conns {
		c.Close()
	}
	for _, c := range f.wss {
		c.CloseNow()
	}
}

func startFlood(ctx context.Context, t *testing.T, s *Server, srcs []string, silent, ws int) *flood {
	t.Helper()
	f := &flood{}
	addr := strings.TrimPrefix(strings.TrimSuffix(s.WSURL(), WSPath), "wss://")
	for _, src := range srcs {
		d := dialerFrom(src)
		for range silent {
			c, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				t.Fatalf("flood dial from %s: %v", src, err)
			}
			f.conns = append(f.conns, c)
		}
		for range ws {
			c, err := wsFrom(ctx, s, src)
			if err != nil {
				f.wsRefused++
				continue
			}
			f.wss = append(f.wss, c)
			f.wsOpen++
		}
	}
	return f
}

// boardSessions opens n WebSockets (each echoing one message) and n HTTPS
// requests from src, as a board's sweep does, and returns how many worked.
func boardSessions(ctx context.Context, t *testing.T, s *Server, src string, n int) (ok int, took time.Duration) {
	t.Helper()
	start := time.Now()
	var open []*websocket.Conn
	defer func() {
		for _, c := range open {
			c.Close(websocket.StatusNormalClosure, "")
		}
	}()
	for range n {
		c, err := wsFrom(ctx, s, src)
		if err != nil {
			t.Logf("board websocket from %s: %v", src, err)
			continue
		}
		open = append(open, c)
		if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
			continue
		}
		if _, b, err := c.Read(ctx); err == nil && string(b) == "hi" {
			ok++
		}
	}
	d := dialerFrom(src)
	tr := &http.Transport{TLSClientConfig: clientTLS(s, 0, 0), DialContext: d.DialContext, MaxIdleConnsPerHost: n, MaxConnsPerHost: n}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for range n {
		resp, err := hc.Get(s.HTTPSURL() + "?n=100")
		if err != nil {
			t.Logf("board https from %s: %v", src, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && len(b) == 100 {
			ok++
		}
	}
	return ok, time.Since(start)
}

// The peer keeps its boards served while one address (or forty) floods it
// with connections that never handshake and idle WebSockets (issue 13,
// "Seen" 5: 2,000 silent connections filled the 256 slots for 10 s, 256
// idle WebSockets for the idle timeout). Loopback only, bounded in count
// and time.
func TestBoardSessionsSurviveAFlood(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const board = "127.0.0.1"
	tests := []struct {
		name           string
		srcs           []string
		silent, ws     int
		wantFloodWSMax int // the flood's WebSockets that may get in
	}{
		{"2000 silent connections from one address", []string{"127.0.0.2"}, 2000, 0, 0},
		{"256 idle websockets from one address", []string{"127.0.0.2"}, 0, 256, DefaultMaxConnsPerAddr},
		{"10 idle websockets, then 20 silent connections, from each of 40 addresses", addrs("127.0.1.", 40), 20, 10, 256 - 256/4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startPeer(t, Config{Host: "127.0.0.1", Trusted: []string{board}})
			// Idle WebSockets first (held for the idle timeout), then silent
			// connections (held for the first-byte timeout).
			f2 := startFlood(ctx, t, s, tt.srcs, 0, tt.ws)
			defer f2.close()
			f := startFlood(ctx, t, s, tt.srcs, tt.silent, 0)
			defer f.close()
			ok, took := boardSessions(ctx, t, s, board, 8)
			tot := s.Counters().Totals
			t.Logf("flood: %d silent connections and %d websocket attempts from %d addresses, %d websockets in; server refused %d; board: %d of 16 sessions in %s",
				len(f.conns), tt.ws*len(tt.srcs), len(tt.srcs), f2.wsOpen, tot.Refused, ok, took.Round(time.Millisecond))
			if tt.ws > 0 && f2.wsOpen == 0 {
				t.Errorf("no flood websocket got in: the test floods nothing")
			}
			if ok != 16 {
				t.Fatalf("board: %d of 16 sessions worked under the flood", ok)
			}
			if f2.wsOpen > tt.wantFloodWSMax {
				t.Errorf("the flood holds %d websockets, want at most %d", f2.wsOpen, tt.wantFloodWSMax)
			}
			// An untrusted newcomer is also served when one address floods.
			if len(tt.srcs) == 1 {
				if ok, _ := boardSessions(ctx, t, s, "127.0.0.3", 4); ok != 8 {
					t.Errorf("another untrusted address: %d of 8 sessions", ok)
				}
			}
		})
	}
}

func addrs(prefix string, n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// A connection that sends nothing gives its slot back after
// FirstByteTimeout, not after the whole HandshakeTimeout.
func TestSilentConnectionsFreeTheirSlotsEarly(t *testing.T) {
	s := startPeer(t, Config{Host: "127.0.0.1", Trusted: []string{}, FirstByteTimeout: 200 * time.Millisecond, HandshakeTimeout: time.Minute})
	addr := strings.TrimPrefix(strings.TrimSuffix(s.WSURL(), WSPath), "wss://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a bound for a broken server, far from both timeouts
	_, err = c.Read(make([]byte, 1))
	t.Logf("silent connection closed after %s (FirstByteTimeout 200ms, HandshakeTimeout 1m): %v", time.Since(start).Round(time.Millisecond), err)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server kept a silent connection for 30 s")
	}
	waitFor(t, "the handshake timeout to be counted", func() bool { return s.Counters().Totals.HandshakeTimeouts == 1 })
}

// A WebSocket frame header that announces 2^62 bytes closes the connection
// at once (issue 13: it waited for the idle timeout).
func TestHugeFrameHeaderClosesAtOnce(t *testing.T) {
	for _, tt := range []struct {
		name   string
		header []byte
	}{
		{"2^62 bytes", append([]byte{0x82, 0xff}, be64(1<<62)...)},
		{"2^63-1 bytes", append([]byte{0x82, 0xff}, be64(1<<63-1)...)},
		{"limit+1 in 64-bit length", append([]byte{0x82, 0xff}, be64(DefaultMaxMessageSize+1)...)},
		{"fragments adding up past the limit", append(append([]byte{0x02, 0xfe, 0xff, 0xff}, make([]byte, 4+0xffff)...), 0x80, 0xfe, 0x00, 0x02, 0, 0, 0, 0)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startPeer(t, Config{IdleTimeout: time.Minute})
			addr := strings.TrimPrefix(strings.TrimSuffix(s.WSURL(), WSPath), "wss://")
			c, err := tls.Dial("tcp", addr, clientTLS(s, 0, 0))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", WSPath, addr)
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("upgrade: %v %v", resp, err)
			}
			frame := append([]byte(nil), tt.header...)
			if tt.header[1]&0x7f == 127 {
				frame = append(frame, 1, 2, 3, 4) // mask key; no payload follows
			}
			start := time.Now()
			if _, err := c.Write(frame); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(30 * time.Second)) // half the idle timeout
			_, err = io.Copy(io.Discard, br)
			t.Logf("closed %s after the header: %v", time.Since(start).Round(time.Microsecond), err)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the connection stayed open")
			}
			waitFor(t, "the read limit hit to be counted", func() bool { return s.Counters().Totals.ReadLimitHits == 1 })
			for _, ss := range s.Counters().Sessions {
				if ss.Kind == KindWebSocket && ss.CloseReason != ReasonReadLimit {
					t.Errorf("session closed for %q, want %q", ss.CloseReason, ReasonReadLimit)
				}
			}
		})
	}
}

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
