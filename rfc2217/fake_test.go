package rfc2217

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/wsbench/wsbench/internal/testctx"
)

// behaviour scripts the fake RFC 2217 server.
type behaviour struct {
	refuseComPort bool   // answer WILL COM-PORT-OPTION with DONT
	silent        bool   // answer no negotiation at all
	refuseBinary  bool   // refuse BINARY both ways
	noAcks        bool   // answer no RFC 2217 command
	greeting      []byte // sent as soon as the client connects
	// baudReply, when set, replaces the echo of SET-BAUDRATE's value.
	baudReply func(asked uint32) uint32
	// controlReply, when set, replaces the echo of SET-CONTROL's value.
	controlReply func(asked byte) byte
}

// fakeServer is a telnet-level RFC 2217 server on loopback. It records every
// byte a client sends, raw, so tests can check the wire format without
// trusting the package's own decoder.
type fakeServer struct {
	t      *testing.T
	ln     net.Listener
	behave behaviour
	conns  chan *fakeConn
}

type fakeConn struct {
	c      net.Conn
	behave behaviour
	wmu    sync.Mutex

	mu      sync.Mutex
	changed chan struct{}
	raw     []byte
	data    []byte
	closed  bool
}

func newFakeServer(t *testing.T, b behaviour) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, behave: b, conns: make(chan *fakeConn, 8)}
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		close(done)
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fc := &fakeConn{c: c, behave: s.behave, changed: make(chan struct{})}
			wg.Add(2)
			go func() {
				defer wg.Done()
				fc.serve()
			}()
			go func() {
				defer wg.Done()
				<-done
				c.Close()
			}()
			select {
			case s.conns <- fc:
			case <-done: // the test ended with connections nobody took
				return
			}
		}
	}()
	return s
}

func (s *fakeServer) url(query string) string {
	u := "rfc2217://" + s.ln.Addr().String()
	if query != "" {
		u += "?" + query
	}
	return u
}

// next returns the server side of the next accepted connection.
func (s *fakeServer) next(t *testing.T) *fakeConn {
	t.Helper()
	select {
	case fc := <-s.conns:
		return fc
	case <-time.After(5 * time.Second):
		t.Fatal("fake server: no connection within 5s")
		return nil
	}
}

func (fc *fakeConn) send(b []byte) error {
	fc.wmu.Lock()
	defer fc.wmu.Unlock()
	_, err := fc.c.Write(b)
	return err
}

// sendSplit writes b one byte per TCP segment (as far as Nagle-free
// loopback allows), so the client sees sequences cut at every position.
func (fc *fakeConn) sendSplit(b []byte) error {
	for i := range b {
		if err := fc.send(b[i : i+1]); err != nil {
			return err
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

func (fc *fakeConn) serve() {
	if len(fc.behave.greeting) > 0 {
		fc.send(fc.behave.greeting)
	}
	dec := decoder{binary: true}
	buf := make([]byte, 4096)
	for {
		n, err := fc.c.Read(buf)
		if n > 0 {
			var answers []byte
			data := dec.decode(nil, buf[:n], func(ev event) {
				answers = append(answers, fc.answer(ev)...)
			})
			fc.mu.Lock()
			fc.raw = append(fc.raw, buf[:n]...)
			fc.data = append(fc.data, data...)
			close(fc.changed)
			fc.changed = make(chan struct{})
			fc.mu.Unlock()
			if len(answers) > 0 {
				fc.send(answers)
			}
		}
		if err != nil {
			fc.mu.Lock()
			fc.closed = true
			close(fc.changed)
			fc.changed = make(chan struct{})
			fc.mu.Unlock()
			return
		}
	}
}

func (fc *fakeConn) answer(ev event) []byte {
	b := fc.behave
	switch ev.Kind {
	case evNegotiate:
		if b.silent {
			return nil
		}
		switch ev.Cmd {
		case cmdWILL:
			if (ev.Opt == optComPort && b.refuseComPort) || (ev.Opt == optBinary && b.refuseBinary) {
				return negotiation(cmdDONT, ev.Opt)
			}
			if supported(ev.Opt) {
				return negotiation(cmdDO, ev.Opt)
			}
			return negotiation(cmdDONT, ev.Opt)
		case cmdDO:
			if ev.Opt == optBinary && b.refuseBinary {
				return negotiation(cmdWONT, ev.Opt)
			}
			if ev.Opt == optBinary || ev.Opt == optSGA {
				return negotiation(cmdWILL, ev.Opt)
			}
			return negotiation(cmdWONT, ev.Opt)
		}
	case evSubneg:
		if b.noAcks || ev.Opt != optComPort || len(ev.Data) == 0 {
			return nil
		}
		cmd, v := ev.Data[0], append([]byte(nil), ev.Data[1:]...)
		switch {
		case cmd == cpSignature && len(v) == 0:
			v = []byte("fake")
		case cmd == cpSignature:
			return nil // the client's signature, no answer
		case cmd == cpSetBaudRate && b.baudReply != nil && len(v) == 4:
			v = binary.BigEndian.AppendUint32(nil, b.baudReply(binary.BigEndian.Uint32(v)))
		case cmd == cpSetControl && b.controlReply != nil && len(v) == 1:
			v = []byte{b.controlReply(v[0])}
		}
		return subneg(nil, cmd+serverOffset, v)
	}
	return nil
}

// waitFor polls the recorded state until cond holds (bounded: 5 s).
func (fc *fakeConn) waitFor(t *testing.T, what string, cond func(raw, data []byte, closed bool) bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		fc.mu.Lock()
		ok := cond(fc.raw, fc.data, fc.closed)
		ch := fc.changed
		raw := append([]byte(nil), fc.raw...)
		fc.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("fake server: %s: not seen within 5s; raw bytes from client: % x", what, raw)
		}
	}
}

func (fc *fakeConn) waitRaw(t *testing.T, want []byte) {
	t.Helper()
	fc.waitFor(t, fmt.Sprintf("raw % x", want), func(raw, _ []byte, _ bool) bool { return bytes.Contains(raw, want) })
}

func (fc *fakeConn) rawCopy() []byte {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return append([]byte(nil), fc.raw...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func readN(t *testing.T, p *Port, n int) []byte {
	t.Helper()
	return readPortFull(t, p, n, 5*time.Second)
}

// controlSequence extracts the SET-CONTROL values the client sent, in order.
func controlSequence(raw []byte) []byte {
	var seq []byte
	dec := decoder{binary: true}
	dec.decode(nil, raw, func(ev event) {
		if ev.Kind == evSubneg && ev.Opt == optComPort && len(ev.Data) == 2 && ev.Data[0] == cpSetControl {
			seq = append(seq, ev.Data[1])
		}
	})
	return seq
}

// esptoolServerResets replays SET-CONTROL values through the rules of
// esptool's RFC 2217 server (esp_rfc2217_server/esp_port_manager.py,
// EspPortManager._telnet_process_subnegotiation) and counts the resets it
// would run: DTR off leaves download mode, RTS off outside download mode runs
// HardReset, DTR on outside download mode runs the bootloader reset.
func esptoolServerResets(seq []byte) (hard, boot int) {
	download := false
	for _, v := range seq {
		switch {
		case v == ctlDTROff:
			download = false
		case v == ctlRTSOff && !download:
			hard++
		case v == ctlDTROn && !download:
			download = true
			boot++
		}
	}
	return hard, boot
}

func TestPortAgainstFakeServer(t *testing.T) {
	ctx := testctx.New(t)
	tests := []struct {
		name   string
		behave behaviour
		query  string
		opts   Options
		run    func(t *testing.T, p *Port, fc *fakeConn)
	}{
		{
			name: "requests_binary_both_ways_sga_and_com_port",
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				fc.waitRaw(t, []byte{
					cmdIAC, cmdWILL, optBinary, cmdIAC, cmdDO, optBinary,
					cmdIAC, cmdWILL, optSGA, cmdIAC, cmdDO, optSGA,
					cmdIAC, cmdWILL, optComPort,
				})
			},
		},
		{
			// ser2net 4.3.11 opens with exactly these bytes (seen on the
			// wire in the ser2net test's set-up); a server that says DO
			// first and never answers our WILL must still be accepted.
			name: "server_opening_negotiation_like_ser2net_needs_no_answers",
			behave: behaviour{silent: true, greeting: []byte{
				cmdIAC, cmdWILL, optSGA, cmdIAC, cmdDO, optSGA,
				cmdIAC, cmdWILL, optEcho, cmdIAC, cmdDONT, optEcho,
				cmdIAC, cmdDO, optBinary, cmdIAC, cmdWILL, optBinary,
				cmdIAC, cmdDO, optComPort,
			}},
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				fc.waitRaw(t, []byte{cmdIAC, cmdDONT, optEcho})
				raw := fc.rawCopy()
				for _, once := range [][]byte{
					{cmdIAC, cmdDONT, optEcho}, {cmdIAC, cmdWILL, optBinary},
					{cmdIAC, cmdDO, optBinary}, {cmdIAC, cmdWILL, optComPort},
				} {
					if n := bytes.Count(raw, once); n != 1 {
						t.Errorf("client sent % x %d times, want once; raw % x", once, n, raw)
					}
				}
			},
		},
		{
			name: "refuses_unknown_options_and_echo",
			behave: behaviour{greeting: []byte{
				cmdIAC, cmdDO, 24, // TERMINAL-TYPE
				cmdIAC, cmdWILL, optEcho,
				cmdIAC, cmdDO, 31, // NAWS
				cmdIAC, cmdWILL, 200,
			}},
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				for _, want := range [][]byte{
					{cmdIAC, cmdWONT, 24}, {cmdIAC, cmdDONT, optEcho},
					{cmdIAC, cmdWONT, 31}, {cmdIAC, cmdDONT, 200},
				} {
					fc.waitRaw(t, want)
				}
			},
		},
		{
			name:   "answers_server_signature_request",
			behave: behaviour{greeting: subneg(nil, cpSignature+serverOffset, nil)},
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				fc.waitRaw(t, subneg(nil, cpSignature, []byte(clientSignature)))
			},
		},
		{
			name: "read_undoubles_IAC_and_strips_commands_split_byte_by_byte",
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				in := cat([]byte("a"), []byte{cmdIAC, cmdIAC}, []byte("b"),
					[]byte{cmdIAC, cmdNOP}, []byte("c"),
					subneg(nil, cpNotifyModemState+serverOffset, []byte{0xb0}),
					subneg(nil, cpNotifyLineState+serverOffset, []byte{0xff}), // IAC in a value
					[]byte{cmdIAC, cmdIAC, cmdIAC, cmdIAC}, []byte("\r\x00d"))
				if err := fc.sendSplit(in); err != nil {
					t.Fatal(err)
				}
				want := []byte("a\xffbc\xff\xff\r\x00d") // BINARY: CR NUL is data
				if got := readN(t, p, len(want)); !bytes.Equal(got, want) {
					t.Fatalf("read % x, want % x", got, want)
				}
				if ms, ok := p.ModemState(); !ok || ms != 0xb0 {
					t.Errorf("ModemState() = %#x, %v; want 0xb0, true", ms, ok)
				}
				if ls := p.LineState(); ls != 0xff {
					t.Errorf("LineState() = %#x, want 0xff", ls)
				}
			},
		},
		{
			name: "write_doubles_IAC",
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				out := []byte{0xff, 0x01, 0xff, 0xff, '\r', 0x00}
				if n, err := p.Write(out); err != nil || n != len(out) {
					t.Fatalf("Write = %d, %v", n, err)
				}
				fc.waitRaw(t, []byte{0xff, 0xff, 0x01, 0xff, 0xff, 0xff, 0xff, '\r', 0x00})
				fc.waitFor(t, "decoded data", func(_, data []byte, _ bool) bool { return bytes.Equal(data, out) })
			},
		},
		{
			name: "baud_rate_with_IAC_in_value_escaped_and_acknowledged",
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				if err := p.SetBaudRate(ctx, 0xff); err != nil {
					t.Fatal(err)
				}
				fc.waitRaw(t, []byte{cmdIAC, cmdSB, optComPort, cpSetBaudRate, 0, 0, 0, 0xff, 0xff, cmdIAC, cmdSE})
				if err := p.SetBaudRate(ctx, 921600); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name:   "baud_rate_answer_with_other_value_is_rejected",
			behave: behaviour{baudReply: func(uint32) uint32 { return 9600 }},
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				err := p.SetBaudRate(ctx, 115200)
				if !errors.Is(err, ErrRejected) {
					t.Fatalf("got %v, want ErrRejected", err)
				}
				t.Log(err)
			},
		},
		{
			name:   "unanswered_request_times_out_and_port_stays_usable",
			behave: behaviour{noAcks: true},
			opts:   Options{AckTimeout: 100 * time.Millisecond},
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				if err := p.SetBaudRate(ctx, 115200); !errors.Is(err, ErrNoAck) {
					t.Fatalf("got %v, want ErrNoAck", err)
				}
				if err := p.SetDTRContext(ctx, true); !errors.Is(err, ErrNoAck) {
					t.Fatalf("SetDTR: got %v, want ErrNoAck", err)
				}
				fc.send([]byte("ok"))
				if got := readN(t, p, 2); string(got) != "ok" {
					t.Fatalf("read %q", got)
				}
			},
		},
		{
			name:   "request_honours_context",
			behave: behaviour{noAcks: true},
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
				if err := p.SetParity(c, ParityEven); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("got %v, want context.DeadlineExceeded", err)
				}
			},
		},
		{
			name:   "ign_set_control_sends_without_waiting",
			behave: behaviour{noAcks: true},
			query:  "ign_set_control",
			opts:   Options{AckTimeout: 5 * time.Second},
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				c, cancel := context.WithTimeout(ctx, time.Second)
				defer cancel()
				if err := p.SetDTRContext(c, true); err != nil {
					t.Fatal(err)
				}
				if err := p.SetRTSContext(c, false); err != nil {
					t.Fatal(err)
				}
				fc.waitRaw(t, []byte{cmdIAC, cmdSB, optComPort, cpSetControl, ctlDTROn, cmdIAC, cmdSE})
				fc.waitRaw(t, []byte{cmdIAC, cmdSB, optComPort, cpSetControl, ctlRTSOff, cmdIAC, cmdSE})
			},
		},
		{
			name:   "set_control_answer_with_other_state_is_rejected",
			behave: behaviour{controlReply: func(byte) byte { return ctlDTROff }},
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				err := p.SetDTR(true) // the go.bug.st/serial-shaped method
				if !errors.Is(err, ErrRejected) {
					t.Fatalf("got %v, want ErrRejected", err)
				}
				t.Log(err)
			},
		},
		{
			name: "esp32_hard_reset_is_dtr_off_then_rts_pulse",
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				start := time.Now()
				if err := p.ResetESP32(ctx); err != nil {
					t.Fatal(err)
				}
				if d := time.Since(start); d < resetHoldTime {
					t.Errorf("reset took %v, shorter than the %v EN-low hold", d, resetHoldTime)
				}
				want := []byte{ctlDTROff, ctlRTSOn, ctlRTSOff}
				got := controlSequence(fc.rawCopy())
				if !bytes.Equal(got, want) {
					t.Fatalf("SET-CONTROL sequence %v, want %v", got, want)
				}
				if hard, boot := esptoolServerResets(got); hard != 1 || boot != 0 {
					t.Errorf("esptool's server would run %d hard and %d bootloader resets, want 1 and 0", hard, boot)
				}
			},
		},
		{
			name: "esp32_bootloader_reset_is_esptool_classic_reset",
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				if err := p.ResetESP32Bootloader(ctx); err != nil {
					t.Fatal(err)
				}
				want := []byte{ctlDTROff, ctlRTSOn, ctlDTROn, ctlRTSOff, ctlDTROff} // D0|R1|W0.1|D1|R0|W0.05|D0
				got := controlSequence(fc.rawCopy())
				if !bytes.Equal(got, want) {
					t.Fatalf("SET-CONTROL sequence %v, want %v", got, want)
				}
				if hard, boot := esptoolServerResets(got); hard != 0 || boot != 1 {
					t.Errorf("esptool's server would run %d hard and %d bootloader resets, want 0 and 1", hard, boot)
				}
			},
		},
		{
			name: "purge_and_frame_settings_acknowledged",
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				for _, err := range []error{
					p.Purge(ctx, PurgeBoth), p.SetDataSize(ctx, 7),
					p.SetParity(ctx, ParityOdd), p.SetStopSize(ctx, StopBits1Half),
					p.SetBreak(ctx, true), p.SetBreak(ctx, false),
				} {
					if err != nil {
						t.Fatal(err)
					}
				}
				for _, err := range []error{
					p.Purge(ctx, 4), p.SetDataSize(ctx, 9), p.SetParity(ctx, 0),
					p.SetStopSize(ctx, 4), p.SetBaudRate(ctx, 0),
				} {
					if err == nil {
						t.Error("out-of-range setting accepted")
					}
				}
			},
		},
		{
			name:   "flow_control_suspend_and_resume_tracked",
			behave: behaviour{greeting: subneg(nil, cpFlowSuspend+serverOffset, nil)},
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				fc.send([]byte("x"))
				readN(t, p, 1) // the suspend came before the byte
				if !p.FlowSuspended() {
					t.Fatal("FlowSuspended() = false after FLOWCONTROL-SUSPEND")
				}
				fc.send(cat(subneg(nil, cpFlowResume+serverOffset, nil), []byte("y")))
				readN(t, p, 1)
				if p.FlowSuspended() {
					t.Fatal("FlowSuspended() = true after FLOWCONTROL-RESUME")
				}
			},
		},
		{
			name:   "without_binary_CR_NUL_both_ways",
			behave: behaviour{refuseBinary: true},
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				if _, err := p.Write([]byte("a\rb\r\nc\r")); err != nil {
					t.Fatal(err)
				}
				fc.waitRaw(t, []byte("a\r\x00b\r\nc\r\x00"))
				fc.send([]byte("x\r\x00y\r\nz"))
				if got := readN(t, p, 6); string(got) != "x\ry\r\nz" {
					t.Fatalf("read %q, want %q", got, "x\ry\r\nz")
				}
			},
		},
		{
			name: "server_close_is_connection_lost_not_EOF",
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				fc.send([]byte("last words"))
				fc.c.Close()
				if got := readN(t, p, 10); string(got) != "last words" {
					t.Fatalf("read %q", got)
				}
				p.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err := p.Read(make([]byte, 10))
				if !errors.Is(err, ErrConnectionLost) || errors.Is(err, io.EOF) {
					t.Fatalf("Read after server close: %v; want ErrConnectionLost and not io.EOF", err)
				}
				if _, err := p.Write([]byte("x")); !errors.Is(err, ErrConnectionLost) {
					t.Fatalf("Write after loss: %v", err)
				}
				if err := p.SetRTSContext(ctx, true); !errors.Is(err, ErrConnectionLost) {
					t.Fatalf("SetRTS after loss: %v", err)
				}
			},
		},
		{
			name: "close_unblocks_read",
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				errc := make(chan error, 1)
				go func() {
					_, err := p.Read(make([]byte, 1))
					errc <- err
				}()
				time.Sleep(20 * time.Millisecond)
				p.Close()
				select {
				case err := <-errc:
					if !errors.Is(err, net.ErrClosed) {
						t.Fatalf("blocked Read after Close: %v, want net.ErrClosed", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("Read still blocked 5s after Close")
				}
				if _, err := p.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
					t.Fatalf("Write after Close: %v", err)
				}
				fc.waitFor(t, "server sees close", func(_, _ []byte, closed bool) bool { return closed })
			},
		},
		{
			name: "read_timeout_returns_zero_nil_like_go_bug_st_serial",
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				p.SetReadTimeout(30 * time.Millisecond)
				n, err := p.Read(make([]byte, 8))
				if n != 0 || err != nil {
					t.Fatalf("Read = %d, %v; want 0, nil", n, err)
				}
				fc.send([]byte("z"))
				p.SetReadTimeout(5 * time.Second)
				if n, err := p.Read(make([]byte, 8)); n != 1 || err != nil {
					t.Fatalf("Read = %d, %v; want 1, nil", n, err)
				}
			},
		},
		{
			name: "options_read_timeout_applies_from_dial",
			opts: Options{ReadTimeout: 30 * time.Millisecond},
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				if n, err := p.Read(make([]byte, 8)); n != 0 || err != nil {
					t.Fatalf("Read = %d, %v; want 0, nil", n, err)
				}
			},
		},
		{
			name: "options_release_lines_sends_rts_off_then_dtr_off",
			opts: Options{ReleaseLines: true},
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				want := []byte{ctlRTSOff, ctlDTROff}
				if got := controlSequence(fc.rawCopy()); !bytes.Equal(got, want) {
					t.Fatalf("SET-CONTROL sequence %v, want %v", got, want)
				}
			},
		},
		{
			name: "read_deadline_returns_deadline_exceeded",
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				p.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
				if _, err := p.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("Read: %v, want os.ErrDeadlineExceeded", err)
				}
			},
		},
		{
			name: "full_receive_buffer_pushes_back_without_loss",
			opts: Options{MaxBuffered: 1024},
			run: func(t *testing.T, p *Port, fc *fakeConn) {
				want := allBytes(256 << 10)
				go fc.send(escapeData(nil, want, true))
				time.Sleep(50 * time.Millisecond) // let the buffer fill
				p.mu.Lock()
				buffered := len(p.buf) - p.off
				p.mu.Unlock()
				if buffered > 1024+32<<10 {
					t.Errorf("%d bytes buffered with MaxBuffered 1024", buffered)
				}
				if got := readN(t, p, len(want)); !bytes.Equal(got, want) {
					t.Fatalf("data differs at byte %d", firstDiff(got, want))
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer(t, tc.behave)
			opts := tc.opts
			if opts.AckTimeout == 0 {
				opts.AckTimeout = 2 * time.Second
			}
			p, err := Dial(ctx, srv.url(tc.query), opts)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer p.Close()
			tc.run(t, p, srv.next(t))
		})
	}
}

// A Port drives the lines through the same method set as go.bug.st/serial's
// Port (and collector.LineControl).
var _ interface {
	SetDTR(bool) error
	SetRTS(bool) error
} = (*Port)(nil)

func TestDialFailures(t *testing.T) {
	tests := []struct {
		name   string
		behave behaviour
		opts   Options
		want   error
	}{
		{"server_refusing_com_port_option", behaviour{refuseComPort: true}, Options{}, ErrNotSupported},
		{"server_answering_nothing", behaviour{silent: true}, Options{AckTimeout: 100 * time.Millisecond}, ErrNoAck},
		{"server_not_acknowledging_baud", behaviour{noAcks: true}, Options{Baud: 115200, AckTimeout: 100 * time.Millisecond}, ErrNoAck},
		{"server_applying_other_baud", behaviour{baudReply: func(a uint32) uint32 { return a / 2 }}, Options{Baud: 115200}, ErrRejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer(t, tc.behave)
			p, err := Dial(testctx.New(t), srv.url(""), tc.opts)
			if err == nil {
				p.Close()
				t.Fatal("Dial succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Dial: %v; want %v", err, tc.want)
			}
			fc := srv.next(t)
			fc.waitFor(t, "connection closed after failed dial", func(_, _ []byte, closed bool) bool { return closed })
		})
	}
	t.Run("nothing_listening", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if _, err := Dial(testctx.New(t), "rfc2217://"+addr, Options{}); err == nil {
			t.Fatal("Dial to a closed port succeeded")
		}
	})
	t.Run("bad_url", func(t *testing.T) {
		if _, err := Dial(testctx.New(t), "rfc2217://127.0.0.1", Options{}); err == nil {
			t.Fatal("Dial without port succeeded")
		}
	})
}

func TestOpenerReconnects(t *testing.T) {
	srv := newFakeServer(t, behaviour{})
	open := Opener(srv.url(""), Options{Baud: 115200, AckTimeout: 2 * time.Second})
	ctx := testctx.New(t)
	for i := range 3 {
		rwc, err := open(ctx)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		fc := srv.next(t)
		msg := fmt.Sprintf("session %d \xff", i)
		fc.send(escapeData(nil, []byte(msg), true))
		got := make([]byte, len(msg))
		rwc.(*Port).SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(rwc, got); err != nil || string(got) != msg {
			t.Fatalf("session %d: read %q, %v", i, got, err)
		}
		fc.c.Close() // the server drops the link
		_, err = rwc.Read(got)
		if !errors.Is(err, ErrConnectionLost) {
			t.Fatalf("session %d: after drop: %v", i, err)
		}
		rwc.Close()
	}
	rwc, err := Opener("rfc2217://127.0.0.1:1", Options{})(ctx)
	if err == nil {
		t.Fatal("open of a closed port succeeded")
	}
	if rwc != nil {
		t.Fatalf("failed open returned a non-nil %T", rwc)
	}
}
