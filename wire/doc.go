// Package wire is the protocol between a board and the wsbench collector:
// the MessagePack messages a board sends (Hello, RunStart, RunEnd, Sample,
// HeapDetail, Event, Owners, Reply), the frames that carry them inside the
// console byte stream (AppendFrame, AppendMessage, Demuxer, Decode), and the
// line commands the host sends (ParseCommand, RunCommand, ParseRunParams).
// docs/wire.md is the specification; testdata/ holds the golden vectors the
// firmware is tested against.
//
// The package is pure: it never opens a port or a file, never blocks, keeps
// no global mutable state, and never panics or loses a byte on bad input.
// Whatever the Demuxer cannot prove is a frame (magic, known type, length,
// CRC) is passed on as text, and decoding allocates a bounded amount whatever
// the payload claims (strings within the payload, arrays <= 512 and maps <= 64
// elements).
package wire
