package record

import (
	"encoding/json"
	"fmt"

	"github.com/wsbench/wsbench/wire"
)

// Record types. Values below 16 equal the wire frame type they carry.
const (
	TypeHello         Type = Type(wire.TypeHello)
	TypeRunStart      Type = Type(wire.TypeRunStart)
	TypeRunEnd        Type = Type(wire.TypeRunEnd)
	TypeSample        Type = Type(wire.TypeSample)
	TypeHeapDetail    Type = Type(wire.TypeHeapDetail)
	TypeEvent         Type = Type(wire.TypeEvent)
	TypeOwners        Type = Type(wire.TypeOwners)
	TypeReply         Type = Type(wire.TypeReply)
	TypeConsole       Type = 16
	TypeWatchdog      Type = 17
	TypePanic         Type = 18
	TypeStackOverflow Type = 19
	TypeBrownout      Type = 20
	TypeReset         Type = 21
	TypeNote          Type = 22
)

var typeNames = map[Type]string{
	TypeHello: "hello", TypeRunStart: "run_start", TypeRunEnd: "run_end", TypeSample: "sample",
	TypeHeapDetail: "heap_detail", TypeEvent: "event", TypeOwners: "owners", TypeReply: "reply",
	TypeConsole: "console", TypeWatchdog: "watchdog", TypePanic: "panic", TypeStackOverflow: "stack_overflow",
	TypeBrownout: "brownout", TypeReset: "reset", TypeNote: "note",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// IsFrame reports whether records of type t carry a wire frame payload.
func (t Type) IsFrame() bool { return wire.FrameType(t).Known() }

// Record is one decoded record. Body is a *wire.Hello, *wire.Sample, ... for
// frame records, or a *Console, *Watchdog, *Panic, *StackOverflow,
// *Brownout, *Reset or *Note.
type Record struct {
	Type    Type
	HostNS  int64  // host wall-clock time (Unix ns) at which the record's last byte was read
	Offset  int64  // byte offset of the record's first byte in the raw capture
	Segment uint32 // boot segment: 0 for the first boot seen, +1 at every reset
	Body    any
}

// newBody returns a zero body for t.
func newBody(t Type) (any, error) {
	if t.IsFrame() {
		return wire.New(wire.FrameType(t)), nil
	}
	switch t {
	case TypeConsole:
		return new(Console), nil
	case TypeWatchdog:
		return new(Watchdog), nil
	case TypePanic:
		return new(Panic), nil
	case TypeStackOverflow:
		return new(StackOverflow), nil
	case TypeBrownout:
		return new(Brownout), nil
	case TypeReset:
		return new(Reset), nil
	case TypeNote:
		return new(Note), nil
	}
	return nil, fmt.Errorf("unknown record type %d", uint8(t))
}

// MarshalJSON renders the record as one flat JSON object with a "type" field
// and the body's fields, e.g. {"type":"sample","host_ns":...,"seq":3,...}.
func (r Record) MarshalJSON() ([]byte, error) {
	head, err := json.Marshal(struct {
		Type    string `json:"type"`
		HostNS  int64  `json:"host_ns"`
		Offset  int64  `json:"offset"`
		Segment uint32 `json:"segment"`
	}{r.Type.String(), r.HostNS, r.Offset, r.Segment})
	if err != nil {
		return nil, err
	}
	if r.Body == nil {
		return head, nil
	}
	body, err := json.Marshal(r.Body)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", r.Type, err)
	}
	if len(body) <= 2 { // "{}"
		return head, nil
	}
	out := append(head[:len(head)-1:len(head)-1], ',')
	return append(out, body[1:]...), nil
}
