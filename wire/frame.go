package wire

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Frame layout (docs/wire.md):
//
//	0xA5 0x57 | type (1) | length (2, little endian) | payload (length) | CRC-32/IEEE (4, little endian)
//
// The CRC covers type, length and payload. 0xA5 never occurs in ASCII, and
// ESP-IDF console output is ASCII plus ANSI escapes, so log text does not
// start a candidate. UTF-8 text can ("¥W" is C2 A5 57), and so can garbage:
// the header check (type 1..8, length <= MaxPayload) and the CRC reject them.
const (
	Magic0 = 0xA5
	Magic1 = 0x57
	// HeaderSize is magic, type and length.
	HeaderSize = 5
	// TrailerSize is the CRC.
	TrailerSize = 4
	// Overhead is what framing adds to a payload.
	Overhead = HeaderSize + TrailerSize
	// MaxPayload is the largest payload a valid frame carries. A header that
	// claims more is not a frame.
	MaxPayload = 4096
)

// FrameType says which message a frame carries.
type FrameType uint8

// Frame types.
const (
	TypeHello      FrameType = 1
	TypeRunStart   FrameType = 2
	TypeRunEnd     FrameType = 3
	TypeSample     FrameType = 4
	TypeHeapDetail FrameType = 5
	TypeEvent      FrameType = 6
	TypeOwners     FrameType = 7
	TypeReply      FrameType = 8
	typeLimit      FrameType = 9
)

var typeNames = [...]string{"", "hello", "run_start", "run_end", "sample", "heap_detail", "event", "owners", "reply"}

// Known reports whether t is a frame type of this protocol version.
func (t FrameType) Known() bool { return t > 0 && t < typeLimit }

func (t FrameType) String() string {
	if t.Known() {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// AppendFrame appends a frame carrying payload to dst.
func AppendFrame(dst []byte, t FrameType, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return dst, fmt.Errorf("frame %s: payload of %d bytes exceeds %d", t, len(payload), MaxPayload)
	}
	start := len(dst)
	dst = append(dst, Magic0, Magic1, byte(t), 0, 0)
	binary.LittleEndian.PutUint16(dst[start+3:], uint16(len(payload)))
	dst = append(dst, payload...)
	crc := crc32.ChecksumIEEE(dst[start+2:])
	return binary.LittleEndian.AppendUint32(dst, crc), nil
}
