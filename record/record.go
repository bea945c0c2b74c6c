//msgp:limit arrays:1048576 maps:64
//msgp:tuple Envelope

// Package record is the data model of a capture after demultiplexing: every
// frame a board sent and every console line the collector classified, each
// stamped with host time, stream offset and boot segment. It reads and writes
// records as a MessagePack stream (records.msgp) and renders them as JSON
// lines. It never touches a serial port and never computes statistics.
package record

//go:generate go tool msgp -tests=false -file record.go -o record_gen.go

// Envelope is the on-disk form of one record: a tuple of the common fields
// and the body, which for frame records is the frame payload byte for byte.
type Envelope struct {
	Type    Type
	HostNS  int64
	Offset  int64
	Segment uint32
	Body    []byte
}

// Type says what a record holds.
type Type uint8

// Console is one console line (without its line ending), with the ESP-IDF log
// level and tag when the line has that shape.
type Console struct {
	Text  string `msg:"text" json:"text"`
	Level string `msg:"level" json:"level,omitempty"` // E W I D V, "" for other lines
	Tag   string `msg:"tag" json:"tag,omitempty"`
}

// Watchdog is a task watchdog report.
type Watchdog struct {
	Starving []string `msg:"starving" json:"starving"` // tasks/users that did not reset the watchdog, "IDLE0 (CPU 0)"
	Running  []string `msg:"running" json:"running"`   // "CPU 0: websocket_task"
	Aborted  bool     `msg:"aborted" json:"aborted"`   // "Aborting." followed: the watchdog panics
}

// Panic is a Guru Meditation Error or an abort().
type Panic struct {
	Cause     string `msg:"cause" json:"cause"` // e.g. "LoadProhibited", "Interrupt wdt timeout on CPU0", "abort()"
	Core      int    `msg:"core" json:"core"`
	Backtrace string `msg:"backtrace" json:"backtrace,omitempty"`
}

// StackOverflow is "***ERROR*** A stack overflow in task NAME has been detected."
type StackOverflow struct {
	Task string `msg:"task" json:"task"`
}

// Brownout is "Brownout detector was triggered".
type Brownout struct{}

// Reset is a ROM boot banner, with the reason that explains it.
type Reset struct {
	Chip    string `msg:"chip" json:"chip"`             // "esp32", "esp32s3" as the banner shape says
	Code    uint8  `msg:"code" json:"code"`             // raw rst: code
	ROMName string `msg:"rom_name" json:"rom_name"`     // e.g. "SW_CPU_RESET", "RTC_SW_CPU_RST"
	Class   string `msg:"class" json:"class"`           // poweron, software, panic, int_wdt, task_wdt, other_wdt, brownout, deepsleep, usb, unknown
	After   string `msg:"after" json:"after,omitempty"` // the record type (panic, watchdog, stack_overflow, brownout) this reset follows
}

// Note is something the collector itself observed: the port vanished or
// came back, the input looks like a wrong baud rate, a frame did not decode.
type Note struct {
	Kind string `msg:"kind" json:"kind"` // port_lost, port_reopened, bad_baud, decode_error, segment
	Text string `msg:"text" json:"text"`
}
