// Package collector captures what a board sends on its serial port: it
// appends every byte to raw.bin before decoding anything, splits the stream
// into frames and console lines (wire.Demuxer), decodes frames, classifies
// console lines (package collector/console), tracks boot segments, dropped
// samples, lost ports and wrong baud rates, and writes records.msgp,
// console.log and capture.json into a capture directory (package rundir).
// DecodeRaw decodes a saved raw.bin again into exactly the records the live
// capture wrote.
//
// It must never lose a byte it has read, never crash or grow without bound
// on bad input, and never compute statistics on the samples it captures.
package collector

import "errors"

// ErrEnded is returned by Queue.Next when the capture has ended and every
// record was taken.
var ErrEnded = errors.New("capture ended")
