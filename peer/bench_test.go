package peer

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/url"
	"testing"

	"github.com/coder/websocket"
)

// BenchmarkHandshake measures full TLS handshakes (no resumption) over
// loopback, client and server in this process.
func BenchmarkHandshake(b *testing.B) {
	for _, key := range []string{KeyECDSAP256, KeyRSA2048} {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			b.Run(fmt.Sprintf("%s/tls%s", key, TLSVersionName(v)), func(b *testing.B) {
				s := startPeer(b, Config{KeyType: key, MaxConns: 1 << 16})
				u, _ := url.Parse(s.HTTPSURL())
				conf := clientTLS(s, v, v)
				b.ResetTimer()
				for b.Loop() {
					c, err := tls.Dial("tcp", u.Host, conf)
					if err != nil {
						b.Fatal(err)
					}
					c.Close()
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
			})
		}
	}
}

// BenchmarkWSConnect measures a wss:// connection: TLS handshake, HTTP
// upgrade and close.
func BenchmarkWSConnect(b *testing.B) {
	s := startPeer(b, Config{MaxConns: 1 << 16})
	ctx := context.Background()
	for b.Loop() {
		c, err := dialWS(ctx, b, s, s.WSURL(), nil)
		if err != nil {
			b.Fatal(err)
		}
		c.CloseNow()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "connects/s")
}

// BenchmarkEchoRoundTrip measures WebSocket echo round trips on one
// connection; MB/s counts both directions.
func BenchmarkEchoRoundTrip(b *testing.B) {
	for _, size := range []int{64, 1024, 16384} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			s := startPeer(b, Config{})
			ctx := context.Background()
			c, err := dialWS(ctx, b, s, s.WSURL(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseNow()
			msg := make([]byte, size)
			b.SetBytes(int64(2 * size))
			for b.Loop() {
				if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
					b.Fatal(err)
				}
				if _, _, err := c.Read(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "round-trips/s")
		})
	}
}

// BenchmarkHTTPSRequest measures keep-alive GET /bytes requests.
func BenchmarkHTTPSRequest(b *testing.B) {
	for _, size := range []int{1024, 65536} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			s := startPeer(b, Config{})
			hc := client(b, clientTLS(s, 0, 0))
			u := fmt.Sprintf("%s?n=%d", s.HTTPSURL(), size)
			b.SetBytes(int64(size))
			for b.Loop() {
				resp, err := hc.Get(u)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
		})
	}
}
