package sim

import "math/rand/v2"

// Constants of the memory model. Every value names its facts-sheet row
// (/work/shared/facts/esp32-memory.md, "§n row"); "estimate" marks our own
// reading. README.md has the same table.

// Structure sizes marked "sizeof" were measured with the rig's xtensa GCC
// 12.2 for ESP-IDF v5.5.1 and esp_websocket_client at PR 1117's merge
// (docs/qemu.md, "Structure sizes"). Which objects are allocated, and with
// which allocator, was read from esp_websocket_client.c at that commit and
// from ESP-IDF v5.5.1's tcp_transport, esp_event, esp_http_client and lwIP
// port sources.

// FreeRTOS and esp_event objects.
const (
	queueStruct = 84 // sizeof(Queue_t): a queue, mutex or recursive mutex (pvPortMalloc: internal)
	eventGroup  = 36 // sizeof(EventGroup_t) (pvPortMalloc: internal)
	// esp_event_handler_register_with on a loop with no handler yet: loop
	// node 12, base node 16, handler node 12, handler context 8 (sizeof,
	// calloc).
	evLoopNode, evBaseNode, evHandlerNode, evHandlerCtx = 12, 16, 12, 8
)

// esp-tls transports (tcp_transport), one per esp_transport_*_init.
const (
	transportList    = 8   // sizeof(struct esp_transport_list_t)
	transportItem    = 64  // sizeof(esp_transport_item_t)
	transportTLS     = 104 // sizeof(transport_esp_tls_t), tcp and ssl transports
	transportFound   = 4   // sizeof(esp_foundation_transport_t), tcp and ssl transports
	transportErrors  = 16  // sizeof(struct esp_transport_error_storage), with the foundation
	transportWSState = 64  // sizeof(transport_ws_t); the ws transport shares its parent's foundation
)

// esp_websocket_client (facts §1).
const (
	wsClientStruct  = 160  // sizeof(struct esp_websocket_client) (§1 estimates ~160)
	wsConfigStorage = 124  // sizeof(websocket_config_storage_t) (§1 estimates ~120); QEMU PSRAM fall 292 = 160+124+2 headers (docs/qemu.md)
	wsTransportBuf  = 1024 // §1 "ws transport buffer" CONFIG_WS_BUFFER_SIZE 1024
	// The client's event loop: esp_event_loop_instance_t (sizeof 24,
	// malloc), its queue of one esp_event_post_instance_t (sizeof 16; queue
	// and storage in one block) and its mutex.
	wsEventLoopStruct = 24
	wsEventQueue      = queueStruct + 1*16
	wsEventLoopMutex  = queueStruct
	wsLockMutex       = queueStruct // client->lock (tx_lock only with ESP_WS_CLIENT_SEPARATE_TX_LOCK, off)
	wsEventGroup      = eventGroup  // client->status_bits
	// Internal heap a websocket session holds in QEMU beyond every object
	// listed here, whose owner we have not attributed: QEMU's one-time cost
	// (websocket client and task, less an HTTPS client: int 6853 B [6814,
	// 6891], the other variants alike; examples/qemu.yaml on the rig,
	// docs/qemu.md) less the model's sum of the listed objects (6261 B),
	// 592 B; the same in all four variants, so it does not depend on the
	// placement options. The firmware has no heap tracing, so its owner is
	// open. Candidates: lwIP's per-thread semaphore and pthread
	// thread-local node, which the websocket task takes at its first socket
	// call (the HTTPS sessions share the scenario task's), and lwIP
	// segments of the websocket connection not yet acknowledged.
	// Calibrated against QEMU; replace it when the owner is found.
	wsUnattributed = 592
	// TCB: sizeof(StaticTask_t) (§3 "TCB must be internal").
	tcbSize = 340
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
	// sizeof(esp_tls_t) with its embedded mbedTLS contexts (ssl 252, config
	// 140, entropy 420, ctr_drbg 320, x509 holders 408 each): measured on
	// the rig (docs/qemu.md). Allocated with esp-tls's calloc (plain malloc
	// routing), not the mbedTLS allocator.
	tlsCtx = 2008
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
	tlsSession           = 144  // sizeof(mbedtls_ssl_session), measured on the rig
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

// lwIP per TCP connection; lwIP allocates with MEMP_MEM_MALLOC from
// internal RAM.
const (
	lwipPCB     = 208 // sizeof(struct tcp_pcb), measured on the rig
	lwipNetconn = 52  // sizeof(struct netconn), measured on the rig
	// Receive mailbox: struct sys_mbox_s (8) and a FreeRTOS queue of
	// CONFIG_LWIP_TCP_RECVMBOX_SIZE (6) pointers, two blocks.
	lwipMboxHead  = 8
	lwipMboxQueue = queueStruct + 6*4
	lwipRxPbuf    = 1600
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

// esp_http_client (ESP-IDF v5.5.1), initialised as the firmware does (url,
// cert_pem, keep-alive): sizeofs measured on the rig.
const (
	httpClientStruct   = 224 // sizeof(esp_http_client_t)
	httpParser         = 32  // sizeof(struct http_parser)
	httpParserSettings = 40  // sizeof(struct http_parser_settings)
	httpAuthData       = 48  // sizeof(esp_http_auth_data_t)
	httpData           = 48  // sizeof(esp_http_data_t): request and response
	httpHeaderList     = 8   // sizeof(struct http_header): request and response
	httpBufferStruct   = 24  // sizeof(esp_http_buffer_t): request and response
	httpHeaderItem     = 12  // sizeof(http_header_item_t): User-Agent and Host
	httpBuffer         = 512 // DEFAULT_HTTP_BUF_SIZE rx and tx, each
	httpUserAgent      = "ESP32 HTTP Client/1.0"
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
	{"idf/tcbs", tcbSize, 9},
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
