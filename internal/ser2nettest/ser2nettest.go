// Package ser2nettest runs a real ser2net (Debian package ser2net, 4.x)
// exporting a device over RFC 2217 on loopback, for tests of the rfc2217
// client and of captures through a lab host. It is for tests only.
package ser2nettest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary finds ser2net or skips the test; under CI=true a missing
// ser2net is a failure, because .ci/run installs it.
func Binary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"ser2net", "/usr/sbin/ser2net"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("ser2net not installed (CI=true): install the Debian package ser2net")
	}
	t.Skip("ser2net not installed: apt-get install ser2net to run the RFC 2217 end-to-end tests")
	return ""
}

// Server runs one ser2net process exporting a pty over RFC 2217 on a
// loopback port. Every wait on it is bounded, and the test's cleanup kills
// it whatever path the test took; with Pdeathsig it also dies with the test
// binary (a test timeout's panic).
type Server struct {
	t    testing.TB
	bin  string
	dev  string
	port int
	cfg  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has been reaped
	out    *syncBuffer
}

// syncBuffer is ser2net's output: written by os/exec's copying goroutine
// while the test may read it for an error message.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func Start(t testing.TB, dev string) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t), dev: dev}
	s.cfg = filepath.Join(t.TempDir(), "ser2net.yaml")
	t.Cleanup(s.Kill)
	// A free port can be taken by someone else between our probe and
	// ser2net's bind: try a few.
	var lastErr error
	for range 5 {
		s.port = freePort(t)
		if lastErr = s.Restart(); lastErr == nil {
			return s
		}
		s.Kill()
	}
	t.Fatalf("ser2net did not start: %v", lastErr)
	return nil
}

func (s *Server) URL(options string) string {
	u := fmt.Sprintf("rfc2217://127.0.0.1:%d", s.port)
	if options != "" {
		u += "?" + options
	}
	return u
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("probe free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Config is the ser2net 4.x YAML for one RFC 2217 connection: telnet
// with RFC 2217 over TCP on loopback, to a serial device with 8N1, local
// (modem control lines ignored, which a pty does not have anyway).
func Config(port int, dev string) string {
	return fmt.Sprintf(`%%YAML 1.1
---
connection: &wsbench
  accepter: telnet(rfc2217),tcp,127.0.0.1,%d
  enable: on
  options:
    kickolduser: true
  connector: serialdev,%s,115200n81,local
`, port, dev)
}

// Restart starts ser2net (again) on the same port and device and waits,
// at most 10 s, until it listens.
func (s *Server) Restart() error {
	if err := os.WriteFile(s.cfg, []byte(Config(s.port, s.dev)), 0o644); err != nil {
		return err
	}
	out := &syncBuffer{}
	// -d: foreground, log to stdout; -u: no UUCP lock files.
	cmd := exec.Command(s.bin, "-d", "-u", "-c", s.cfg)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 2 * time.Second // Wait does not hang on an inherited output pipe
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { // reaps the process; Kill waits on exited
		waitErr = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited, s.out = cmd, exited, out
	s.mu.Unlock()
	// Wait for the listening socket without connecting, since a probe
	// connection would open the serial device.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			s.mu.Lock()
			s.cmd, s.exited = nil, nil
			s.mu.Unlock()
			return fmt.Errorf("ser2net exited (%v): %s", waitErr, out.String())
		default:
		}
		if listening(s.port) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Kill()
	return fmt.Errorf("ser2net not listening on port %d after 10s: %s", s.port, out.String())
}

// listening reports whether a TCP socket listens on 127.0.0.1:port, from
// /proc/net/tcp (state 0A is LISTEN).
func listening(port int) bool {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return false
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 3 && strings.HasSuffix(fields[1], want) && fields[3] == "0A" {
			return true
		}
	}
	return false
}

// Kill kills ser2net (SIGKILL: the abrupt loss the client must survive)
// and waits until it has been reaped, so that a restart can bind the port.
// The wait is bounded: a process that outlives it fails the test.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd, s.exited = nil, nil
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	cmd.Process.Kill()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		s.t.Errorf("ser2net (pid %d) not reaped 30 s after SIGKILL", cmd.Process.Pid)
	}
}

func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		return ""
	}
	return s.out.String()
}

// Port is the TCP port ser2net listens on.
func (s *Server) Port() int { return s.port }
