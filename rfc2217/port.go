package rfc2217

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Errors that callers tell apart with errors.Is.
var (
	// ErrConnectionLost: the TCP connection ended (reset, closed by the
	// server, keepalive or write timeout) while the port was open. Reconnect.
	ErrConnectionLost = errors.New("connection lost")
	// ErrNotSupported: the server refused the COM-PORT-OPTION, so it is a
	// plain telnet or TCP server that cannot set baud rate or control lines.
	ErrNotSupported = errors.New("server refused RFC 2217 COM-PORT-OPTION")
	// ErrNoAck: the server did not answer a request in time.
	ErrNoAck = errors.New("no answer from server")
	// ErrRejected: the server answered with a value other than the one asked.
	ErrRejected = errors.New("server applied a different value")
)

// Parity values as RFC 2217 encodes them in SET-PARITY.
type Parity byte

// Parity settings.
const (
	ParityNone  Parity = 1
	ParityOdd   Parity = 2
	ParityEven  Parity = 3
	ParityMark  Parity = 4
	ParitySpace Parity = 5
)

// StopBits values as RFC 2217 encodes them in SET-STOPSIZE.
type StopBits byte

// Stop bit settings.
const (
	StopBits1     StopBits = 1
	StopBits2     StopBits = 2
	StopBits1Half StopBits = 3
)

// Purge selects the server buffers PURGE-DATA discards.
type Purge byte

// Purge targets.
const (
	PurgeReceive  Purge = 1 // data the server received from the device, not yet sent to us
	PurgeTransmit Purge = 2 // data from us the server has not yet written to the device
	PurgeBoth     Purge = 3
)

// Options configure a port at Dial time. A zero field leaves the server's
// current setting alone.
type Options struct {
	Baud     int      // bits per second, e.g. 115200
	DataBits int      // 5..8
	Parity   Parity   // ParityNone...
	StopBits StopBits // StopBits1...

	// AckTimeout bounds each wait for a server answer (option negotiation,
	// settings, control lines). Zero: the URL's timeout= option, else 3 s
	// (pyserial's default).
	AckTimeout time.Duration
	// IgnoreSetControlAck sends SET-CONTROL (DTR, RTS, BREAK) without
	// waiting for the answer, as the URL option ign_set_control does; either
	// one enables it.
	IgnoreSetControlAck bool
	// WriteTimeout bounds each write to the socket; a write that times out
	// counts as a lost connection. Zero: no bound.
	WriteTimeout time.Duration
	// ReadTimeout is the initial SetReadTimeout: each Read returns (0, nil)
	// after this long without data. Zero: Read blocks until data or loss.
	ReadTimeout time.Duration
	// ReleaseLines de-asserts RTS then DTR after the settings (see
	// Port.ReleaseLines), so that an ESP32 board runs. Leave it off for
	// reconnects to esptool's RFC 2217 server, where it resets the chip.
	ReleaseLines bool
	// MaxBuffered caps serial bytes received but not yet Read (default
	// 1 MiB); when full the port stops reading the socket and TCP flow
	// control holds the server back.
	MaxBuffered int
}

const (
	defaultAckTimeout  = 3 * time.Second
	defaultMaxBuffered = 1 << 20
	clientSignature    = "wsbench rfc2217"
)

type optState uint8

const (
	optNo optState = iota
	optWantYes
	optYes
)

// Port is an open RFC 2217 connection to a remote serial port. Read, Write
// and the Set methods may be called from different goroutines; Read itself is
// meant for one reader at a time.
type Port struct {
	addr       string
	conn       net.Conn
	ackTimeout time.Duration
	ignoreCtl  bool
	wtimeout   time.Duration
	maxBuf     int

	ctl sync.Mutex // one acknowledged request at a time
	wmu sync.Mutex // keeps each write to conn whole

	replies    chan []byte   // answers to the server's negotiation, sent by writeLoop
	done       chan struct{} // closed when the connection ends
	doneOnce   sync.Once
	readerDone chan struct{}
	writerDone chan struct{}

	dec decoder // readLoop only

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced when the state below changes
	buf          []byte
	off          int
	spaceWanted  bool // readLoop waits for Read to make room
	err          error
	closed       bool
	us, him      [256]optState
	acks         map[byte]chan []byte
	lineState    byte
	modemState   byte
	haveModem    bool
	suspended    bool
	readTimeout  time.Duration
	readDeadline time.Time
}

// Dial connects to rawURL (see [ParseURL]), negotiates the telnet options
// (BINARY both ways, SUPPRESS-GO-AHEAD, COM-PORT-OPTION) and applies the
// non-zero settings in opts, waiting for each acknowledgement. ctx bounds the
// connection set-up only; the returned port lives until Close or loss. TCP
// keepalive (5 s idle, 3 probes 5 s apart) turns a silently dead peer into
// ErrConnectionLost after about 20 s.
func Dial(ctx context.Context, rawURL string, opts Options) (*Port, error) {
	t, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{KeepAliveConfig: net.KeepAliveConfig{
		Enable: true, Idle: 5 * time.Second, Interval: 5 * time.Second, Count: 3,
	}}
	conn, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return nil, fmt.Errorf("rfc2217 dial %s: %w", t.Addr, err)
	}
	p := newPort(conn, t, opts)
	if err := p.setup(ctx, opts); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Opener returns a function that dials rawURL with opts each time it is
// called, for callers that reopen a port after it was lost.
func Opener(rawURL string, opts Options) func(context.Context) (io.ReadWriteCloser, error) {
	return func(ctx context.Context) (io.ReadWriteCloser, error) {
		p, err := Dial(ctx, rawURL, opts)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}

func newPort(conn net.Conn, t Target, opts Options) *Port {
	p := &Port{
		addr:        t.Addr,
		conn:        conn,
		ackTimeout:  opts.AckTimeout,
		ignoreCtl:   opts.IgnoreSetControlAck || t.IgnoreSetControlAck,
		wtimeout:    opts.WriteTimeout,
		maxBuf:      opts.MaxBuffered,
		readTimeout: opts.ReadTimeout,
		replies:     make(chan []byte, 64),
		done:        make(chan struct{}),
		readerDone:  make(chan struct{}),
		writerDone:  make(chan struct{}),
		changed:     make(chan struct{}),
		acks:        make(map[byte]chan []byte),
	}
	if p.ackTimeout <= 0 {
		p.ackTimeout = t.Timeout
	}
	if p.ackTimeout <= 0 {
		p.ackTimeout = defaultAckTimeout
	}
	if p.maxBuf <= 0 {
		p.maxBuf = defaultMaxBuffered
	}
	p.us[optBinary], p.him[optBinary] = optWantYes, optWantYes
	p.us[optSGA], p.him[optSGA] = optWantYes, optWantYes
	p.us[optComPort] = optWantYes
	go p.readLoop()
	go p.writeLoop()
	return p
}

func (p *Port) setup(ctx context.Context, opts Options) error {
	// The option states were set to WantYes before the reader started
	// (newPort), so a server that opens with its own DO/WILL (ser2net does)
	// is taken as agreeing, not answered twice. Ask for BINARY first: the
	// server answers in order, so by the time the COM-PORT-OPTION answer
	// arrives the BINARY answers (if any) have too.
	var req []byte
	req = append(req, negotiation(cmdWILL, optBinary)...)
	req = append(req, negotiation(cmdDO, optBinary)...)
	req = append(req, negotiation(cmdWILL, optSGA)...)
	req = append(req, negotiation(cmdDO, optSGA)...)
	req = append(req, negotiation(cmdWILL, optComPort)...)
	if err := p.writeWire(req); err != nil {
		return fmt.Errorf("rfc2217 %s: negotiation: %w", p.addr, err)
	}
	err := p.waitFor(ctx, p.ackTimeout, func() bool { return p.us[optComPort] != optWantYes })
	if err != nil {
		return fmt.Errorf("rfc2217 %s: negotiating COM-PORT-OPTION: %w", p.addr, err)
	}
	p.mu.Lock()
	ok := p.us[optComPort] == optYes
	p.mu.Unlock()
	if !ok {
		return fmt.Errorf("rfc2217 %s: %w", p.addr, ErrNotSupported)
	}
	if opts.Baud != 0 {
		if err := p.SetBaudRate(ctx, opts.Baud); err != nil {
			return err
		}
	}
	if opts.DataBits != 0 {
		if err := p.SetDataSize(ctx, opts.DataBits); err != nil {
			return err
		}
	}
	if opts.Parity != 0 {
		if err := p.SetParity(ctx, opts.Parity); err != nil {
			return err
		}
	}
	if opts.StopBits != 0 {
		if err := p.SetStopSize(ctx, opts.StopBits); err != nil {
			return err
		}
	}
	if opts.ReleaseLines {
		if err := p.ReleaseLines(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Addr is the server's host:port.
func (p *Port) Addr() string { return p.addr }

// broadcast wakes everything waiting on p.changed. Callers hold p.mu.
func (p *Port) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// waitFor waits until cond (called with p.mu held) is true, the connection
// ends, ctx ends or timeout passes.
func (p *Port) waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		p.mu.Lock()
		if cond() {
			p.mu.Unlock()
			return nil
		}
		if p.err != nil {
			err := p.err
			p.mu.Unlock()
			return err
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return fmt.Errorf("%w within %v", ErrNoAck, timeout)
		}
	}
}

// fail records why the connection ended (first cause wins), wakes all
// waiters and closes the socket.
func (p *Port) fail(cause error) error {
	p.mu.Lock()
	if p.err == nil {
		switch {
		case cause == nil:
			p.err = fmt.Errorf("rfc2217 %s: %w", p.addr, ErrConnectionLost)
		case errors.Is(cause, io.EOF):
			p.err = fmt.Errorf("rfc2217 %s: %w: server closed the connection", p.addr, ErrConnectionLost)
		default:
			p.err = fmt.Errorf("rfc2217 %s: %w: %w", p.addr, ErrConnectionLost, cause)
		}
		p.broadcast()
	}
	err := p.err
	p.mu.Unlock()
	p.doneOnce.Do(func() {
		close(p.done)
		p.conn.Close()
	})
	return err
}

// Close closes the connection. Blocked and later Reads and Writes return an
// error wrapping net.ErrClosed.
func (p *Port) Close() error {
	p.mu.Lock()
	p.closed = true
	// Closed wins over an earlier loss: the caller asked for it.
	p.err = fmt.Errorf("rfc2217 %s: %w", p.addr, net.ErrClosed)
	p.broadcast()
	p.mu.Unlock()
	p.fail(nil)
	<-p.readerDone
	<-p.writerDone
	return nil
}

func (p *Port) readLoop() {
	defer close(p.readerDone)
	raw := make([]byte, 32<<10)
	var data []byte
	for {
		n, err := p.conn.Read(raw)
		if n > 0 {
			data = p.dec.decode(data[:0], raw[:n], p.handle)
			if len(data) > 0 && !p.deliver(data) {
				return
			}
		}
		if err != nil {
			p.fail(err)
			return
		}
	}
}

// deliver appends serial data to the receive buffer, waiting for room.
func (p *Port) deliver(data []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf)-p.off >= p.maxBuf {
		if p.err != nil {
			return false
		}
		p.spaceWanted = true
		ch := p.changed
		p.mu.Unlock()
		<-ch
		p.mu.Lock()
	}
	if p.off > 0 && p.off >= len(p.buf)/2 {
		p.buf = p.buf[:copy(p.buf, p.buf[p.off:])]
		p.off = 0
	}
	p.buf = append(p.buf, data...)
	p.broadcast()
	return true
}

func (p *Port) writeLoop() {
	defer close(p.writerDone)
	for {
		select {
		case b := <-p.replies:
			if p.writeWire(b) != nil {
				return
			}
		case <-p.done:
			return
		}
	}
}

// reply queues an answer to the server; the reader never writes to the
// socket itself, so a blocked Write cannot stall the reader.
func (p *Port) reply(b []byte) {
	select {
	case p.replies <- b:
	case <-p.done:
	}
}

// writeWire writes b whole to the socket. A failed write ends the connection.
func (p *Port) writeWire(b []byte) error {
	_, err := p.writeWireN(b)
	return err
}

func (p *Port) writeWireN(b []byte) (int, error) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	select {
	case <-p.done:
		return 0, p.fail(nil)
	default:
	}
	if p.wtimeout > 0 {
		p.conn.SetWriteDeadline(time.Now().Add(p.wtimeout))
	}
	n, err := p.conn.Write(b)
	if err != nil {
		return n, p.fail(err)
	}
	return n, nil
}

// supported reports whether this client agrees to opt being enabled.
// ECHO in particular is refused: a server echo would corrupt the data.
func supported(opt byte) bool {
	return opt == optBinary || opt == optSGA || opt == optComPort
}

// handle acts on a telnet event; it runs on the reader goroutine.
func (p *Port) handle(ev event) {
	switch ev.Kind {
	case evNegotiate:
		p.negotiate(ev.Cmd, ev.Opt)
	case evSubneg:
		if ev.Opt == optComPort && len(ev.Data) > 0 {
			p.comPort(ev.Data[0], ev.Data[1:])
		}
	}
	// evCommand (NOP, GA, BRK, AYT...) and evOverflow carry nothing this
	// client acts on.
}

// negotiate follows RFC 1143's rules without the queue bits: never answer a
// request that only confirms the current state, so negotiation cannot loop.
func (p *Port) negotiate(cmd, opt byte) {
	p.mu.Lock()
	var answer byte
	switch cmd {
	case cmdDO:
		switch {
		case !supported(opt):
			answer = cmdWONT
		case p.us[opt] == optNo:
			p.us[opt] = optYes
			answer = cmdWILL
		default:
			p.us[opt] = optYes
		}
	case cmdDONT:
		if p.us[opt] == optYes {
			answer = cmdWONT
		}
		p.us[opt] = optNo
	case cmdWILL:
		switch {
		case !supported(opt):
			answer = cmdDONT
		case p.him[opt] == optNo:
			p.him[opt] = optYes
			answer = cmdDO
		default:
			p.him[opt] = optYes
		}
	case cmdWONT:
		if p.him[opt] == optYes {
			answer = cmdDONT
		}
		p.him[opt] = optNo
	}
	p.dec.binary = p.him[optBinary] == optYes
	p.broadcast()
	p.mu.Unlock()
	if answer != 0 {
		p.reply(negotiation(answer, opt))
	}
}

// comPort handles an RFC 2217 message from the server.
func (p *Port) comPort(cmd byte, value []byte) {
	p.mu.Lock()
	switch cmd {
	case cpSignature + serverOffset:
		if len(value) == 0 { // the server asks for our signature
			p.mu.Unlock()
			p.reply(subneg(nil, cpSignature, []byte(clientSignature)))
			p.mu.Lock()
		}
	case cpNotifyLineState + serverOffset:
		if len(value) > 0 {
			p.lineState = value[0]
		}
	case cpNotifyModemState + serverOffset:
		if len(value) > 0 {
			p.modemState, p.haveModem = value[0], true
		}
	case cpFlowSuspend + serverOffset:
		p.suspended = true
	case cpFlowResume + serverOffset:
		p.suspended = false
	}
	if ch, ok := p.acks[cmd]; ok {
		delete(p.acks, cmd)
		ch <- append([]byte(nil), value...) // buffered, one send per registration
	}
	p.broadcast()
	p.mu.Unlock()
}

// request sends an RFC 2217 command and, if wait, waits for the server's
// answer and passes it to check.
func (p *Port) request(ctx context.Context, what string, cmd byte, value []byte, wait bool, check func([]byte) error) error {
	p.ctl.Lock()
	defer p.ctl.Unlock()
	ack := cmd + serverOffset
	ch := make(chan []byte, 1)
	p.mu.Lock()
	if p.err != nil {
		err := p.err
		p.mu.Unlock()
		return fmt.Errorf("%s: %w", what, err)
	}
	if wait {
		p.acks[ack] = ch
	}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		if p.acks[ack] == ch {
			delete(p.acks, ack)
		}
		p.mu.Unlock()
	}()
	if err := p.writeWire(subneg(nil, cmd, value)); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !wait {
		return nil
	}
	timer := time.NewTimer(p.ackTimeout)
	defer timer.Stop()
	select {
	case got := <-ch:
		if err := check(got); err != nil {
			return fmt.Errorf("rfc2217 %s: %s: %w", p.addr, what, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rfc2217 %s: %s: %w", p.addr, what, ctx.Err())
	case <-timer.C:
		return fmt.Errorf("rfc2217 %s: %s: %w within %v", p.addr, what, ErrNoAck, p.ackTimeout)
	case <-p.done:
		return fmt.Errorf("%s: %w", what, p.fail(nil))
	}
}

// expectByte checks a one-byte answer. Like pyserial, only the leading bytes
// are compared: some servers pad answers.
func expectByte(want byte, name func(byte) string) func([]byte) error {
	return func(got []byte) error {
		if len(got) == 0 {
			return fmt.Errorf("%w: empty answer, asked %s", ErrRejected, name(want))
		}
		if got[0] != want {
			return fmt.Errorf("%w: asked %s, server reports %s", ErrRejected, name(want), name(got[0]))
		}
		return nil
	}
}

func decimal(b byte) string { return fmt.Sprint(b) }

// SetBaudRate sends SET-BAUDRATE and waits for the server to report the
// rate it applied, which must be the one asked.
func (p *Port) SetBaudRate(ctx context.Context, baud int) error {
	what := fmt.Sprintf("set baud rate %d", baud)
	if baud <= 0 || int64(baud) > 1<<32-1 {
		return fmt.Errorf("rfc2217 %s: %s: out of range", p.addr, what)
	}
	v := binary.BigEndian.AppendUint32(nil, uint32(baud))
	return p.request(ctx, what, cpSetBaudRate, v, true, func(got []byte) error {
		if len(got) < 4 {
			return fmt.Errorf("%w: answer % x is not a 4-byte baud rate", ErrRejected, got)
		}
		if g := binary.BigEndian.Uint32(got); g != uint32(baud) {
			return fmt.Errorf("%w: asked %d baud, server reports %d", ErrRejected, baud, g)
		}
		return nil
	})
}

// SetDataSize sends SET-DATASIZE (5 to 8 bits) and waits for the answer.
func (p *Port) SetDataSize(ctx context.Context, bits int) error {
	what := fmt.Sprintf("set data size %d", bits)
	if bits < 5 || bits > 8 {
		return fmt.Errorf("rfc2217 %s: %s: want 5..8", p.addr, what)
	}
	return p.request(ctx, what, cpSetDataSize, []byte{byte(bits)}, true, expectByte(byte(bits), decimal))
}

// SetParity sends SET-PARITY and waits for the answer.
func (p *Port) SetParity(ctx context.Context, parity Parity) error {
	what := fmt.Sprintf("set parity %d", parity)
	if parity < ParityNone || parity > ParitySpace {
		return fmt.Errorf("rfc2217 %s: %s: want 1..5", p.addr, what)
	}
	return p.request(ctx, what, cpSetParity, []byte{byte(parity)}, true, expectByte(byte(parity), decimal))
}

// SetStopSize sends SET-STOPSIZE and waits for the answer.
func (p *Port) SetStopSize(ctx context.Context, stop StopBits) error {
	what := fmt.Sprintf("set stop size %d", stop)
	if stop < StopBits1 || stop > StopBits1Half {
		return fmt.Errorf("rfc2217 %s: %s: want 1..3", p.addr, what)
	}
	return p.request(ctx, what, cpSetStopSize, []byte{byte(stop)}, true, expectByte(byte(stop), decimal))
}

func controlName(v byte) string {
	switch v {
	case ctlDTROn:
		return "DTR on"
	case ctlDTROff:
		return "DTR off"
	case ctlRTSOn:
		return "RTS on"
	case ctlRTSOff:
		return "RTS off"
	case ctlBreakOn:
		return "BREAK on"
	case ctlBreakOff:
		return "BREAK off"
	}
	return fmt.Sprintf("control value %d", v)
}

func (p *Port) setControl(ctx context.Context, v byte) error {
	what := "set " + controlName(v)
	return p.request(ctx, what, cpSetControl, []byte{v}, !p.ignoreCtl, expectByte(v, controlName))
}

// SetDTR sets the DTR line (SET-CONTROL 8/9) and, unless ign_set_control
// is in effect, waits up to the ack timeout for the server to confirm it. It
// has the signature of go.bug.st/serial's Port.SetDTR, so a Port can stand
// in where a local serial port drives the lines; SetDTRContext takes a
// context.
func (p *Port) SetDTR(on bool) error { return p.SetDTRContext(context.Background(), on) }

// SetRTS sets the RTS line (SET-CONTROL 11/12), like SetDTR.
func (p *Port) SetRTS(on bool) error { return p.SetRTSContext(context.Background(), on) }

// SetDTRContext is SetDTR with a context bounding the wait.
func (p *Port) SetDTRContext(ctx context.Context, on bool) error {
	v := ctlDTROff
	if on {
		v = ctlDTROn
	}
	return p.setControl(ctx, v)
}

// SetRTSContext is SetRTS with a context bounding the wait.
func (p *Port) SetRTSContext(ctx context.Context, on bool) error {
	v := ctlRTSOff
	if on {
		v = ctlRTSOn
	}
	return p.setControl(ctx, v)
}

// ReleaseLines de-asserts RTS, then DTR: the state in which an ESP32 board
// runs its application. The order matters: DTR released while RTS is still
// asserted would pull EN low and reset the chip (see esp32.go). Behind
// esptool's own RFC 2217 server it does reset the chip: that server turns
// every RTS-off into a hard reset (esp_rfc2217_server/esp_port_manager.py).
func (p *Port) ReleaseLines(ctx context.Context) error {
	if err := p.SetRTSContext(ctx, false); err != nil {
		return err
	}
	return p.SetDTRContext(ctx, false)
}

// SetBreak sets or clears the BREAK condition (SET-CONTROL 5/6).
func (p *Port) SetBreak(ctx context.Context, on bool) error {
	v := ctlBreakOff
	if on {
		v = ctlBreakOn
	}
	return p.setControl(ctx, v)
}

// Purge asks the server to discard buffered data (PURGE-DATA) and waits for
// the answer. Data already received by this client is not touched.
func (p *Port) Purge(ctx context.Context, which Purge) error {
	what := fmt.Sprintf("purge %d", which)
	if which < PurgeReceive || which > PurgeBoth {
		return fmt.Errorf("rfc2217 %s: %s: want 1..3", p.addr, what)
	}
	return p.request(ctx, what, cpPurgeData, []byte{byte(which)}, true, expectByte(byte(which), decimal))
}

// ModemState returns the last NOTIFY-MODEMSTATE byte from the server (bit 7
// CD, 6 RI, 5 DSR, 4 CTS, 3..0 their deltas) and whether one has arrived.
func (p *Port) ModemState() (state byte, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.modemState, p.haveModem
}

// LineState returns the last NOTIFY-LINESTATE byte from the server (bit 1
// overrun, 2 parity, 3 framing error, 4 break...), zero if none arrived.
func (p *Port) LineState() byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lineState
}

// FlowSuspended reports whether the server last sent FLOWCONTROL-SUSPEND.
// Write does not block on it: the TCP window already holds writers back.
func (p *Port) FlowSuspended() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.suspended
}

// SetReadTimeout makes each Read return (0, nil) after d without data, as
// go.bug.st/serial does. Zero waits forever.
func (p *Port) SetReadTimeout(d time.Duration) error {
	p.mu.Lock()
	p.readTimeout = d
	p.broadcast()
	p.mu.Unlock()
	return nil
}

// SetReadDeadline makes Read fail with an error wrapping
// os.ErrDeadlineExceeded once t has passed without data, as net.Conn does.
// The zero time removes the deadline.
func (p *Port) SetReadDeadline(t time.Time) error {
	p.mu.Lock()
	p.readDeadline = t
	p.broadcast()
	p.mu.Unlock()
	return nil
}

// Read returns serial data received from the server. Buffered data is
// returned before a connection-lost error; after Close, Read fails at once.
func (p *Port) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	start := time.Now()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	p.mu.Lock()
	for {
		if p.closed {
			err := p.err
			p.mu.Unlock()
			return 0, err
		}
		if len(p.buf) > p.off {
			n := copy(b, p.buf[p.off:])
			p.off += n
			if p.off == len(p.buf) {
				p.buf, p.off = p.buf[:0], 0
			}
			if p.spaceWanted {
				p.spaceWanted = false
				p.broadcast()
			}
			p.mu.Unlock()
			return n, nil
		}
		if p.err != nil {
			err := p.err
			p.mu.Unlock()
			return 0, err
		}
		var end time.Time
		isDeadline := false
		if p.readTimeout > 0 {
			end = start.Add(p.readTimeout)
		}
		if !p.readDeadline.IsZero() && (end.IsZero() || p.readDeadline.Before(end)) {
			end, isDeadline = p.readDeadline, true
		}
		ch := p.changed
		p.mu.Unlock()
		if end.IsZero() {
			<-ch
		} else {
			wait := time.Until(end)
			if wait <= 0 {
				if isDeadline {
					return 0, fmt.Errorf("rfc2217 %s: read: %w", p.addr, os.ErrDeadlineExceeded)
				}
				return 0, nil
			}
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-ch:
			case <-timer.C:
			}
		}
		p.mu.Lock()
	}
}

// Write sends b to the serial port, doubling IAC bytes. It returns len(b) or
// the count of bytes sent before an error wrapping ErrConnectionLost.
func (p *Port) Write(b []byte) (int, error) {
	p.mu.Lock()
	err := p.err
	bin := p.us[optBinary] == optYes
	p.mu.Unlock()
	if err != nil {
		return 0, err
	}
	wire := escapeData(make([]byte, 0, len(b)+len(b)/64+8), b, bin)
	n, err := p.writeWireN(wire)
	if err != nil {
		return escapedPrefix(b, bin, n), err
	}
	return len(b), nil
}
