package rfc2217

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/wsbench/wsbench/internal/pty"
	"github.com/wsbench/wsbench/internal/ser2nettest"
	"golang.org/x/sys/unix"
)

// ptyPair opens a pseudo-terminal. ser2net opens the slave by path; the test
// keeps its own slave descriptor open so that reads on the master never see
// EIO while ser2net is down. Both stay non-blocking (internal/pty, never
// os.File.Fd), so the deadlines set on the master apply.
type ptyPair struct {
	master *os.File
	slave  *os.File
}

func openPty(t testing.TB) *ptyPair {
	t.Helper()
	// Raw mode from the start, so nothing is echoed or translated before
	// ser2net sets its own termios.
	m, s, err := pty.Open()
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() {
		m.Close()
		s.Close()
	})
	return &ptyPair{master: m, slave: s}
}

// slaveTermios reads the pty slave's termios (as ser2net set it).
func (pp *ptyPair) slaveTermios(t testing.TB) *unix.Termios {
	t.Helper()
	tio, err := pty.Termios(pp.slave)
	if err != nil {
		t.Fatal(err)
	}
	return tio
}

// slaveBaud reads the baud rate currently set on the pty slave (by ser2net).
func (pp *ptyPair) slaveBaud(t testing.TB) uint32 {
	t.Helper()
	return pp.slaveTermios(t).Ospeed
}

// writeTimeout writes b to the pty master within d.
func writeTimeout(t testing.TB, f *os.File, b []byte, d time.Duration) {
	t.Helper()
	if err := f.SetWriteDeadline(time.Now().Add(d)); err != nil {
		t.Fatalf("pty write deadline: %v", err)
	}
	defer f.SetWriteDeadline(time.Time{})
	if n, err := f.Write(b); err != nil {
		t.Fatalf("write %d bytes to pty: wrote %d: %v", len(b), n, err)
	}
}

// readFull reads n bytes from r within d (bounded), for *os.File ptys.
func readFullTimeout(t testing.TB, f *os.File, n int, d time.Duration) []byte {
	t.Helper()
	if err := f.SetReadDeadline(time.Now().Add(d)); err != nil {
		t.Fatalf("pty read deadline: %v", err)
	}
	defer f.SetReadDeadline(time.Time{})
	buf := make([]byte, n)
	got, err := io.ReadFull(f, buf)
	if err != nil {
		t.Fatalf("read %d bytes from pty: got %d: %v", n, got, err)
	}
	return buf
}

func readPortFull(t testing.TB, p *Port, n int, d time.Duration) []byte {
	t.Helper()
	if err := p.SetReadDeadline(time.Now().Add(d)); err != nil {
		t.Fatal(err)
	}
	defer p.SetReadDeadline(time.Time{})
	buf := make([]byte, n)
	got, err := io.ReadFull(p, buf)
	if err != nil {
		t.Fatalf("read %d bytes from rfc2217 port: got %d: %v", n, got, err)
	}
	return buf
}

func allBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7) // every value, 0xFF included, in a scrambled order
	}
	return b
}

func TestSer2net(t *testing.T) {
	ser2nettest.Binary(t)
	if out, err := exec.Command("ser2net", "-v").CombinedOutput(); err == nil {
		t.Logf("%s", bytes.TrimSpace(out))
	}
	pp := openPty(t)
	srv := ser2nettest.Start(t, pp.slave.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	p, err := Dial(ctx, srv.URL(""), Options{Baud: 115200, DataBits: 8, Parity: ParityNone, StopBits: StopBits1, AckTimeout: 2 * time.Second, WriteTimeout: testWriteTimeout})
	if err != nil {
		t.Fatalf("dial: %v\nser2net log:\n%s", err, srv.Log())
	}
	defer p.Close()

	t.Run("bytes_to_device_intact_including_IAC", func(t *testing.T) {
		want := allBytes(4096)
		if _, err := p.Write(want); err != nil {
			t.Fatal(err)
		}
		got := readFullTimeout(t, pp.master, len(want), 5*time.Second)
		if !bytes.Equal(got, want) {
			t.Fatalf("device received %d bytes differing from sent; first diff at %d", len(got), firstDiff(got, want))
		}
	})
	t.Run("bytes_from_device_intact_including_IAC", func(t *testing.T) {
		want := allBytes(4096)
		writeTimeout(t, pp.master, want, 5*time.Second)
		got := readPortFull(t, p, len(want), 5*time.Second)
		if !bytes.Equal(got, want) {
			t.Fatalf("client received bytes differing from sent; first diff at %d", firstDiff(got, want))
		}
	})
	t.Run("baud_change_acknowledged_and_applied", func(t *testing.T) {
		for _, baud := range []int{9600, 460800, 115200} {
			if err := p.SetBaudRate(ctx, baud); err != nil {
				t.Fatalf("set %d: %v", baud, err)
			}
			if got := pp.slaveBaud(t); got != uint32(baud) {
				t.Errorf("after SetBaudRate(%d) the pty's termios speed is %d", baud, got)
			}
		}
	})
	t.Run("frame_format_acknowledged", func(t *testing.T) {
		for _, err := range []error{p.SetDataSize(ctx, 7), p.SetParity(ctx, ParityEven), p.SetStopSize(ctx, StopBits2)} {
			if err != nil {
				t.Fatal(err)
			}
		}
		tio := pp.slaveTermios(t)
		// Linux's pty driver forces CS8 without parity on every termios
		// change (drivers/tty/pty.c, pty_set_termios), so only the stop
		// bits can be seen on a pty; ser2net acknowledges all three.
		if tio.Cflag&unix.CSTOPB == 0 {
			t.Errorf("pty cflag %#o: CSTOPB not set after SetStopSize(2)", tio.Cflag)
		}
		for _, err := range []error{p.SetDataSize(ctx, 8), p.SetParity(ctx, ParityNone), p.SetStopSize(ctx, StopBits1)} {
			if err != nil {
				t.Fatal(err)
			}
		}
		if tio = pp.slaveTermios(t); tio.Cflag&unix.CSTOPB != 0 {
			t.Errorf("pty cflag %#o: CSTOPB still set after SetStopSize(1)", tio.Cflag)
		}
	})
	t.Run("set_control_unanswered_on_pty_times_out_and_port_stays_usable", func(t *testing.T) {
		// ser2net 4.3 sends no SET-CONTROL answer when the device's
		// TIOCMSET fails, as it does on a pty: the wait must end with
		// ErrNoAck, and the connection must keep working.
		q, err := Dial(ctx, srv.URL("timeout=0.3"), Options{WriteTimeout: testWriteTimeout})
		if err != nil {
			t.Fatalf("dial (kickolduser takes the port over): %v", err)
		}
		defer q.Close()
		if err := q.SetDTRContext(ctx, true); !errors.Is(err, ErrNoAck) {
			t.Fatalf("SetDTR on a pty behind ser2net: got %v, want ErrNoAck", err)
		}
		want := []byte("still alive \xff\xff after a timed-out request")
		writeTimeout(t, pp.master, want, 5*time.Second)
		if got := readPortFull(t, q, len(want), 5*time.Second); !bytes.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("esp32_reset_sequences_with_ign_set_control", func(t *testing.T) {
		q, err := Dial(ctx, srv.URL("ign_set_control"), Options{Baud: 115200, ReleaseLines: true, WriteTimeout: testWriteTimeout})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer q.Close()
		if err := q.ResetESP32(ctx); err != nil {
			t.Fatalf("hard reset: %v", err)
		}
		if err := q.ResetESP32Bootloader(ctx); err != nil {
			t.Fatalf("bootloader reset: %v", err)
		}
		want := []byte{0xff, 0x00, 0xff, 0xff, '\r', 0, '\r', '\n'}
		if _, err := q.Write(want); err != nil {
			t.Fatal(err)
		}
		if got := readFullTimeout(t, pp.master, len(want), 5*time.Second); !bytes.Equal(got, want) {
			t.Fatalf("device got % x, want % x", got, want)
		}
	})
}

// TestSer2netKilledMidStream kills ser2net while the device streams, checks
// that the client sees a clean prefix of the stream and then a
// connection-lost error, restarts ser2net and reconnects through an Opener.
func TestSer2netKilledMidStream(t *testing.T) {
	pp := openPty(t)
	srv := ser2nettest.Start(t, pp.slave.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	open := Opener(srv.URL(""), Options{Baud: 115200, AckTimeout: 2 * time.Second, WriteTimeout: testWriteTimeout})
	rwc, err := open(ctx)
	if err != nil {
		t.Fatalf("open: %v\n%s", err, srv.Log())
	}
	p := rwc.(*Port)
	defer p.Close()

	// The device streams a known pattern until told to stop. Once ser2net
	// is gone nobody reads the slave, the pty fills and a write waits: its
	// deadline (which applies because the master is non-blocking, see
	// internal/pty) or the master's closing at cleanup ends it.
	const total = 1 << 20
	stream := allBytes(total)
	stop := make(chan struct{})
	stopWriter := sync.OnceFunc(func() { close(stop) })
	t.Cleanup(stopWriter) // on every path, a t.Fatal included
	writerDone := make(chan error, 1)
	go func() {
		for off := 0; off < total; off += 512 {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			if err := pp.master.SetWriteDeadline(time.Now().Add(2 * time.Second)); err != nil {
				writerDone <- fmt.Errorf("pty write deadline: %w", err)
				return
			}
			if _, err := pp.master.Write(stream[off : off+512]); err != nil {
				writerDone <- nil // pty full once ser2net is gone: fine
				return
			}
			time.Sleep(200 * time.Microsecond)
		}
		writerDone <- nil
	}()

	var got []byte
	buf := make([]byte, 4096)
	killed := false
	var lossErr error
	p.SetReadDeadline(time.Now().Add(20 * time.Second))
	for lossErr == nil {
		n, err := p.Read(buf)
		got = append(got, buf[:n]...)
		if !killed && len(got) >= 16<<10 {
			srv.Kill() // SIGKILL mid-stream
			killed = true
		}
		if err != nil {
			lossErr = err
		}
	}
	stopWriter()
	select {
	case err := <-writerDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		// Its write has a 2 s deadline: only a blocking master gets here.
		t.Fatal("the pty writer is still blocked 10 s after it was told to stop: the write deadline did not apply")
	}
	if !killed {
		t.Fatalf("connection ended before ser2net was killed: %v", lossErr)
	}
	if !errors.Is(lossErr, ErrConnectionLost) {
		t.Fatalf("after killing ser2net Read returned %v, want an error wrapping ErrConnectionLost", lossErr)
	}
	t.Logf("received %d bytes, then: %v", len(got), lossErr)
	if d := firstDiff(got, stream); d != len(got) {
		t.Fatalf("received stream differs from the device's at byte %d of %d", d, len(got))
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("Write after loss: got %v, want ErrConnectionLost", err)
	}

	// Reconnecting while ser2net is down fails; after the restart it works.
	if _, err := open(ctx); err == nil {
		t.Fatal("open succeeded while ser2net was down")
	}
	if err := srv.Restart(); err != nil {
		t.Fatalf("restart ser2net on port %d: %v", srv.Port(), err)
	}
	var q io.ReadWriteCloser
	for attempt := range 20 { // bounded backoff, as the collector would do
		if q, err = open(ctx); err == nil {
			break
		}
		t.Logf("reconnect attempt %d: %v", attempt+1, err)
		time.Sleep(time.Duration(50*(attempt+1)) * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("reconnect after restart: %v\n%s", err, srv.Log())
	}
	defer q.Close()
	// Stream bytes left in the pty may arrive first; look for the marker.
	marker := []byte("\xffback\xff\xffonline\xff")
	writeTimeout(t, pp.master, marker, 5*time.Second)
	qp := q.(*Port)
	qp.SetReadDeadline(time.Now().Add(10 * time.Second))
	var after []byte
	for !bytes.Contains(after, marker) {
		n, err := qp.Read(buf)
		after = append(after, buf[:n]...)
		if err != nil {
			t.Fatalf("read after reconnect (%d bytes so far): %v", len(after), err)
		}
		if len(after) > total+len(marker) {
			t.Fatal("marker not found")
		}
	}
	if _, err := q.Write(marker); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var dev []byte
	for !bytes.Contains(dev, marker) && time.Now().Before(deadline) {
		dev = append(dev, readFullTimeout(t, pp.master, 1, 10*time.Second)...)
	}
	if !bytes.Contains(dev, marker) {
		t.Fatalf("device did not receive the marker after reconnect; got %q", dev)
	}
}

// testWriteTimeout bounds the client's writes to ser2net: a ser2net that
// stops reading fails the test instead of hanging it.
const testWriteTimeout = 10 * time.Second

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
