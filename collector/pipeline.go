package collector

import (
	"fmt"
	"strings"

	"github.com/wsbench/wsbench/collector/console"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/wire"
)

// MaxLine is the longest console line kept whole; a longer line is split
// into pieces of MaxLine bytes and a note says so.
const MaxLine = 4096

// Bad baud detection: a window of badBaudWindow bytes of console input in
// which at least a quarter of the bytes are neither printable ASCII nor
// line endings, with no valid frame or clean line in between.
const badBaudWindow = 2048

// Stats are the counters of a capture.
type Stats struct {
	Bytes        int64 `json:"bytes"`         // bytes read from the port
	ConsoleBytes int64 `json:"console_bytes"` // bytes passed on as console text (including rejected frames)
	Lines        int64 `json:"lines"`         // console lines
	Frames       int64 `json:"frames"`        // frames whose CRC matched and whose payload decoded
	DecodeErrors int64 `json:"decode_errors"` // frames whose CRC matched but whose payload did not decode
	CRCErrors    int64 `json:"crc_errors"`    // complete frames whose CRC did not match
	BadHeaders   int64 `json:"bad_headers"`   // magic followed by an unknown type or an oversized length
	Resyncs      int64 `json:"resyncs"`       // candidate frames rejected, scanning restarted one byte later
	Truncated    int64 `json:"truncated"`     // a frame cut off by the end of the stream
	SeqGaps      int64 `json:"seq_gaps"`      // samples missing from the Sample.Seq sequence (dropped)
	Segments     int64 `json:"segments"`      // boot segments seen (1 + resets)
	Records      int64 `json:"records"`       // records written
	LongLines    int64 `json:"long_lines"`    // console lines split because they exceeded MaxLine
	PortLost     int64 `json:"port_lost"`     // times the port vanished
	PortReopened int64 `json:"port_reopened"` // times it was opened again
	BadBaud      int64 `json:"bad_baud"`      // bad_baud notes emitted
}

// emitFunc receives each record in order; payload is the frame payload for
// frame records (written to records.msgp as it is) and nil otherwise.
type emitFunc func(r record.Record, payload []byte)

// pipeline turns the byte stream into records. It is deterministic: the
// same bytes, cut into the same chunks at the same host times, with the same
// events in between, give the same records. Live capture and replay of a
// raw capture both drive it.
type pipeline struct {
	dmx  wire.Demuxer
	cls  console.Classifier
	emit emitFunc
	ns   int64 // host time of the current input

	line      []byte
	lineOff   int64
	lineStart bool // line holds the start of a line (lineOff is valid)
	afterCR   bool // the previous byte ended a line with '\r'
	lineSplit bool // the current line was already split once

	seg        uint32
	segAny     bool // the segment has content: a frame, a banner or a log line
	segSamples int64
	segHello   bool
	lastSeq    uint32
	haveSeq    bool
	helloAsked int // "hello" commands sent and not yet answered

	bbBytes, bbOdd int64
	bbReported     bool

	stats Stats
}

func newPipeline(emit emitFunc) *pipeline {
	p := &pipeline{emit: emit, line: make([]byte, 0, 256)}
	p.stats.Segments = 1
	return p
}

// Stats returns the counters so far.
func (p *pipeline) Stats() Stats {
	s := p.stats
	d := p.dmx.Stats()
	s.Bytes = d.Bytes
	s.ConsoleBytes = d.TextBytes
	s.CRCErrors = d.CRCErrors
	s.BadHeaders = d.BadHeaders
	s.Resyncs = d.Resyncs
	s.Truncated = d.Truncated
	return s
}

// offset is the stream offset of the next byte.
func (p *pipeline) offset() int64 { return p.dmx.Offset() }

// feed passes one chunk read at host time ns.
func (p *pipeline) feed(b []byte, ns int64) {
	p.ns = ns
	p.dmx.Feed(b, p.chunk)
}

// close ends the stream: a frame prefix still held becomes text, a partial
// line is emitted, and an open block is flushed.
func (p *pipeline) close() {
	p.dmx.Close(p.chunk)
	if p.lineStart {
		p.endLine()
	}
	p.cls.Flush(p.item)
}

// expire emits an open console block whose last line is older than age
// nanoseconds at host time ns; it reports whether it did.
func (p *pipeline) expire(ns, age int64) bool {
	open, last := p.cls.Pending()
	if !open || ns-last < age {
		return false
	}
	p.ns = ns
	p.cls.Flush(p.item)
	return true
}

// note emits a collector note at the current offset.
func (p *pipeline) note(kind, text string, ns int64) {
	p.ns = ns
	p.put(record.Record{Type: record.TypeNote, HostNS: ns, Offset: p.offset(), Body: &record.Note{Kind: kind, Text: text}}, nil)
}

// sent records a command sent to the board (text already redacted).
func (p *pipeline) sent(name, text string, ns int64) {
	if name == wire.CmdHello {
		p.helloAsked++
	}
	p.note("command", text, ns)
}

func (p *pipeline) put(r record.Record, payload []byte) {
	r.Segment = p.seg
	p.stats.Records++
	p.emit(r, payload)
}

func (p *pipeline) newSegment(why string, off int64) {
	p.seg++
	p.stats.Segments++
	p.segAny, p.segSamples, p.segHello, p.haveSeq, p.helloAsked = false, 0, false, false, 0
	p.put(record.Record{Type: record.TypeNote, HostNS: p.ns, Offset: off,
		Body: &record.Note{Kind: "segment", Text: fmt.Sprintf("segment %d begins: %s", p.seg, why)}}, nil)
}

func (p *pipeline) chunk(c wire.Chunk) {
	if c.Kind == wire.ChunkFrame {
		p.frame(c)
		return
	}
	p.text(c.Text, c.Offset)
}

func (p *pipeline) frame(c wire.Chunk) {
	p.bbBytes, p.bbOdd, p.bbReported = 0, 0, false
	m, err := wire.Decode(c.Type, c.Payload)
	if err != nil {
		p.stats.DecodeErrors++
		p.put(record.Record{Type: record.TypeNote, HostNS: p.ns, Offset: c.Offset,
			Body: &record.Note{Kind: "decode_error", Text: fmt.Sprintf("frame %s at byte %d: %v", c.Type, c.Offset, err)}}, nil)
		return
	}
	p.stats.Frames++
	switch b := m.(type) {
	case *wire.Sample:
		if p.haveSeq && b.Seq < p.lastSeq {
			p.newSegment(fmt.Sprintf("sample seq went back from %d to %d", p.lastSeq, b.Seq), c.Offset)
		} else if p.haveSeq && b.Seq > p.lastSeq+1 {
			gap := int64(b.Seq - p.lastSeq - 1)
			p.stats.SeqGaps += gap
			p.put(record.Record{Type: record.TypeNote, HostNS: p.ns, Offset: c.Offset,
				Body: &record.Note{Kind: "seq_gap", Text: fmt.Sprintf("%d samples missing between seq %d and %d", gap, p.lastSeq, b.Seq)}}, nil)
		}
		p.lastSeq, p.haveSeq = b.Seq, true
		p.segSamples++
	case *wire.Hello:
		switch {
		case p.helloAsked > 0:
			p.helloAsked--
		case p.segSamples > 0 || p.segHello:
			p.newSegment(fmt.Sprintf("unrequested hello (reset reason %s)", wire.ResetReasonName(b.ResetReason)), c.Offset)
		}
		p.segHello = true
	}
	p.segAny = true
	p.put(record.Record{Type: record.Type(c.Type), HostNS: p.ns, Offset: c.Offset, Body: m}, c.Payload)
}

// badBaud watches console input for the look of a wrong baud rate. It
// judges windows of exactly badBaudWindow bytes, so that how the stream was
// cut into reads does not matter.
func (p *pipeline) badBaud(b []byte, off int64) {
	for len(b) > 0 && !p.bbReported {
		n := min(len(b), int(badBaudWindow-p.bbBytes))
		for _, c := range b[:n] {
			if c >= 0x7f || c < 0x20 && c != '\t' && c != '\r' && c != '\n' {
				p.bbOdd++
			}
		}
		p.bbBytes += int64(n)
		b, off = b[n:], off+int64(n)
		if p.bbBytes < badBaudWindow {
			return
		}
		if p.bbOdd*4 >= p.bbBytes {
			p.bbReported = true
			p.stats.BadBaud++
			p.put(record.Record{Type: record.TypeNote, HostNS: p.ns, Offset: off,
				Body: &record.Note{Kind: "bad_baud", Text: fmt.Sprintf(
					"%d of the last %d console bytes are not text and no frame decoded: the baud rate is probably wrong",
					p.bbOdd, p.bbBytes)}}, nil)
			return
		}
		p.bbBytes, p.bbOdd = 0, 0
	}
}

// text assembles console lines. CR, LF and CRLF end a line; a frame in the
// middle of a line does not.
func (p *pipeline) text(b []byte, off int64) {
	for i := 0; i < len(b); {
		c := b[i]
		if c == '\n' && p.afterCR {
			p.afterCR = false
			i++
			continue
		}
		p.afterCR = false
		if c == '\r' || c == '\n' {
			p.badBaud(b[i:i+1], off+int64(i))
			if !p.lineStart {
				p.lineOff, p.lineStart = off+int64(i), true
			}
			p.afterCR = c == '\r'
			p.endLine()
			i++
			continue
		}
		// Copy the run of ordinary bytes up to the next line ending.
		j := i
		for j < len(b) && b[j] != '\r' && b[j] != '\n' {
			j++
		}
		p.badBaud(b[i:j], off+int64(i))
		for i < j {
			if !p.lineStart {
				p.lineOff, p.lineStart = off+int64(i), true
			}
			n := min(j-i, MaxLine-len(p.line))
			p.line = append(p.line, b[i:i+n]...)
			i += n
			if len(p.line) >= MaxLine {
				p.splitLine()
			}
		}
	}
}

func (p *pipeline) splitLine() {
	first := !p.lineSplit
	start := p.lineOff
	p.endLine()
	if first {
		p.stats.LongLines++
		p.put(record.Record{Type: record.TypeNote, HostNS: p.ns, Offset: start,
			Body: &record.Note{Kind: "long_line", Text: fmt.Sprintf("console line at byte %d is longer than %d bytes: split", start, MaxLine)}}, nil)
	}
	p.lineSplit = true
}

// endLine emits the assembled line (without its ending).
func (p *pipeline) endLine() {
	l := console.Parse(p.line)
	if l.Level != "" || len(p.line) >= 16 && printable(p.line) {
		// Clean text: the baud rate is right.
		p.bbBytes, p.bbOdd, p.bbReported = 0, 0, false
	}
	p.stats.Lines++
	p.line = p.line[:0]
	p.lineStart, p.lineSplit = false, false
	p.cls.Feed(&l, p.lineOff, p.ns, p.item)
}

// item turns classifier output into records.
func (p *pipeline) item(it console.Item) {
	switch it.Kind {
	case console.ItemBoot:
		if p.segAny {
			p.newSegment("ROM boot banner", it.Offset)
		}
		p.segAny = true
	case console.ItemLine:
		if it.Line.Level != "" {
			p.segAny = true
		}
		p.put(record.Record{Type: record.TypeConsole, HostNS: it.HostNS, Offset: it.Offset,
			Body: &record.Console{Text: it.Line.Text, Level: it.Line.Level, Tag: it.Line.Tag}}, nil)
	case console.ItemRecord:
		p.put(record.Record{Type: it.Type, HostNS: it.HostNS, Offset: it.Offset, Body: it.Body}, nil)
	}
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' || c >= 0x7f {
			return false
		}
	}
	return true
}

// Events recorded in raw.idx between reads, so that replay reproduces the
// records they cause.
const (
	evLost     = "lost"     // the port vanished; text is the error
	evReopened = "reopened" // the port is back; text says after what
	evSent     = "tx"       // a command was sent; text is the line, secrets redacted
	evExpire   = "expire"   // an open console block was emitted for lack of further lines
)

// event applies one recorded event at host time ns.
func (p *pipeline) event(kind, text string, ns int64) error {
	switch kind {
	case evLost:
		p.stats.PortLost++
		p.note("port_lost", text, ns)
	case evReopened:
		p.stats.PortReopened++
		p.note("port_reopened", text, ns)
	case evSent:
		name, _, _ := strings.Cut(text, " ")
		p.sent(name, text, ns)
	case evExpire:
		p.expire(ns, 0)
	default:
		return fmt.Errorf("unknown event %q", kind)
	}
	return nil
}
