package peer

import (
	"context"
	"crypto/tls"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// startPeer starts a server on loopback with certificates in a temporary
// directory and closes it when the test ends.
func startPeer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.CertDir == "" && cfg.CertFile == "" {
		cfg.CertDir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// clientTLS trusts only the server's CA.
func clientTLS(s *Server, minV, maxV uint16) *tls.Config {
	return &tls.Config{RootCAs: s.CAPool(), MinVersion: minV, MaxVersion: maxV}
}

// client is an HTTP client with its own transport (so its own connections),
// closed when the test ends.
func client(t testing.TB, conf *tls.Config) *http.Client {
	tr := &http.Transport{TLSClientConfig: conf, MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// dialWS dials url trusting the server's CA.
func dialWS(ctx context.Context, t testing.TB, s *Server, url string, conf *tls.Config) (*websocket.Conn, error) {
	if conf == nil {
		conf = clientTLS(s, 0, 0)
	}
	tr := &http.Transport{TLSClientConfig: conf}
	defer tr.CloseIdleConnections()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	return c, err
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// serverGoroutines lists stacks of goroutines that belong to a server:
// anything running peer code (tests excluded), an HTTP server connection,
// or a WebSocket connection.
func serverGoroutines() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "testing.tRunner") || strings.Contains(g, "peer.Test") || strings.Contains(g, "peer.Benchmark") {
			continue
		}
		if strings.Contains(g, "wsbench/peer.") || strings.Contains(g, "net/http.(*conn).serve") ||
			strings.Contains(g, "net/http.(*Server).Serve") || strings.Contains(g, "coder/websocket.") {
			out = append(out, g)
		}
	}
	return out
}

// checkNoLeaks waits up to 5 s for the goroutine count to return to before
// and for no server goroutine to remain.
func checkNoLeaks(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, left := runtime.NumGoroutine(), serverGoroutines()
		if n <= before && len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("goroutines: %d before, %d after; server goroutines left: %d\n%s", before, n, len(left), strings.Join(left, "\n\n"))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
