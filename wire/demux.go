package wire

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// ChunkKind says whether a Chunk is console text or a frame.
type ChunkKind uint8

// Chunk kinds.
const (
	ChunkText  ChunkKind = 1
	ChunkFrame ChunkKind = 2
)

// A Chunk is a piece of the byte stream: console text, or one valid frame.
// Its slices are only valid during the callback that receives it.
type Chunk struct {
	Kind    ChunkKind
	Offset  int64     // stream offset of the chunk's first byte
	Text    []byte    // ChunkText: the bytes
	Type    FrameType // ChunkFrame: the frame type
	Payload []byte    // ChunkFrame: the payload
	Size    int       // bytes of the stream this chunk covers
}

// DemuxStats counts what the demultiplexer saw.
type DemuxStats struct {
	Bytes      int64 `json:"bytes"`       // bytes fed
	Frames     int64 `json:"frames"`      // valid frames
	TextBytes  int64 `json:"text_bytes"`  // bytes passed on as text (including rejected frames)
	CRCErrors  int64 `json:"crc_errors"`  // complete frames whose CRC did not match
	BadHeaders int64 `json:"bad_headers"` // magic followed by an unknown type or a length over MaxPayload
	Resyncs    int64 `json:"resyncs"`     // candidate frames rejected, scanning restarted one byte later
	Truncated  int64 `json:"truncated"`   // a frame cut off by the end of the stream
}

// Demuxer splits a byte stream into console text and frames. It never loses a
// byte: whatever is not a valid frame is passed on as text, and its memory is
// bounded by MaxPayload+Overhead bytes of look-ahead, whatever the size of
// the slices fed to it.
type Demuxer struct {
	pending []byte // bytes not yet resolved: a possible frame prefix
	base    int64  // stream offset of pending[0] (or of the next byte when pending is empty)
	stats   DemuxStats
}

// Stats returns the counters so far.
func (d *Demuxer) Stats() DemuxStats { return d.stats }

// Offset is the stream offset of the next byte Feed will receive.
func (d *Demuxer) Offset() int64 { return d.base + int64(len(d.pending)) }

// maxLook is the most look-ahead a Demuxer holds: one whole frame.
const maxLook = MaxPayload + Overhead

// Feed passes p through the demultiplexer, calling emit for each chunk that is
// resolved. A frame split across calls is emitted once complete. Feed keeps
// no reference to p; it copies at most maxLook bytes of it.
func (d *Demuxer) Feed(p []byte, emit func(Chunk)) {
	d.stats.Bytes += int64(len(p))
	// Resolve the held candidate first, topping the look-ahead up with just
	// enough of p: a whole frame fits in maxLook bytes, so every round
	// resolves at least the candidate at pending[0].
	for len(d.pending) > 0 && len(p) > 0 {
		k := min(len(p), maxLook-len(d.pending))
		d.pending = append(d.pending, p[:k]...)
		p = p[k:]
		pos := d.scan(d.pending, emit)
		d.base += int64(pos)
		n := copy(d.pending, d.pending[pos:])
		d.pending = d.pending[:n]
	}
	if len(p) == 0 {
		return
	}
	pos := d.scan(p, emit)
	d.base += int64(pos)
	if pos < len(p) {
		if d.pending == nil {
			d.pending = make([]byte, 0, maxLook)
		}
		d.pending = append(d.pending, p[pos:]...)
	}
}

// Close ends the stream. A candidate frame cut off by the end is rejected
// like any other: its first byte is passed on as text and scanning restarts
// one byte later, so a complete frame inside the last look-ahead (after a
// false or truncated header) is still found.
func (d *Demuxer) Close(emit func(Chunk)) {
	for len(d.pending) > 0 {
		// pending starts with an unresolved candidate: at least its magic
		// byte, and it cannot complete any more.
		if len(d.pending) >= 2 && d.pending[0] == Magic0 && d.pending[1] == Magic1 {
			d.stats.Truncated++
		}
		d.text(d.pending[:1], d.base, emit)
		d.base++
		rest := d.pending[1:]
		pos := d.scan(rest, emit)
		d.base += int64(pos)
		n := copy(d.pending, rest[pos:])
		d.pending = d.pending[:n]
	}
}

func (d *Demuxer) text(b []byte, off int64, emit func(Chunk)) {
	if len(b) == 0 {
		return
	}
	d.stats.TextBytes += int64(len(b))
	emit(Chunk{Kind: ChunkText, Offset: off, Text: b, Size: len(b)})
}

// scan resolves as much of buf as it can and returns how many bytes it used.
func (d *Demuxer) scan(buf []byte, emit func(Chunk)) int {
	pos := 0
	for pos < len(buf) {
		i := bytes.IndexByte(buf[pos:], Magic0)
		if i < 0 {
			d.text(buf[pos:], d.base+int64(pos), emit)
			return len(buf)
		}
		d.text(buf[pos:pos+i], d.base+int64(pos), emit)
		pos += i
		rest := buf[pos:]
		if len(rest) < 2 {
			return pos
		}
		if rest[1] != Magic1 {
			d.text(rest[:1], d.base+int64(pos), emit)
			pos++
			continue
		}
		if len(rest) < HeaderSize {
			return pos
		}
		t := FrameType(rest[2])
		n := int(binary.LittleEndian.Uint16(rest[3:]))
		if !t.Known() || n > MaxPayload {
			d.stats.BadHeaders++
			d.stats.Resyncs++
			d.text(rest[:1], d.base+int64(pos), emit)
			pos++
			continue
		}
		total := HeaderSize + n + TrailerSize
		if len(rest) < total {
			return pos
		}
		want := binary.LittleEndian.Uint32(rest[HeaderSize+n:])
		if crc32.ChecksumIEEE(rest[2:HeaderSize+n]) != want {
			d.stats.CRCErrors++
			d.stats.Resyncs++
			d.text(rest[:1], d.base+int64(pos), emit)
			pos++
			continue
		}
		d.stats.Frames++
		emit(Chunk{Kind: ChunkFrame, Offset: d.base + int64(pos), Type: t, Payload: rest[HeaderSize : HeaderSize+n], Size: total})
		pos += total
	}
	return pos
}
