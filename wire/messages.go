//msgp:limit arrays:512 maps:64
//msgp:tuple Sample HeapDetail HeapInfo Event Owners OwnerUse

package wire

//go:generate go tool msgp -tests=false -file messages.go -o messages_gen.go

// ProtocolVersion is the version of the wire protocol this package speaks.
// Hello carries it; see docs/wire.md for how a later version adds fields.
const ProtocolVersion = 1

// Hello describes the board, the firmware image and every placement option
// compiled into it. A board sends it at boot and when asked ("hello").
// It is encoded as a MessagePack map: unknown keys are skipped, so later
// versions may add keys freely.
type Hello struct {
	Protocol         uint16  `msg:"protocol" json:"protocol"`
	Board            string  `msg:"board" json:"board"`                   // board or virtual profile name, e.g. "esp32s3-n8r8"
	Virtual          bool    `msg:"virtual" json:"virtual"`               // true for wsbench's virtual board
	Chip             string  `msg:"chip" json:"chip"`                     // "esp32", "esp32s3"
	ChipRevision     uint16  `msg:"chip_rev" json:"chip_rev"`             // major*100 + minor, as esp_chip_info reports
	Cores            uint8   `msg:"cores" json:"cores"`                   // CPU cores
	FlashSize        uint32  `msg:"flash_size" json:"flash_size"`         // bytes
	PSRAMSize        uint32  `msg:"psram_size" json:"psram_size"`         // bytes, 0 when none was found
	InternalTotal    uint32  `msg:"internal_total" json:"internal_total"` // heap_caps_get_total_size(MALLOC_CAP_INTERNAL)
	SPIRAMTotal      uint32  `msg:"spiram_total" json:"spiram_total"`     // heap_caps_get_total_size(MALLOC_CAP_SPIRAM)
	IDFVersion       string  `msg:"idf" json:"idf"`                       // esp_get_idf_version()
	AppName          string  `msg:"app" json:"app"`                       // esp_app_desc_t.project_name
	AppVersion       string  `msg:"app_version" json:"app_version"`       // esp_app_desc_t.version
	ELFSHA256        string  `msg:"elf_sha256" json:"elf_sha256"`         // hex prefix of the app ELF SHA-256
	Component        string  `msg:"component" json:"component"`           // component under test, "espressif/esp_websocket_client"
	ComponentVersion string  `msg:"component_version" json:"component_version"`
	ComponentCommit  string  `msg:"component_commit" json:"component_commit"` // git commit of a local checkout or of the pinned git dependency, "" when unknown
	Behaviour        string  `msg:"behaviour" json:"behaviour"`               // placement behaviour: BehaviourFallback or BehaviourStrict
	Variant          string  `msg:"variant" json:"variant"`                   // name of the variant the image was built as
	Options          Options `msg:"options" json:"options"`
	SamplerStack     uint32  `msg:"sampler_stack" json:"sampler_stack"`     // bytes of the sampler task's stack
	SamplerBuffers   uint32  `msg:"sampler_buffers" json:"sampler_buffers"` // bytes of the sampler's output buffers
	ResetReason      uint8   `msg:"reset_reason" json:"reset_reason"`       // esp_reset_reason_t of this boot
	// Emulator names the emulator the firmware runs in ("qemu"), "" on a
	// chip. Written only when set, so a chip's Hello is what it always was.
	Emulator string `msg:"emulator,omitempty" json:"emulator,omitempty"`
}

// Placement behaviours of the component under test (see the facts sheet,
// section 1, "The placement options under test").
const (
	// BehaviourFallback falls back to internal RAM when a PSRAM allocation fails, as the facts
	// file describes esp-protocols PR 980 (whose head commit 64b47ec97 is strict: firmware/README.md).
	BehaviourFallback = "fallback"
	// BehaviourStrict fails init/start when a PSRAM allocation fails (esp-protocols PR 1117, merged).
	BehaviourStrict = "strict"
)

// Options are the build options that decide where memory goes.
type Options struct {
	WSTaskStackInExtRAM   bool   `msg:"ws_task_stack_in_ext_ram" json:"ws_task_stack_in_ext_ram"` // CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM
	WSAllocInExtRAM       bool   `msg:"ws_alloc_in_ext_ram" json:"ws_alloc_in_ext_ram"`           // CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM
	WSTaskStack           uint32 `msg:"ws_task_stack" json:"ws_task_stack"`                       // websocket task stack, bytes
	WSBufferSize          uint32 `msg:"ws_buffer_size" json:"ws_buffer_size"`                     // esp_websocket_client buffer_size
	WSDynamicBuffer       bool   `msg:"ws_dynamic_buffer" json:"ws_dynamic_buffer"`               // CONFIG_ESP_WS_CLIENT_ENABLE_DYNAMIC_BUFFER
	MbedTLSAlloc          string `msg:"mbedtls_alloc" json:"mbedtls_alloc"`                       // internal, external, default, custom, iram8
	MbedTLSInContentLen   uint32 `msg:"mbedtls_in_len" json:"mbedtls_in_len"`                     // CONFIG_MBEDTLS_SSL_IN_CONTENT_LEN
	MbedTLSOutContentLen  uint32 `msg:"mbedtls_out_len" json:"mbedtls_out_len"`                   // CONFIG_MBEDTLS_SSL_OUT_CONTENT_LEN
	MbedTLSDynamicBuffer  bool   `msg:"mbedtls_dynamic_buffer" json:"mbedtls_dynamic_buffer"`     // CONFIG_MBEDTLS_DYNAMIC_BUFFER
	MbedTLSKeepPeerCert   bool   `msg:"mbedtls_keep_peer_cert" json:"mbedtls_keep_peer_cert"`     // CONFIG_MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
	SPIRAMUse             string `msg:"spiram_use" json:"spiram_use"`                             // malloc, caps_alloc, none
	SPIRAMAlwaysInternal  uint32 `msg:"spiram_always_internal" json:"spiram_always_internal"`     // CONFIG_SPIRAM_MALLOC_ALWAYSINTERNAL
	SPIRAMReserveInternal uint32 `msg:"spiram_reserve_internal" json:"spiram_reserve_internal"`   // CONFIG_SPIRAM_MALLOC_RESERVE_INTERNAL
	TaskWDTTimeoutS       uint8  `msg:"task_wdt_timeout_s" json:"task_wdt_timeout_s"`             // CONFIG_ESP_TASK_WDT_TIMEOUT_S
	TaskWDTPanic          bool   `msg:"task_wdt_panic" json:"task_wdt_panic"`                     // CONFIG_ESP_TASK_WDT_PANIC
}

// RunParams are the parameters of one scenario run. The "run" command carries
// them and RunStart echoes them back, so a capture records what actually ran.
type RunParams struct {
	Cell        string `msg:"cell" json:"cell"`                 // cell identifier chosen by the host
	Scenario    string `msg:"scenario" json:"scenario"`         // sweep, churn, handler
	N           uint16 `msg:"n" json:"n"`                       // TLS sessions (sweep) or sessions held during churn
	PeriodMS    uint32 `msg:"period_ms" json:"period_ms"`       // sample period
	DetailEvery uint16 `msg:"detail_every" json:"detail_every"` // a HeapDetail every this many samples (0 = never)
	BaselineMS  uint32 `msg:"baseline_ms" json:"baseline_ms"`   // quiet time before sessions
	WindowMS    uint32 `msg:"window_ms" json:"window_ms"`       // steady window
	Cycles      uint32 `msg:"cycles" json:"cycles"`             // churn cycles
	HandlerMode string `msg:"handler" json:"handler"`           // inline or queued
	WorkMS      uint32 `msg:"work_ms" json:"work_ms"`           // handler work per event
	EventMS     uint32 `msg:"event_ms" json:"event_ms"`         // handler: one event every this many ms
	Seed        uint64 `msg:"seed" json:"seed"`
	WSURL       string `msg:"ws_url" json:"ws_url"`       // wss:// URL of the peer
	HTTPSURL    string `msg:"https_url" json:"https_url"` // https:// URL of the peer
}

// RunStart is sent when a run begins.
type RunStart struct {
	Params  RunParams `msg:"params" json:"params"`
	TimeUS  uint64    `msg:"t_us" json:"t_us"`
	Variant string    `msg:"variant" json:"variant"`
}

// RunEnd is sent when a run ends, normally or not.
type RunEnd struct {
	Cell           string `msg:"cell" json:"cell"`
	TimeUS         uint64 `msg:"t_us" json:"t_us"`
	Status         string `msg:"status" json:"status"` // ok, aborted, failed
	Err            string `msg:"err" json:"err"`
	SamplesSent    uint32 `msg:"samples_sent" json:"samples_sent"`
	SamplesDropped uint32 `msg:"samples_dropped" json:"samples_dropped"` // dropped on the device: full output buffer
	Events         uint32 `msg:"events" json:"events"`
}

// Sample is the periodic measurement. It is a tuple (a MessagePack array)
// so that a typical sample stays under 48 bytes; fields are appended, never
// reordered (docs/wire.md). DMA-capable heap and block counts travel in
// HeapDetail.
type Sample struct {
	Seq             uint32 `json:"seq"`               // restarts at 0 on every boot
	TimeUS          uint64 `json:"t_us"`              // esp_timer_get_time()
	Phase           Phase  `json:"phase"`             // scenario phase
	Sessions        uint8  `json:"sessions"`          // TLS sessions open
	InternalFree    uint32 `json:"internal_free"`     // MALLOC_CAP_INTERNAL total_free_bytes
	InternalMinFree uint32 `json:"internal_min_free"` // minimum_free_bytes
	InternalLargest uint32 `json:"internal_largest"`  // largest_free_block
	SPIRAMFree      uint32 `json:"spiram_free"`       // MALLOC_CAP_SPIRAM total_free_bytes
	SPIRAMMinFree   uint32 `json:"spiram_min_free"`
	SPIRAMLargest   uint32 `json:"spiram_largest"`
	WSStackHWM      int32  `json:"ws_stack_hwm"` // bytes never used of the websocket task stack; -1 when no task runs
}

// HeapInfo mirrors multi_heap_info_t for one capability.
type HeapInfo struct {
	Free            uint32 `json:"free"`
	Allocated       uint32 `json:"allocated"`
	Largest         uint32 `json:"largest"`
	MinFree         uint32 `json:"min_free"`
	AllocatedBlocks uint32 `json:"allocated_blocks"`
	FreeBlocks      uint32 `json:"free_blocks"`
	TotalBlocks     uint32 `json:"total_blocks"`
}

// HeapDetail is the full heap_caps_get_info of every capability, sent every
// RunParams.DetailEvery samples and at each phase change.
type HeapDetail struct {
	Seq      uint32   `json:"seq"` // the Sample it belongs to
	Internal HeapInfo `json:"internal"`
	DMA      HeapInfo `json:"dma"`
	SPIRAM   HeapInfo `json:"spiram"`
}

// Event is something that happened on the board.
type Event struct {
	TimeUS  uint64    `json:"t_us"`
	Kind    EventKind `json:"kind"`
	Session int16     `json:"session"` // session index, -1 for none
	Err     int32     `json:"err"`     // esp_err_t or errno, 0 for none
	DurUS   uint32    `json:"dur_us"`  // handshake time, handler latency
	Size    uint32    `json:"size"`    // bytes (allocation failure, stack size), cycle index (cycle_end)
	Name    string    `json:"name"`    // task name, owner label, phase name
}

// OwnerUse is how much one owner label holds in one heap.
type OwnerUse struct {
	Label  string   `json:"label"` // e.g. "ws/client", "tls[3]/in_buf"
	Heap   HeapKind `json:"heap"`
	Bytes  uint32   `json:"bytes"` // including block overhead
	Blocks uint32   `json:"blocks"`
}

// Owners says where the memory went, by owner label. The virtual board sends
// it at each phase change; real firmware sends it when heap tracing is built in.
type Owners struct {
	Seq     uint32     `json:"seq"`
	Phase   Phase      `json:"phase"`
	Entries []OwnerUse `json:"entries"`
}

// Reply answers a line command.
type Reply struct {
	Cmd string `msg:"cmd" json:"cmd"`
	OK  bool   `msg:"ok" json:"ok"`
	Err string `msg:"err" json:"err"`
}

// Phase is the phase of a scenario.
type Phase uint8

// EventKind says what an Event reports.
type EventKind uint8

// HeapKind names a heap capability in Owners.
type HeapKind uint8
