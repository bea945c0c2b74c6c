package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// Socket ports are a board's console on a raw byte-stream socket, as an
// emulator offers it: QEMU's "-serial tcp:HOST:PORT,server=on" or
// "-serial unix:PATH,server=on". The bytes are the UART's bytes, with no
// protocol around them (unlike rfc2217://, which is telnet).

// IsSocketPort reports whether port names a socket: tcp://host:port or
// unix:PATH.
func IsSocketPort(port string) bool {
	return strings.HasPrefix(port, "tcp://") || strings.HasPrefix(port, "unix:")
}

// parseSocketPort splits tcp://host:port or unix:PATH into a network and an
// address for net.Dial.
func parseSocketPort(port string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(port, "tcp://"):
		addr = strings.TrimSuffix(strings.TrimPrefix(port, "tcp://"), "/")
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return "", "", fmt.Errorf("port %q: want tcp://host:port: %w", port, err)
		}
		return "tcp", addr, nil
	case strings.HasPrefix(port, "unix:"):
		addr = strings.TrimPrefix(strings.TrimPrefix(port, "unix:"), "//")
		if addr == "" {
			return "", "", fmt.Errorf("port %q: want unix:PATH", port)
		}
		return "unix", addr, nil
	}
	return "", "", fmt.Errorf("port %q: not a socket (want tcp://host:port or unix:PATH)", port)
}

// SocketOpener connects to a console socket (tcp://host:port or unix:PATH).
// The connection's Read follows Port's contract: it returns (0, nil) after
// ReadTimeout without data, and the end of the stream (the emulator closed
// it or exited) is a lost port, reopened with backoff, not io.EOF: an
// emulator restarted for the next boot serves the same socket again.
func SocketOpener(port string) Opener {
	return func(ctx context.Context) (Port, error) {
		network, addr, err := parseSocketPort(port)
		if err != nil {
			return nil, err
		}
		d := net.Dialer{Timeout: 5 * time.Second}
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", port, err)
		}
		return &socketPort{c: c, name: port}, nil
	}
}

type socketPort struct {
	c    net.Conn
	name string
}

// errSocketClosed is what Read returns when the far end closed the socket.
var errSocketClosed = errors.New("the emulator closed the console socket")

func (p *socketPort) Read(b []byte) (int, error) {
	if err := p.c.SetReadDeadline(time.Now().Add(ReadTimeout)); err != nil {
		return 0, fmt.Errorf("%s: %w", p.name, err)
	}
	n, err := p.c.Read(b)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return n, nil
	case errors.Is(err, io.EOF):
		return n, fmt.Errorf("%s: %w", p.name, errSocketClosed)
	}
	return n, fmt.Errorf("%s: %w", p.name, err)
}

func (p *socketPort) Write(b []byte) (int, error) {
	if err := p.c.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return 0, fmt.Errorf("%s: %w", p.name, err)
	}
	n, err := p.c.Write(b)
	if err != nil {
		return n, fmt.Errorf("%s: %w", p.name, err)
	}
	return n, nil
}

func (p *socketPort) Close() error { return p.c.Close() }
