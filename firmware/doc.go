// Package firmware holds the ESP-IDF benchmark firmware (C, built with idf.py,
// see README.md) and the Go host tests that compile its portable part,
// components/wsbench_wire, with the host C compiler and check it against the
// Go wire package: identical MessagePack bytes and frames, and the same
// line-command parsing.
//
// The Go package itself has no code; it must never grow a Go dependency of
// the firmware build (idf.py knows nothing of Go).
package firmware
