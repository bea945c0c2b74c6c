// Package sim is wsbench's virtual board: an ESP32 that speaks exactly the
// wire protocol of the real firmware (console text, framed MessagePack
// messages, line commands) over any byte stream or a pseudo-terminal, so the
// whole tool runs end to end without hardware.
//
// Its memory figures come from a model whose every constant cites a row of
// the facts sheet (/work/shared/facts/esp32-memory.md) or says it is an
// estimate: heap regions with ESP-IDF capabilities (package sim/heap, a
// TLSF-like allocator per region), esp_websocket_client with both placement
// behaviours (fallback, as the facts file describes PR 980; strict, PR 1117
// and PR 980's head commit), mbedTLS sessions, lwIP
// sockets and HTTPS keep-alive clients. Its TLS sessions are real
// connections to the URLs the run command names. Time is virtual unless
// Config.Realtime is set; variation is seeded. README.md documents the
// model, its constants and its variation.
//
// The package must never present an invented number as a measurement: a
// constant without a facts-sheet row is marked as an estimate here and in
// README.md, and Hello always says Virtual=true. It must never panic on
// input (commands, URLs, allocation failures), and it never touches the
// network beyond the URLs a run command gives it.
//
// API for the matrix runner:
//
//	b, err := sim.New(sim.Config{Profile: "esp32s3-n8r8", Options: opts, Behaviour: wire.BehaviourStrict, Seed: 1, RootCAs: pool})
//	err = b.Serve(ctx, rw)               // any io.ReadWriter, boots first
//	path, done, err := sim.ServePTY(ctx, b) // or on a pty: /dev/pts/N
package sim
