package rfc2217

// Telnet commands (RFC 854).
const (
	cmdSE   byte = 240 // end of subnegotiation
	cmdNOP  byte = 241
	cmdSB   byte = 250 // start of subnegotiation
	cmdWILL byte = 251
	cmdWONT byte = 252
	cmdDO   byte = 253
	cmdDONT byte = 254
	cmdIAC  byte = 255 // interpret as command
)

// Telnet options this client knows.
const (
	optBinary  byte = 0  // RFC 856
	optEcho    byte = 1  // RFC 857
	optSGA     byte = 3  // suppress go-ahead, RFC 858
	optComPort byte = 44 // RFC 2217
)

// RFC 2217 commands sent by the client. The server answers a command c with
// c+serverOffset.
const (
	cpSignature        byte = 0
	cpSetBaudRate      byte = 1
	cpSetDataSize      byte = 2
	cpSetParity        byte = 3
	cpSetStopSize      byte = 4
	cpSetControl       byte = 5
	cpNotifyLineState  byte = 6
	cpNotifyModemState byte = 7
	cpFlowSuspend      byte = 8
	cpFlowResume       byte = 9
	cpSetLineMask      byte = 10
	cpSetModemMask     byte = 11
	cpPurgeData        byte = 12

	serverOffset byte = 100
)

// SET-CONTROL values (RFC 2217, "SET-CONTROL").
const (
	ctlUseNoFlow byte = 1
	ctlBreakOn   byte = 5
	ctlBreakOff  byte = 6
	ctlDTROn     byte = 8
	ctlDTROff    byte = 9
	ctlRTSOn     byte = 11
	ctlRTSOff    byte = 12
)

// maxSubneg bounds one subnegotiation's payload. RFC 2217 payloads are a few
// bytes (a signature is free text); anything longer is dropped, not buffered.
const maxSubneg = 1024

type decState uint8

const (
	stData  decState = iota
	stIAC            // IAC seen in data
	stNeg            // IAC WILL/WONT/DO/DONT seen, option byte next
	stSB             // inside IAC SB ... (first byte is the option)
	stSBIAC          // IAC seen inside a subnegotiation
)

type eventKind uint8

const (
	evNegotiate eventKind = iota + 1 // Cmd is WILL/WONT/DO/DONT, Opt the option
	evSubneg                         // Opt is the option, Data its unescaped payload
	evCommand                        // a bare telnet command such as NOP or BRK in Cmd
	evOverflow                       // a subnegotiation longer than maxSubneg was dropped
)

// event is something other than serial data found in the byte stream.
type event struct {
	Kind eventKind
	Cmd  byte
	Opt  byte
	Data []byte // valid only during the callback
}

// decoder splits a telnet byte stream into serial data and events. It keeps
// its state between calls, so a sequence split across TCP reads (IAC at the
// end of one read, the command in the next) decodes as if it came whole.
type decoder struct {
	state decState
	cmd   byte
	sb    []byte
	sbLen int  // payload length seen, including dropped bytes
	cr    bool // previous data byte was CR (only used when !binary)

	// binary is whether the peer sends in telnet BINARY mode. Without it,
	// CR NUL on the wire means a bare CR (RFC 854). The owner may change it
	// from the event callback; it applies from the next byte on.
	binary bool
}

// decode appends the serial data found in src to dst and returns it. Every
// event is passed to emit, in stream order relative to each other.
func (d *decoder) decode(dst, src []byte, emit func(event)) []byte {
	for _, b := range src {
		switch d.state {
		case stData:
			if b == cmdIAC {
				d.state = stIAC
				continue
			}
			dst = d.data(dst, b)
		case stIAC:
			d.state = stData
			switch b {
			case cmdIAC:
				dst = d.data(dst, cmdIAC)
			case cmdWILL, cmdWONT, cmdDO, cmdDONT:
				d.cmd = b
				d.state = stNeg
			case cmdSB:
				d.sb = d.sb[:0]
				d.sbLen = 0
				d.state = stSB
			case cmdSE:
				// SE without SB: nothing to end, ignore.
			default:
				emit(event{Kind: evCommand, Cmd: b})
			}
		case stNeg:
			d.state = stData
			emit(event{Kind: evNegotiate, Cmd: d.cmd, Opt: b})
		case stSB:
			if b == cmdIAC {
				d.state = stSBIAC
				continue
			}
			d.sbByte(b)
		case stSBIAC:
			switch b {
			case cmdIAC:
				d.sbByte(cmdIAC)
				d.state = stSB
			case cmdSE:
				d.state = stData
				d.endSubneg(emit)
			default:
				// RFC 855 forbids other commands inside SB. Treat the
				// subnegotiation as ended (as most telnet stacks do) and
				// the byte as a command.
				d.state = stData
				d.endSubneg(emit)
				switch b {
				case cmdWILL, cmdWONT, cmdDO, cmdDONT:
					d.cmd = b
					d.state = stNeg
				case cmdSB:
					d.sb = d.sb[:0]
					d.sbLen = 0
					d.state = stSB
				default:
					emit(event{Kind: evCommand, Cmd: b})
				}
			}
		}
	}
	return dst
}

func (d *decoder) data(dst []byte, b byte) []byte {
	if !d.binary {
		if d.cr && b == 0 {
			d.cr = false
			return dst
		}
		d.cr = b == '\r'
	}
	return append(dst, b)
}

func (d *decoder) sbByte(b byte) {
	d.sbLen++
	if len(d.sb) < maxSubneg+1 { // +1: the option byte
		d.sb = append(d.sb, b)
	}
}

func (d *decoder) endSubneg(emit func(event)) {
	if d.sbLen == 0 {
		return // IAC SB IAC SE: no option, nothing to report
	}
	if d.sbLen > maxSubneg+1 {
		emit(event{Kind: evOverflow, Opt: d.sb[0]})
		return
	}
	emit(event{Kind: evSubneg, Opt: d.sb[0], Data: d.sb[1:]})
}

// escapeData appends src to dst as telnet data: IAC doubled and, when the
// link is not in BINARY mode towards the peer, a CR not followed by LF in src
// sent as CR NUL (RFC 854).
func escapeData(dst, src []byte, binary bool) []byte {
	for i, b := range src {
		switch {
		case b == cmdIAC:
			dst = append(dst, cmdIAC, cmdIAC)
		case b == '\r' && !binary && (i+1 >= len(src) || src[i+1] != '\n'):
			dst = append(dst, '\r', 0)
		default:
			dst = append(dst, b)
		}
	}
	return dst
}

// escapedPrefix returns how many bytes of src were fully sent when n bytes
// of escapeData(src, binary) reached the wire.
func escapedPrefix(src []byte, binary bool, n int) int {
	sent := 0
	for i, b := range src {
		w := 1
		if b == cmdIAC || (b == '\r' && !binary && (i+1 >= len(src) || src[i+1] != '\n')) {
			w = 2
		}
		if sent+w > n {
			return i
		}
		sent += w
	}
	return len(src)
}

// subneg appends IAC SB COM-PORT-OPTION cmd value IAC SE, with IAC in value
// doubled.
func subneg(dst []byte, cmd byte, value []byte) []byte {
	dst = append(dst, cmdIAC, cmdSB, optComPort)
	dst = escapeData(dst, []byte{cmd}, true)
	dst = escapeData(dst, value, true)
	return append(dst, cmdIAC, cmdSE)
}

func negotiation(cmd, opt byte) []byte { return []byte{cmdIAC, cmd, opt} }
