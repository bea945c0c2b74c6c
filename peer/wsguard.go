package peer

import (
	"crypto/tls"
	"errors"
	"sync/atomic"
	"time"
)

// errFrameTooBig ends a WebSocket whose client announced a message over the
// read limit.
var errFrameTooBig = errors.New("websocket frame header announces a message over the read limit")

// guardConn is a server connection after its TLS handshake. Once armed (the
// request has become a WebSocket), it follows the client's frame headers
// and fails the read that brings a header announcing a message over limit
// bytes: the library's own read limit counts payload bytes as they come,
// so a header claiming 2^62 bytes and then silence held the connection
// until the idle timeout. A compliant client sends nothing between its
// upgrade request and the server's answer (RFC 6455, 4.1), so the first
// byte read after arming starts a frame; a header that is not a masked
// client frame disarms the guard and leaves the error to the library.
type guardConn struct {
	*tls.Conn
	s     *session
	limit int64
	armed atomic.Bool
	hit   func(*session)

	hdr     [14]byte
	hdrLen  int
	need    int   // header bytes needed (2 until the length byte is known)
	payload int64 // payload bytes of the current frame still to skip
	msg     int64 // payload bytes of the current (fragmented) message
}

func (g *guardConn) arm() {
	g.need = 2
	g.armed.Store(true)
}

func (g *guardConn) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	if n > 0 && g.armed.Load() && !g.scan(p[:n]) {
		g.armed.Store(false)
		if g.hit != nil {
			g.hit(g.s)
		}
		// A close frame with 1009 (message too big), as the library sends
		// when its own limit is reached; a write of the library's in
		// progress may interleave with it on a connection that ends here.
		reason := "message too big"
		frame := append([]byte{0x88, byte(2 + len(reason)), 0x03, 0xf1}, reason...)
		_ = g.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = g.Conn.Write(frame)
		g.Conn.Close()
		return 0, errFrameTooBig
	}
	return n, err
}

// scan follows the frames in b; false means a header announced too much.
func (g *guardConn) scan(b []byte) bool {
	for len(b) > 0 {
		if g.payload > 0 {
			k := int64(len(b))
			if k > g.payload {
				k = g.payload
			}
			g.payload -= k
			b = b[k:]
			continue
		}
		g.hdr[g.hdrLen] = b[0]
		g.hdrLen++
		b = b[1:]
		if g.hdrLen == 2 {
			if g.hdr[1]&0x80 == 0 { // not masked: not a client frame
				g.armed.Store(false)
				return true
			}
			switch g.hdr[1] & 0x7f {
			case 126:
				g.need = 2 + 2 + 4
			case 127:
				g.need = 2 + 8 + 4
			default:
				g.need = 2 + 4
			}
		}
		if g.hdrLen < g.need || g.hdrLen < 2 {
			continue
		}
		var size int64
		switch g.hdr[1] & 0x7f {
		case 126:
			size = int64(g.hdr[2])<<8 | int64(g.hdr[3])
		case 127:
			var u uint64
			for _, c := range g.hdr[2:10] {
				u = u<<8 | uint64(c)
			}
			if u > 1<<62 {
				return false
			}
			size = int64(u)
		default:
			size = int64(g.hdr[1] & 0x7f)
		}
		opcode := g.hdr[0] & 0x0f
		fin := g.hdr[0]&0x80 != 0
		g.hdrLen, g.need = 0, 2
		if opcode < 8 { // data or continuation frame: part of a message
			if opcode != 0 {
				g.msg = 0
			}
			g.msg += size
			if g.msg > g.limit {
				return false
			}
			if fin {
				g.msg = 0
			}
		}
		g.payload = size
	}
	return true
}
