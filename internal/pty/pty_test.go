package pty

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func open(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, s, err := Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// fill writes to w until a write fails and returns that error; the caller
// bounds how long it waits for it.
func fill(w *os.File, deadline time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 512)
		for {
			if deadline > 0 {
				if err := w.SetWriteDeadline(time.Now().Add(deadline)); err != nil {
					done <- err
					return
				}
			}
			if _, err := w.Write(buf); err != nil {
				done <- err
				return
			}
		}
	}()
	return done
}

// A master whose slave nobody reads fills up; its write must then end at
// the deadline, or when the master is closed. With creack/pty v1.1.24
// (whose Open calls Fd) neither happened: issue 10.
func TestFullMasterWriteEnds(t *testing.T) {
	tests := []struct {
		name     string
		deadline time.Duration
		close    bool
		want     error
	}{
		{name: "write_deadline_applies", deadline: 100 * time.Millisecond, want: os.ErrDeadlineExceeded},
		{name: "close_unblocks_write", close: true, want: os.ErrClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := open(t)
			done := fill(m, tc.deadline)
			if tc.close {
				// Let the pty fill so the write is blocked, then close.
				select {
				case err := <-done:
					t.Fatalf("write without deadline failed before close: %v", err)
				case <-time.After(300 * time.Millisecond):
				}
				m.Close()
			}
			select {
			case err := <-done:
				if !errors.Is(err, tc.want) {
					t.Fatalf("write ended with %v, want %v", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("write to a full pty master still blocked after 10 s: the descriptor is in blocking mode")
			}
		})
	}
}

// The slave is raw: every byte value passes unchanged both ways (no echo,
// no CR/NL translation, no signal characters), and reads from it honour
// deadlines too.
func TestRawBothWays(t *testing.T) {
	m, s := open(t)
	payload := make([]byte, 256)
	for i := range payload {
		payload[i] = byte(i)
	}
	for _, dir := range []struct {
		name string
		w, r *os.File
	}{{"master_to_slave", m, s}, {"slave_to_master", s, m}} {
		t.Run(dir.name, func(t *testing.T) {
			dir.w.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := dir.w.Write(payload); err != nil {
				t.Fatal(err)
			}
			dir.r.SetReadDeadline(time.Now().Add(5 * time.Second))
			got := make([]byte, len(payload))
			if _, err := io.ReadFull(dir.r, got); err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("got % x, want % x", got, payload)
			}
		})
	}
	// Nothing was echoed back to the writer.
	m.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := m.Read(make([]byte, 16)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("master read %d bytes (%v): echo is on", n, err)
	}
}

func TestTermiosAndMakeRaw(t *testing.T) {
	_, s := open(t)
	tio, err := Termios(s)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&(unix.ECHO|unix.ICANON) != 0 || tio.Cflag&unix.CSIZE != unix.CS8 {
		t.Fatalf("slave not raw after Open: lflag %#o cflag %#o", tio.Lflag, tio.Cflag)
	}
	// Cooked again, then raw again.
	if err := Control(s, func(fd int) error {
		tio.Lflag |= unix.ECHO | unix.ICANON
		return unix.IoctlSetTermios(fd, unix.TCSETS, tio)
	}); err != nil {
		t.Fatal(err)
	}
	if err := MakeRaw(s); err != nil {
		t.Fatal(err)
	}
	if tio, err = Termios(s); err != nil || tio.Lflag&(unix.ECHO|unix.ICANON) != 0 {
		t.Fatalf("after MakeRaw: lflag %#o, %v", tio.Lflag, err)
	}
	f, err := os.CreateTemp(t.TempDir(), "not-a-tty")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Termios(f); !errors.Is(err, unix.ENOTTY) {
		t.Errorf("Termios of a regular file: %v, want ENOTTY", err)
	}
}
