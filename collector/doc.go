// Package collector captures what a board sends on its serial port: it
// appends every byte to raw.bin before decoding anything, splits the stream
// into frames and console lines (wire.Demuxer), decodes frames, classifies
// console lines (package collector/console), tracks boot segments, dropped
// samples, lost ports and wrong baud rates, and writes records.msgp,
// console.log and capture.json into a capture directory (package rundir).
// DecodeRaw decodes a saved raw.bin again into exactly the records the live
// capture wrote.
//
// raw.idx has one line per read, "offset host_ns" (the stream offset of the
// read's first byte and the host time in Unix nanoseconds), and one line per
// event that changes the records without bytes, "offset host_ns kind text"
// with text a Go-quoted string: lost (the port vanished; text is the error),
// reopened, tx (a command sent, secrets redacted), expire (an open console
// block was emitted because no line followed within Options.BlockTimeout).
// Replaying the reads with the same chunking and host times, and the events
// at their offsets, is what makes DecodeRaw exact.
//
// Records: every console line is a record.Console; classified shapes add
// Watchdog, Panic, StackOverflow, Brownout and Reset records; the collector
// adds Notes: segment (a new boot segment begins: ROM banner, Sample.Seq
// going back, or an unrequested Hello after samples), seq_gap, decode_error,
// long_line, bad_baud, port_lost, port_reopened, command.
//
// It must never lose a byte it has read, never crash or grow without bound
// on bad input, and never compute statistics on the samples it captures.
package collector

import "errors"

// ErrEnded is returned by Queue.Next when the capture has ended and every
// record was taken.
var ErrEnded = errors.New("capture ended")
