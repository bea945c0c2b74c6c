package sim

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wsbench/wsbench/sim/heap"
	"github.com/wsbench/wsbench/wire"
)

// Faults are failures a test or a user switches on (the "fault" command
// changes them at run time).
type Faults struct {
	// LeakBytes leaks this many bytes of internal RAM per churn cycle.
	LeakBytes uint32
	// SmallStack gives the websocket task a stack too small for TLS.
	SmallStack bool
	// PSRAMFail makes every SPIRAM allocation fail.
	PSRAMFail bool
	// WDTPanic turns the task watchdog's panic on whatever the options say.
	WDTPanic bool
}

// Config configures a virtual board.
type Config struct {
	Profile   string       // profile name, see Profiles
	Variant   string       // variant name reported in Hello; derived from Options when empty
	Options   wire.Options // zero value: DefaultOptions of the profile
	Behaviour string       // wire.BehaviourFallback (default) or wire.BehaviourStrict
	Seed      uint64       // seeds every modelled variation
	Realtime  bool         // pace virtual time at wall-clock speed
	Faults    Faults
	// Trust for the board's TLS sessions: RootCAs, else the PEM file CAFile,
	// else InsecureSkipVerify when set (tests only), else the system roots.
	RootCAs            *x509.CertPool
	CAFile             string
	InsecureSkipVerify bool
	// Dial, when set, opens the sessions' TCP connections; nil dials
	// directly. A stand-in for another kind of board routes with it (QEMU's
	// user networking: the guest's 10.0.2.2 is the host's loopback). TLS
	// still verifies the name in the URL.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// EditHello, when set, edits every Hello before it is sent: a stand-in
	// for another kind of board reports itself as that board.
	EditHello func(*wire.Hello)
}

// Board is a virtual board. A Board serves one stream at a time.
type Board struct {
	cfg     Config
	prof    Profile
	opts    wire.Options
	tlsConf *tls.Config

	mu     sync.Mutex // guards faults and boots
	faults Faults
	boots  uint64
}

// New checks cfg and makes a board.
func New(cfg Config) (*Board, error) {
	prof, err := ProfileByName(cfg.Profile)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	opts, err := fillOptions(prof, cfg.Options)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	switch cfg.Behaviour {
	case "":
		cfg.Behaviour = wire.BehaviourFallback
	case wire.BehaviourFallback, wire.BehaviourStrict:
	default:
		return nil, fmt.Errorf("sim: behaviour %q: want %s or %s", cfg.Behaviour, wire.BehaviourFallback, wire.BehaviourStrict)
	}
	if cfg.Variant == "" {
		cfg.Variant = VariantName(opts)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs}
	if cfg.RootCAs == nil && cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("sim: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("sim: CA file %s: no PEM certificate found", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if tc.RootCAs == nil && cfg.InsecureSkipVerify {
		tc.InsecureSkipVerify = true
	}
	return &Board{cfg: cfg, prof: prof, opts: opts, tlsConf: tc, faults: cfg.Faults}, nil
}

// VariantName names a set of options the way wsbench's variants do.
func VariantName(o wire.Options) string {
	switch {
	case o.WSTaskStackInExtRAM && o.WSAllocInExtRAM:
		return "both-ext"
	case o.WSTaskStackInExtRAM:
		return "stack-ext"
	case o.WSAllocInExtRAM:
		return "alloc-ext"
	}
	return "int"
}

// Profile returns the board's profile.
func (b *Board) Profile() Profile { return b.prof }

// Options returns the options the board runs with (defaults filled in).
func (b *Board) Options() wire.Options { return b.opts }

// SetFaults replaces the board's faults (same as the "fault" command).
func (b *Board) SetFaults(f Faults) {
	b.mu.Lock()
	b.faults = f
	b.mu.Unlock()
}

func (b *Board) getFaults() Faults {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.faults
}

// errReboot asks Serve to boot again with a reset reason.
type rebootError struct{ reason uint8 }

func (e *rebootError) Error() string { return "reboot: " + wire.ResetReasonName(e.reason) }

// Serve boots the board and speaks the wire protocol on rw until ctx ends
// or reading rw fails. Console text and frames go to rw; line commands come
// from it. When Serve returns because ctx ended, a write to rw may still be
// blocked in a background goroutine until the caller closes rw.
func (b *Board) Serve(ctx context.Context, rw io.ReadWriter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := newOutput(ctx, rw)
	defer out.close() // every writer has finished when Serve returns
	lines := make(chan string, 16)
	readErr := make(chan error, 1)
	go readLines(ctx, rw, lines, readErr)
	reason := uint8(resetPowerOn)
	for {
		b.mu.Lock()
		b.boots++
		boot := b.boots
		b.mu.Unlock()
		m, err := newMachine(b, out, boot, reason)
		if err != nil {
			return err
		}
		err = m.loop(ctx, lines, readErr)
		var rb *rebootError
		if errors.As(err, &rb) {
			reason = rb.reason
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
}

// readLines splits rw's input into lines (at most 1024 bytes are kept of an
// over-long line; the parser rejects it).
func readLines(ctx context.Context, r io.Reader, lines chan<- string, errc chan<- error) {
	defer close(lines)
	buf := make([]byte, 512)
	var line []byte
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			if c == '\n' {
				select {
				case lines <- string(line):
				case <-ctx.Done():
					return
				}
				line = line[:0]
				continue
			}
			if len(line) < 1024 {
				line = append(line, c)
			}
		}
		if err != nil {
			errc <- err
			return
		}
	}
}

// output serialises console text and frames onto the stream. Writes go
// through a queue to one writer goroutine, so that a cancelled board never
// blocks on a stream nobody reads.
type output struct {
	ctx    context.Context
	q      chan []byte
	failed chan struct{}
	err    error
	once   sync.Once
}

func newOutput(ctx context.Context, w io.Writer) *output {
	o := &output{ctx: ctx, q: make(chan []byte, 256), failed: make(chan struct{})}
	go func() {
		for p := range o.q {
			if _, err := w.Write(p); err != nil {
				o.once.Do(func() { o.err = err; close(o.failed) })
				return
			}
		}
	}()
	return o
}

// close ends the writer goroutine once the queue is drained.
func (o *output) close() { close(o.q) }

// write queues p; it blocks while the queue is full (backpressure) and
// returns an error once the stream failed or ctx ended. With drop set it
// never blocks and reports whether p was queued.
func (o *output) write(p []byte, drop bool) (bool, error) {
	c := append([]byte(nil), p...)
	if drop {
		select {
		case o.q <- c:
			return true, nil
		default:
			return false, nil
		}
	}
	select {
	case o.q <- c:
		return true, nil
	case <-o.failed:
		return false, fmt.Errorf("write console: %w", o.err)
	case <-o.ctx.Done():
		return false, o.ctx.Err()
	}
}

// machine is the state of one boot.
type machine struct {
	b      *Board
	out    *output
	boot   uint64
	reason uint8

	mu    sync.Mutex // guards everything below; released during network I/O and realtime sleeps
	heaps *heap.Heaps
	rng   *rand.Rand
	now   int64 // µs since boot (esp_timer_get_time)
	seq   uint32
	run   *runState
	wsHWM int32 // -1 when no websocket task runs
	open  int   // TLS sessions open
	// hwCrypto: the AES/SHA accelerator drivers have taken their state
	// (hwCryptoFirstUse) at the first handshake since boot.
	hwCrypto bool
}

func newMachine(b *Board, out *output, boot uint64, reason uint8) (*machine, error) {
	m := &machine{b: b, out: out, boot: boot, reason: reason, wsHWM: -1,
		rng: newRand(b.cfg.Seed, boot)}
	if err := m.bootSequence(); err != nil {
		return nil, err
	}
	return m, nil
}

// logf prints an ESP-IDF style log line: "L (ms) tag: text".
func (m *machine) logf(level byte, tag, format string, args ...any) {
	line := fmt.Sprintf("%c (%d) %s: %s\r\n", level, m.now/1000, tag, fmt.Sprintf(format, args...))
	m.raw(line)
}

// raw prints console text as is.
func (m *machine) raw(s string) {
	_, _ = m.out.write([]byte(s), false)
}

// send writes one framed message; with drop (samples in realtime mode) it
// reports false when the output queue is full instead of waiting.
func (m *machine) send(msg wire.Message, drop bool) bool {
	fr, err := wire.AppendMessage(nil, msg)
	if err != nil {
		m.logf('E', "wsbench", "encode %s: %v", msg.FrameType(), err)
		return false
	}
	ok, _ := m.out.write(fr, drop)
	return ok
}

func (m *machine) hello() *wire.Hello {
	o := m.b.opts
	if f := m.b.getFaults(); f.WDTPanic {
		o.TaskWDTPanic = true
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%+v", m.b.prof.Name, m.b.cfg.Variant, m.b.cfg.Behaviour, o)))
	comp := "sim:pr980"
	if m.b.cfg.Behaviour == wire.BehaviourStrict {
		comp = "sim:pr1117"
	}
	var psram uint32
	if m.b.prof.PSRAMSize > 0 && o.SPIRAMUse != heap.SPIRAMUseNone {
		psram = m.b.prof.PSRAMSize
	}
	h := &wire.Hello{
		Protocol: wire.ProtocolVersion, Board: m.b.prof.Name, Virtual: true, Chip: m.b.prof.Chip,
		ChipRevision: m.b.prof.ChipRev, Cores: m.b.prof.Cores, FlashSize: m.b.prof.FlashSize, PSRAMSize: psram,
		InternalTotal: m.heaps.TotalSize(heap.CapInternal), SPIRAMTotal: m.heaps.TotalSize(heap.CapSPIRAM),
		IDFVersion: idfVersion, AppName: "wsbench", AppVersion: "sim", ELFSHA256: hex.EncodeToString(sum[:8]),
		Component: "espressif/esp_websocket_client", ComponentVersion: comp, Behaviour: m.b.cfg.Behaviour,
		Variant: m.b.cfg.Variant, Options: o, SamplerStack: samplerStack, SamplerBuffers: samplerBuffers,
		ResetReason: m.reason,
	}
	if m.b.cfg.EditHello != nil {
		m.b.cfg.EditHello(h)
	}
	return h
}

const idfVersion = "v5.3.1"

// loop handles commands until a reboot, ctx's end or a read error.
func (m *machine) loop(ctx context.Context, lines <-chan string, readErr <-chan error) error {
	runDone := make(chan error, 1)
	var cur struct{ cancel context.CancelCauseFunc }
	waitRun := func(cause error) error {
		if cur.cancel == nil {
			return nil
		}
		cur.cancel(cause)
		err := <-runDone
		cur.cancel = nil
		return err
	}
	defer func() { _ = waitRun(context.Canceled) }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-runDone:
			cur.cancel = nil
			var rb *rebootError
			if errors.As(err, &rb) {
				return err
			}
		case line, ok := <-lines:
			if !ok {
				return fmt.Errorf("sim: read commands: %w", <-readErr)
			}
			line = strings.TrimRight(line, "\r")
			if strings.TrimSpace(line) == "" {
				continue
			}
			cmd, err := wire.ParseCommand(line)
			if err != nil {
				name := cmd.Name
				m.reply(name, fmt.Errorf("parse command: %w", err))
				continue
			}
			switch cmd.Name {
			case wire.CmdHello:
				m.reply(cmd.Name, nil)
				m.mu.Lock()
				m.send(m.hello(), false)
				m.mu.Unlock()
			case wire.CmdRun:
				p, err := wire.ParseRunParams(cmd)
				if err == nil && cur.cancel != nil {
					err = errors.New("run: a run is already in progress (send stop first)")
				}
				if err == nil {
					err = m.checkRun(p)
				}
				m.reply(cmd.Name, err)
				if err != nil {
					continue
				}
				rctx, cancel := context.WithCancelCause(ctx)
				cur.cancel = cancel
				go func() { runDone <- m.execute(rctx, p) }()
			case wire.CmdStop:
				if cur.cancel == nil {
					m.reply(cmd.Name, errors.New("stop: no run in progress"))
					continue
				}
				m.reply(cmd.Name, nil)
				if err := waitRun(errStopped); err != nil {
					var rb *rebootError
					if errors.As(err, &rb) {
						return err
					}
				}
			case wire.CmdReset:
				m.reply(cmd.Name, nil)
				_ = waitRun(errReset)
				m.mu.Lock()
				m.logf('I', "wsbench", "restarting on request")
				m.mu.Unlock()
				return &rebootError{resetSW}
			case wire.CmdOwners:
				m.reply(cmd.Name, nil)
				m.mu.Lock()
				m.sendOwners(m.seq)
				m.mu.Unlock()
			case wire.CmdWiFi:
				// The virtual board has no Wi-Fi; credentials are ignored, never echoed.
				m.reply(cmd.Name, nil)
			case wire.CmdFault:
				m.reply(cmd.Name, m.applyFault(cmd))
			default:
				m.reply(cmd.Name, fmt.Errorf("unknown command %q", cmd.Name))
			}
		}
	}
}

var (
	errStopped = errors.New("stopped by command")
	errReset   = errors.New("reset by command")
)

func (m *machine) reply(name string, err error) {
	r := &wire.Reply{Cmd: name, OK: err == nil}
	if err != nil {
		r.Err = err.Error()
	}
	m.send(r, false)
}

func (m *machine) applyFault(c wire.Command) error {
	f := m.b.getFaults()
	if len(c.Args) == 0 {
		return errors.New("fault: want leak=BYTES, small_stack=0|1, psram_fail=0|1 or wdt_panic=0|1")
	}
	for _, a := range c.Args {
		switch a.Key {
		case "leak":
			v, err := strconv.ParseUint(a.Value, 10, 32)
			if err != nil {
				return fmt.Errorf("fault: leak=%q: want bytes per cycle", a.Value)
			}
			f.LeakBytes = uint32(v)
		case "small_stack", "psram_fail", "wdt_panic":
			on, err := strconv.ParseBool(a.Value)
			if err != nil {
				return fmt.Errorf("fault: %s=%q: want 0 or 1", a.Key, a.Value)
			}
			switch a.Key {
			case "small_stack":
				f.SmallStack = on
			case "psram_fail":
				f.PSRAMFail = on
			default:
				f.WDTPanic = on
			}
		default:
			return fmt.Errorf("fault: unknown fault %q (want leak, small_stack, psram_fail, wdt_panic)", a.Key)
		}
	}
	m.b.SetFaults(f)
	m.mu.Lock()
	m.heaps.FailSPIRAM = f.PSRAMFail
	m.logf('W', "wsbench", "faults: leak=%d small_stack=%v psram_fail=%v wdt_panic=%v", f.LeakBytes, f.SmallStack, f.PSRAMFail, f.WDTPanic)
	m.mu.Unlock()
	return nil
}

// sendOwners sends the Owners table, split into frames of at most
// ownersPerFrame entries (a frame carries at most wire.MaxPayload bytes); all
// frames of one table share Seq and Phase.
func (m *machine) sendOwners(seq uint32) {
	phase := wire.PhaseIdle
	if m.run != nil {
		phase = m.run.phase
	}
	var entries []wire.OwnerUse
	for _, u := range m.heaps.Owners() {
		k := wire.HeapInternal
		if u.SPIRAM {
			k = wire.HeapSPIRAM
		}
		entries = append(entries, wire.OwnerUse{Label: u.Label, Heap: k, Bytes: u.Bytes, Blocks: u.Blocks})
	}
	for len(entries) > 0 {
		n := min(len(entries), ownersPerFrame)
		m.send(&wire.Owners{Seq: seq, Phase: phase, Entries: entries[:n]}, false)
		entries = entries[n:]
	}
}

const ownersPerFrame = 80

// realtimeSleep waits d of wall time with m.mu released.
func (m *machine) realtimeSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	m.mu.Unlock()
	defer m.mu.Lock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func newRand(a, b uint64) *rand.Rand { return rand.New(rand.NewPCG(a, b)) }
