package collector

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsbench/wsbench/internal/testctx"
)

func TestParseSocketPort(t *testing.T) {
	for _, tc := range []struct {
		port, network, addr, err string
	}{
		{port: "tcp://127.0.0.1:5555", network: "tcp", addr: "127.0.0.1:5555"},
		{port: "tcp://[::1]:5555/", network: "tcp", addr: "[::1]:5555"},
		{port: "unix:/tmp/q/console.sock", network: "unix", addr: "/tmp/q/console.sock"},
		{port: "unix:///tmp/q.sock", network: "unix", addr: "/tmp/q.sock"},
		{port: "tcp://localhost", err: "want tcp://host:port"},
		{port: "unix:", err: "want unix:PATH"},
		{port: "/dev/ttyUSB0", err: "not a socket"},
	} {
		n, a, err := parseSocketPort(tc.port)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.port, err, tc.err)
			}
			continue
		}
		if err != nil || n != tc.network || a != tc.addr {
			t.Errorf("%s: %s %s %v, want %s %s", tc.port, n, a, err, tc.network, tc.addr)
		}
		if !IsSocketPort(tc.port) {
			t.Errorf("IsSocketPort(%s) = false", tc.port)
		}
	}
}

// A console socket reads like a serial port: data, then (0, nil) while
// nothing arrives, and the emulator closing it is a lost port (reopened),
// never io.EOF (which would end the capture for good).
func TestSocketPortReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	closeNow := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("I (27) boot: ESP-IDF"))
		b := make([]byte, 64)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _ := c.Read(b)
		got <- string(b[:n])
		select {
		case <-closeNow:
		case <-time.After(30 * time.Second): // the test failed before it said so
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := SocketOpener("unix:" + path)(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	buf := make([]byte, 64)
	var text string
	for !strings.Contains(text, "ESP-IDF") {
		n, err := p.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		text += string(buf[:n])
	}
	if n, err := p.Read(buf); n != 0 || err != nil {
		t.Fatalf("idle read: %d, %v; want 0, nil after the read timeout", n, err)
	}
	if _, err := p.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if s := testctx.Recv(t, got, 10*time.Second, "the emulator's read"); s != "hello\n" {
		t.Fatalf("the emulator got %q", s)
	}
	close(closeNow)
	for {
		_, err := p.Read(buf)
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || !errors.Is(err, errSocketClosed) {
			t.Fatalf("read after the emulator closed the socket: %v; want a lost port, not io.EOF", err)
		}
		break
	}
}
