package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config is one emulated board.
type Config struct {
	// Binary is the qemu-system-xtensa to run (Find).
	Binary string
	// Target is the machine: esp32s3 or esp32.
	Target string
	// PSRAM is the emulated PSRAM in bytes (whole MiB); 0 leaves the
	// machine's default.
	PSRAM int64
	// Flash is the full flash image (bootloader, partition table and app at
	// their offsets, filled to the flash size). QEMU writes to it (NVS, for
	// one), so every instance needs a copy of its own.
	Flash string
	// Socket is the path of the Unix socket QEMU serves UART0 on. QEMU waits
	// for the first connection before it starts the guest, so a capture that
	// connects first sees the boot from its first byte.
	Socket string
	// Network adds the open_eth NIC on QEMU's user networking.
	Network bool
	// Extra arguments, appended last.
	Extra []string
	// Output receives QEMU's own messages (not the guest's console).
	Output io.Writer
}

// Args returns QEMU's arguments for c (without the program name). They follow
// what ESP-IDF's `idf.py qemu` passes (tools/idf_py_actions/qemu_ext.py:
// the machine, the flash image as an MTD drive, the timer group watchdog
// disabled, open_eth on user networking), with the console on a socket.
func (c Config) Args() ([]string, error) {
	if _, _, err := Program(c.Target); err != nil {
		return nil, err
	}
	if c.Flash == "" || c.Socket == "" {
		return nil, errors.New("qemu: a flash image and a console socket are required")
	}
	if c.PSRAM < 0 || c.PSRAM%(1<<20) != 0 {
		return nil, fmt.Errorf("qemu: PSRAM %d bytes: want whole MiB", c.PSRAM)
	}
	args := []string{"-M", c.Target}
	if c.PSRAM > 0 {
		args = append(args, "-m", fmt.Sprintf("%dM", c.PSRAM>>20))
	}
	args = append(args,
		"-display", "none", "-monitor", "none",
		"-drive", "file="+escapeOpt(c.Flash)+",if=mtd,format=raw",
		// As idf.py qemu: the emulated timer-group watchdog would reset a
		// guest that emulation makes slow.
		"-global", "driver=timer."+c.Target+".timg,property=wdt_disable,value=true",
	)
	if c.Network {
		args = append(args, "-nic", "user,model=open_eth")
	} else {
		args = append(args, "-nic", "none")
	}
	args = append(args, "-serial", "unix:"+escapeOpt(c.Socket)+",server=on,wait=on")
	return append(args, c.Extra...), nil
}

// escapeOpt doubles commas, QEMU's escape inside an option value.
func escapeOpt(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// Instance is a running QEMU.
type Instance struct {
	cmd  *exec.Cmd
	tail *tail
	done chan struct{}
	err  error // Wait's result, set before done closes

	stopOnce sync.Once
	stopErr  error
}

// Port is the console's address for collector.SocketOpener.
func (c Config) Port() string { return "unix:" + c.Socket }

// StartTimeout bounds how long Start waits for QEMU to listen on its socket.
const StartTimeout = 30 * time.Second

// Start runs QEMU and returns once it listens on the console socket (the
// guest waits for the first connection). When QEMU exits first, the error
// carries the end of its output.
func Start(ctx context.Context, c Config) (*Instance, error) {
	args, err := c.Args()
	if err != nil {
		return nil, err
	}
	if c.Binary == "" {
		return nil, errors.New("qemu: no binary (see Find)")
	}
	if _, err := os.Stat(c.Flash); err != nil {
		return nil, fmt.Errorf("qemu: flash image: %w", err)
	}
	_ = os.Remove(c.Socket) // a stale socket would look like a listening QEMU
	t := &tail{max: 8 << 10}
	var out io.Writer = t
	if c.Output != nil {
		out = io.MultiWriter(t, c.Output)
	}
	cmd := exec.Command(c.Binary, args...)
	cmd.Stdout, cmd.Stderr = out, out
	// Wait also waits for the copying of QEMU's output; a helper QEMU left
	// behind holding the pipe must not keep Stop waiting for ever.
	cmd.WaitDelay = 5 * time.Second
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("qemu: start %s: %w", c.Binary, err)
	}
	in := &Instance{cmd: cmd, tail: t, done: make(chan struct{})}
	go func() {
		in.err = cmd.Wait()
		close(in.done)
	}()
	deadline := time.NewTimer(StartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if st, err := os.Stat(c.Socket); err == nil && st.Mode()&os.ModeSocket != 0 {
			return in, nil
		}
		select {
		case <-in.done:
			return nil, fmt.Errorf("qemu: %s exited before it listened on %s (%v)%s", c.Binary, c.Socket, in.err, in.tail.section())
		case <-ctx.Done():
			in.Stop()
			return nil, fmt.Errorf("qemu: start: %w", ctx.Err())
		case <-deadline.C:
			in.Stop()
			return nil, fmt.Errorf("qemu: %s did not listen on %s within %s%s", c.Binary, c.Socket, StartTimeout, in.tail.section())
		case <-tick.C:
		}
	}
}

// Exited is closed when QEMU has exited.
func (in *Instance) Exited() <-chan struct{} { return in.done }

// Output is the end of QEMU's own output.
func (in *Instance) Output() string { return in.tail.String() }

// Stop ends QEMU (SIGTERM to its process group, SIGKILL after 5 s) and
// waits for it. It returns an error only when QEMU had already failed on
// its own.
func (in *Instance) Stop() error {
	in.stopOnce.Do(func() {
		select {
		case <-in.done:
			if in.err != nil {
				in.stopErr = fmt.Errorf("qemu exited on its own: %v%s", in.err, in.tail.section())
			}
			return
		default:
		}
		terminate(in.cmd)
		t := time.NewTimer(5 * time.Second)
		defer t.Stop()
		select {
		case <-in.done:
		case <-t.C:
			kill(in.cmd)
			<-in.done
		}
	})
	return in.stopErr
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = slices.Clone(t.b[len(t.b)-t.max:])
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// section renders the tail for an error message, "" when QEMU said nothing.
func (t *tail) section() string {
	s := strings.TrimSpace(t.String())
	if s == "" {
		return ""
	}
	return "\n--- last lines of QEMU output ---\n" + strings.ToValidUTF8(s, "?")
}
