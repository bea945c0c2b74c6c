package rfc2217

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/wsbench/wsbench/internal/ser2nettest"
)

// BenchmarkSer2net measures throughput through a real ser2net exporting a
// pty (a pty has no baud-rate limit, so this is the software path: TCP,
// telnet escaping, ser2net, the tty layer). Payload bytes cover all 256
// values, so 1/256 of them are IAC and doubled on the wire.
func BenchmarkSer2net(b *testing.B) {
	pp := openPty(b)
	srv := ser2nettest.Start(b, pp.slave.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := Dial(ctx, srv.URL(""), Options{Baud: 115200, WriteTimeout: 30 * time.Second})
	if err != nil {
		b.Fatalf("dial: %v\n%s", err, srv.Log())
	}
	defer p.Close()
	chunk := allBytes(64 << 10)
	buf := make([]byte, len(chunk))

	b.Run("device_to_client", func(b *testing.B) {
		b.SetBytes(int64(len(chunk)))
		p.SetReadDeadline(time.Now().Add(time.Hour))
		for b.Loop() {
			errc := make(chan error, 1)
			go func() {
				pp.master.SetWriteDeadline(time.Now().Add(30 * time.Second))
				_, err := pp.master.Write(chunk)
				errc <- err
			}()
			if _, err := io.ReadFull(p, buf); err != nil {
				b.Fatal(err)
			}
			if err := <-errc; err != nil { // bounded by the write deadline
				b.Fatal(err)
			}
		}
	})
	b.Run("client_to_device", func(b *testing.B) {
		b.SetBytes(int64(len(chunk)))
		for b.Loop() {
			errc := make(chan error, 1)
			go func() {
				_, err := p.Write(chunk)
				errc <- err
			}()
			pp.master.SetReadDeadline(time.Now().Add(30 * time.Second))
			if _, err := io.ReadFull(pp.master, buf); err != nil {
				b.Fatal(err)
			}
			if err := <-errc; err != nil { // bounded: Options.WriteTimeout
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecode measures the telnet decoder alone on escaped data.
func BenchmarkDecode(b *testing.B) {
	wire := escapeData(nil, allBytes(64<<10), true)
	out := make([]byte, 0, len(wire))
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		d := decoder{binary: true}
		out = d.decode(out[:0], wire, func(event) {})
	}
}

// BenchmarkEscape measures IAC doubling on the write path.
func BenchmarkEscape(b *testing.B) {
	src := allBytes(64 << 10)
	out := make([]byte, 0, 2*len(src))
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		out = escapeData(out[:0], src, true)
	}
}
