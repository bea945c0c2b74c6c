package sim

import "math/rand/v2"

// Constants of the memory model. Every value names its facts-sheet row
// (/work/shared/facts/esp32-memory.md, "§n row"); "estimate" marks our own
// reading. README.md has the same table.

// esp_websocket_client (facts §1).
const (
	wsClientStruct  = 160  // §1 sizeof(struct esp_websocket_client) ~160, estimate
	wsConfigStorage = 124  // sizeof(websocket_config_storage_t) at PR 1117's merge, ours: the rig's xtensa GCC 12.2 (§1 estimates ~120); QEMU PSRAM fall 292 = 160+124+2 headers (docs/qemu.md)
	wsTransportBuf  = 1024 // §1 "ws transport buffer" CONFIG_WS_BUFFER_SIZE 1024
	// §1 "other per-client heap" lists these objects (quoted); their sizes
	// are estimates from FreeRTOS/esp_event structure sizes on a 32-bit target.
	wsEventLoopStruct = 56                       // esp_event_loop_instance_t, estimate
	wsEventQueue      = 84 + 24                  // queue control block + 1 item (queue of 1), estimate
	wsEventLoopMutex  = 84                       // loop mutex (a queue object), estimate
	wsLockMutex       = 84                       // client recursive mutex, estimate
	wsEventGroup      = 32                       // event group, estimate
	wsTransportList   = 8                        // transport list head, estimate
	wsTransportItem   = 64                       // esp_transport_item_t, one per transport, estimate
	wsSSLTransport    = 40                       // transport_esp_tls_t, estimate
	wsFoundation      = 28                       // esp_foundation_transport_t + error storage, estimate
	wsWSTransport     = 60                       // transport_ws_t, estimate
	wsUserAgent       = "ESP32 Websocket Client" // strdup'd default user agent, estimate of the string
	// TCB: sizeof(StaticTask_t) on ESP-IDF 5, estimate; §3 "TCB must be internal".
	tcbSize = 344
	// Task stack use of the websocket task (bytes, facts §1 "Stack-depth
	// units": high-water marks are in bytes).
	wsStackIdleUse = 1100 // task running, not connected: estimate
	// Least websocket task stack use at a TLS handshake's peak seen in
	// QEMU (wsStackTLSPeaks); the first half of a handshake uses half of it.
	wsStackTLSUse    = 3524
	wsSmallStackSize = 3072 // fault small_stack: a stack below wsStackTLSUse, our choice
)

// mbedTLS per session (facts §2). Record overhead: §2 "record overhead"
// 13 header + 16 IV + 48 MAC + 256 CBC padding = 333.
const (
	tlsRecordOverhead = 13 + 16 + 48 + 256
	// §2 "dynamic-buffer wrapper" +8 bytes per buffer.
	tlsDynWrapper = 8
	// esp_tls_t with its embedded mbedTLS contexts (ssl, config, entropy,
	// ctr_drbg, x509 holders): estimate. Allocated with esp-tls's calloc
	// (plain malloc routing), not the mbedTLS allocator.
	tlsCtx = 2400
	// Parsed CA certificate held in the ssl config: estimate.
	tlsCAChain = 1300
	// Peer certificate chain of the server behind §2's published figures:
	// default 42196 B - keep-peer-cert-off 38533 B = 3663 B. Used only to
	// derive tlsKexTotal: what a session keeps is peerCertCost of the chain
	// the peer actually sends.
	tlsPeerCertPublished = 42196 - 38533
	// Digest kept instead of the certificate when KEEP_PEER_CERTIFICATE=n
	// (SHA-384 size): estimate.
	tlsPeerDigest = 48
	// Parsed peer certificate kept per certificate of the chain (DER copy,
	// mbedtls_x509_crt, name and SAN lists, public key context), by key:
	// ECDSA P-256 measured in QEMU (docs/qemu.md): keep-peer-cert on minus
	// off, per session, was 1198 B [about ±40] with wsbench's peer (one
	// ECDSA P-256 leaf, 472 B DER), plus the digest the off case keeps
	// (tlsPeerDigest) = 1246 B. RSA-2048: estimate (DER ~350 B and key
	// context ~300 B larger); other keys are costed as RSA-2048.
	tlsPeerCertECDSAP256 = 1198 + tlsPeerDigest
	tlsPeerCertRSA2048   = 1900
	tlsTransform         = 1100 // ssl transform (two cipher contexts): estimate
	tlsSession           = 180  // ssl session: estimate
	tlsHandshake         = 3000 // handshake params: estimate
	// Software AES/SHA contexts per session, on boards without the
	// accelerators (Profile.SoftwareCrypto: QEMU images): measured in QEMU,
	// per-session cost of the int image minus that of the same image with
	// hardware AES/SHA, 30234 - 29451 = 783 B (docs/qemu.md).
	tlsSoftCryptoCtx = 783
	// Internal RAM the hardware AES/SHA drivers take at their first use and
	// keep (boards with accelerators): measured in QEMU as the one-time cost
	// of the hardware-AES image minus the software one, 7201 - 6808 = 393 B
	// (docs/qemu.md); which allocation it is was not identified.
	hwCryptoFirstUse = 393
	// Key-exchange temporaries (ECDHE/ECDSA bignums, hashes): derived so that
	// the default-config peak equals §2 "default 42196 B":
	// 42196 - (tlsCtx+tlsCAChain+IN+OUT+tlsTransform+tlsSession+tlsPeerCertPublished+tlsHandshake).
	tlsKexTotal = 42196 - (tlsCtx + tlsCAChain + (16384 + tlsRecordOverhead) + (4096 + tlsRecordOverhead) +
		tlsTransform + tlsSession + tlsPeerCertPublished + tlsHandshake)
	// With an ECDSA P-256 peer (wsbench's own), the key exchange holds far
	// less: QEMU measured the heap's low point 4.8 to 6.1 KB (median about
	// 5.5 KB) under the steady free heap at N = 1 to 4, every variant, with
	// software or hardware AES/SHA (docs/qemu.md). Of that, tlsHandshake is
	// live at the same time; the rest, 2500 B, is this term. The published
	// figure's server is taken to be RSA (estimate): other keys keep
	// tlsKexTotal.
	tlsKexECDSAP256 = 5500 - tlsHandshake
	tlsKexBlocks    = 5    // split into this many blocks, estimate
	tlsKexJitter    = 0.04 // ± relative, per block (documented variation), estimate
	// Dynamic-buffer mode: the IN buffer holds only the record being read.
	tlsDynHandshakeRecord = 1024 // largest handshake record held while the key exchange runs: estimate
	tlsDynIdleIn          = 16   // IN buffer shrunk to a header after a record: estimate
	// Modelled handshake CPU time on the chip (ECDHE-ECDSA with hardware
	// MPI): estimate, no facts row.
	tlsHandshakeCPUESP32S3 = 450_000 // µs, estimate
	tlsHandshakeCPUESP32   = 650_000 // µs, estimate
	tlsHandshakeCPUJitter  = 0.10    // ± relative, estimate
	// Modelled network time of a connection: TCP connect, two TLS round
	// trips and the upgrade or first request on a LAN over Wi-Fi, a few ms
	// per round trip: estimate, no facts row. Virtual time never takes the
	// wall time of the real loopback connection, so the same seed gives the
	// same capture byte for byte.
	netConnectTime = 20_000 // µs, estimate
)

// lwIP per TCP connection: all estimates (no facts row); lwIP allocates with
// MEMP_MEM_MALLOC from internal RAM.
const (
	lwipPCB     = 200 // struct tcp_pcb
	lwipNetconn = 60  // struct netconn
	lwipMbox    = 140 // receive mailbox (a queue of 6)
	lwipRxPbuf  = 1600
	// The server's handshake flight is held in ceil(flight/lwipMSS) rx pbufs
	// until mbedTLS has read it: the certificate chain's DER plus
	// serverFlightExtra bytes of hello, key exchange and done (estimate).
	// The published chain (about 3.6 KB) gives 3 pbufs; wsbench's peer, one.
	lwipMSS           = 1440 // CONFIG_LWIP_TCP_MSS default
	serverFlightExtra = 600
)

// rxPbufs is how many rx pbufs hold a server flight whose chain has
// chainDER bytes of DER (an unknown chain: the published one, 3 pbufs).
func rxPbufs(chainDER int) int {
	if chainDER <= 0 {
		return 3
	}
	return (chainDER + serverFlightExtra + lwipMSS - 1) / lwipMSS
}

// esp_http_client keep-alive session (no facts row; all estimates).
const (
	httpClientStruct = 232
	httpRequest      = 96  // request + response structs, each
	httpHeaders      = 64  // header list
	httpBuffer       = 512 // DEFAULT_HTTP_BUF_SIZE rx and tx, each
)

// Boot-time system allocations made before app start on behalf of
// ESP-IDF, FreeRTOS, Wi-Fi and lwIP. The sizes are estimates of the main
// consumers (IDF Kconfig defaults for stack sizes); a final calibration block
// makes the free DEFAULT-capable internal heap equal the profile's
// FreeAtStart (facts §3), so only their sum is sourced.
var bootAllocs = []struct {
	owner string
	size  uint32
	count int
}{
	{"idf/main_stack", 3584, 1},
	{"idf/ipc_stack", 1024, 2},
	{"idf/idle_stack", 1536, 2},
	{"idf/esp_timer_stack", 3584, 1},
	{"idf/sys_evt_stack", 2304, 1},
	{"lwip/tcpip_stack", 3072, 1},
	{"wifi/task_stack", 6656, 1},
	{"wifi/static_rx_buf", 1600, 10},
	{"wifi/mgmt", 1200, 6},
	{"lwip/netif", 2048, 2},
	{"idf/tcbs", 344, 9},
}

// wsStackTLSPeaks is the websocket task's stack use at the peak of a TLS
// handshake (bytes) with the number of times QEMU showed it: 4096 minus the
// high-water mark the firmware reported in each of the 90 cells of the rig's
// calibration run that made exactly one websocket handshake on an internal
// stack (int and alloc-ext sweep cells with N >= 1, int limit and handler
// cells; software AES, SHA and MPI; docs/qemu.md). A modelled handshake
// draws one of them with these weights. It agrees with §2 "esp_tls docs:
// ~3.6 KB task stack per connection". Churn cells, whose high-water mark is
// the deepest of 20 handshakes, went deeper once (3768 B): sim/README.md.
var wsStackTLSPeaks = []struct{ use, count int32 }{
	{3524, 39}, {3528, 23}, {3532, 2}, {3536, 14}, {3588, 1}, {3592, 2}, {3604, 4}, {3608, 3}, {3612, 1}, {3728, 1},
}

// wsStackTLSPeak draws a handshake's stack peak from wsStackTLSPeaks.
func wsStackTLSPeak(rng *rand.Rand) int32 {
	var total int32
	for _, p := range wsStackTLSPeaks {
		total += p.count
	}
	k := rng.Int32N(total)
	for _, p := range wsStackTLSPeaks {
		if k < p.count {
			return p.use
		}
		k -= p.count
	}
	return wsStackTLSPeaks[len(wsStackTLSPeaks)-1].use
}

// stackExtStaticCost is the internal heap an image built with PR 1117's
// ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM has less from boot on, for the code and
// static data the option links: measured in QEMU (docs/qemu.md), free
// internal heap at N=0 319583 B with the option against 319839 B without, in
// every repetition (idf.py size: DIRAM used 76967 B against 76675 B). Not
// measured for PR 980's code (fallback): not modelled there.
const stackExtStaticCost = 256

// Application footprint of the wsbench firmware's sampler (firmware design
// values, estimates; Hello reports them).
const (
	samplerStack   = 3072
	samplerBuffers = 2048
	// Queued handler: worker task and its queue (estimates).
	workerStack      = 3072
	workerQueueDepth = 8
	workerQueueItem  = 16
	workerSlice      = 50_000 // µs of work between vTaskDelay(1) in the worker, our design
)

// Error codes (esp_err.h, esp_tls_errors.h: ESP_ERR_ESP_TLS_BASE 0x8000 + n).
const (
	espFail                    = -1
	espErrNoMem                = 0x101
	espErrTimeout              = 0x107
	espErrTLSCannotResolve     = 0x8001
	espErrTLSFailedConnect     = 0x8004
	espErrTLSConnectionTimeout = 0x8006
	espErrTLSTCPClosedFIN      = 0x8008 // ESP_ERR_ESP_TLS_TCP_CLOSED_FIN
	espErrMbedTLSHandshake     = 0x801A // ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED
)

// Reset reasons (facts §4 esp_reset_reason_t).
const (
	resetPowerOn = 1
	resetSW      = 3
	resetPanic   = 4
	resetTaskWDT = 6
)
