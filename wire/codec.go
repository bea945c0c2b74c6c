package wire

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/tinylib/msgp/msgp"
)

// Message is any message that travels in a frame.
type Message interface {
	msgp.Marshaler
	msgp.Unmarshaler
	FrameType() FrameType
}

// FrameType implements Message.
func (*Hello) FrameType() FrameType { return TypeHello }

// FrameType implements Message.
func (*RunStart) FrameType() FrameType { return TypeRunStart }

// FrameType implements Message.
func (*RunEnd) FrameType() FrameType { return TypeRunEnd }

// FrameType implements Message.
func (*Sample) FrameType() FrameType { return TypeSample }

// FrameType implements Message.
func (*HeapDetail) FrameType() FrameType { return TypeHeapDetail }

// FrameType implements Message.
func (*Event) FrameType() FrameType { return TypeEvent }

// FrameType implements Message.
func (*Owners) FrameType() FrameType { return TypeOwners }

// FrameType implements Message.
func (*Reply) FrameType() FrameType { return TypeReply }

// New returns a zero message of frame type t, or nil for an unknown type.
func New(t FrameType) Message {
	switch t {
	case TypeHello:
		return new(Hello)
	case TypeRunStart:
		return new(RunStart)
	case TypeRunEnd:
		return new(RunEnd)
	case TypeSample:
		return new(Sample)
	case TypeHeapDetail:
		return new(HeapDetail)
	case TypeEvent:
		return new(Event)
	case TypeOwners:
		return new(Owners)
	case TypeReply:
		return new(Reply)
	}
	return nil
}

// tupleFields is the number of fields each top-level tuple message has in
// this protocol version.
func tupleFields(t FrameType) uint32 {
	switch t {
	case TypeSample:
		return 11
	case TypeHeapDetail:
		return 4
	case TypeEvent:
		return 7
	case TypeOwners:
		return 3
	}
	return 0
}

// AppendMessage appends m, framed, to dst.
func AppendMessage(dst []byte, m Message) ([]byte, error) {
	// Encode the payload in place after room for the header, then fill in
	// the length and append the CRC: no intermediate buffer.
	t := m.FrameType()
	start := len(dst)
	out, err := m.MarshalMsg(append(dst, Magic0, Magic1, byte(t), 0, 0))
	if err != nil {
		return dst, fmt.Errorf("encode %s: %w", t, err)
	}
	n := len(out) - start - HeaderSize
	if n > MaxPayload {
		return dst, fmt.Errorf("frame %s: payload of %d bytes exceeds %d", t, n, MaxPayload)
	}
	binary.LittleEndian.PutUint16(out[start+3:], uint16(n))
	return binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start+2:])), nil
}

// Decode decodes the payload of a frame of type t.
//
// Tuple messages from a later protocol version may carry more fields than
// this version knows; the known prefix is decoded and the rest skipped.
// Fewer fields than known is an error (an older version's frozen type is
// needed, see docs/wire.md).
func Decode(t FrameType, payload []byte) (Message, error) {
	m := New(t)
	if m == nil {
		return nil, fmt.Errorf("unknown frame type %d", uint8(t))
	}
	if err := DecodeInto(m, payload); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeInto decodes payload into m, which must be zero or reset by the
// caller (map-form decoding leaves absent fields untouched).
func DecodeInto(m Message, payload []byte) error {
	t := m.FrameType()
	if want := tupleFields(t); want > 0 {
		n, body, err := msgp.ReadArrayHeaderBytes(payload)
		if err != nil {
			return fmt.Errorf("decode %s: %w", t, err)
		}
		if n < want {
			return fmt.Errorf("decode %s: %d fields, this version needs %d", t, n, want)
		}
		if n > want {
			// A later version appended fields: decode the known prefix.
			patched := msgp.AppendArrayHeader(make([]byte, 0, len(body)+5), want)
			patched = append(patched, body...)
			rest, err := m.UnmarshalMsg(patched)
			if err != nil {
				return fmt.Errorf("decode %s: %w", t, err)
			}
			for i := want; i < n; i++ {
				if rest, err = msgp.Skip(rest); err != nil {
					return fmt.Errorf("decode %s: extra field %d: %w", t, i, err)
				}
			}
			if len(rest) != 0 {
				return fmt.Errorf("decode %s: %d trailing bytes", t, len(rest))
			}
			return nil
		}
	}
	rest, err := m.UnmarshalMsg(payload)
	if err != nil {
		return fmt.Errorf("decode %s: %w", t, err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("decode %s: %d trailing bytes", t, len(rest))
	}
	return nil
}
