// Package peer is the TLS server that wsbench's sessions talk to: one
// process serving wss:// (an echo plus a configurable server push) and
// https:// (keep-alive requests with a configurable response size) over
// TLS 1.2 and 1.3, with a generated or user-supplied certificate chain and
// per-session counters that the matrix runner stores next to each cell.
//
// It owns its connections from accept to close: it enforces a connection
// limit, read limits and handshake, header and idle timeouts, and its
// shutdown also closes hijacked WebSocket connections and waits for every
// goroutine it started.
//
// It must never expose a private key: keys stay in 0600 files, and nothing
// it returns (Info, Snapshot, errors, log lines) carries key material. It
// never listens anywhere the caller did not name (the default is loopback).
package peer
