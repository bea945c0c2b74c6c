package sim

import (
	"fmt"

	"github.com/wsbench/wsbench/sim/heap"
	"github.com/wsbench/wsbench/wire"
)

// Profile is a board the simulator can be: its chip, its memory and the free
// internal heap its application starts with.
type Profile struct {
	Name        string
	Description string
	Chip        string // "esp32", "esp32s3"
	ChipRev     uint16 // major*100 + minor
	Cores       uint8
	FlashSize   uint32
	PSRAMSize   uint32 // 0: no PSRAM
	// Regions are the heaps registered at boot (internal ones; SPIRAM is
	// added when PSRAMSize > 0).
	Regions []heap.RegionSpec
	// SPIRAMBase is where the PSRAM heap starts.
	SPIRAMBase heap.Ptr
	// FreeAtStart is the free DEFAULT-capable internal heap
	// (esp_get_free_heap_size on a build without PSRAM) at app start with
	// Wi-Fi connected. The boot sequence allocates the rest on behalf of
	// ESP-IDF, Wi-Fi and lwIP.
	FreeAtStart uint32
	// FreeAtStartSource names the facts-sheet row of FreeAtStart.
	FreeAtStartSource string
	// NoWiFi: the board has no Wi-Fi stack (Espressif's QEMU, which has
	// open_eth instead): boot allocates no Wi-Fi task or buffers, and
	// FreeAtStart is the free heap with the Ethernet link up.
	NoWiFi bool
	// SoftwareCrypto: mbedTLS runs AES and SHA in software (QEMU images turn
	// the accelerators off, docs/qemu.md): every session holds the software
	// contexts, and no accelerator driver state is allocated.
	SoftwareCrypto bool
}

// Capability sets of the memory types (ESP-IDF soc_memory_layout.c of each
// chip; not a facts-sheet row, transcribed from the IDF source).
var (
	capsDRAM  = [heap.Priorities]heap.Caps{heap.Cap8Bit | heap.CapDefault, heap.CapInternal | heap.CapDMA | heap.Cap32Bit, 0}
	capsDIRAM = [heap.Priorities]heap.Caps{0, heap.CapDMA | heap.Cap8Bit | heap.CapInternal | heap.CapDefault, heap.Cap32Bit | heap.CapExec}
	capsIRAM  = [heap.Priorities]heap.Caps{heap.CapExec | heap.Cap32Bit | heap.CapInternal, 0, 0}
	// The ESP32-S3's own table (ESP-IDF v5.5.1 components/heap/port/esp32s3/memory_layout.c,
	// CONFIG_ESP_SYSTEM_MEMPROT_FEATURE=y, its default; SIMD not modelled): D/IRAM
	// ("RAM") serves DEFAULT, 8-bit and INTERNAL requests at level 0, the DRAM
	// data-cache region only at level 1, RTC RAM only at level 2.
	capsS3DIRAM  = [heap.Priorities]heap.Caps{s3CommonCaps | heap.CapInternal | heap.CapDMA | heap.CapRetention, 0, 0}
	capsS3DRAM   = [heap.Priorities]heap.Caps{0, s3CommonCaps | heap.CapInternal | heap.CapDMA, 0}
	capsS3RTCRAM = [heap.Priorities]heap.Caps{heap.CapRTCRAM, 0, s3CommonCaps | heap.CapInternal}
	capsSPIRAM   = [heap.Priorities]heap.Caps{heap.CapSPIRAM | heap.CapDefault, 0, heap.Cap8Bit | heap.Cap32Bit}
	// capsDMAReserve: the pool esp_psram_extram_reserve_dma_pool registers
	// for SPIRAM_MALLOC_RESERVE_INTERNAL: DMA|INTERNAL, then 8BIT|32BIT, never
	// DEFAULT, so plain malloc does not use it.
	capsDMAReserve = [heap.Priorities]heap.Caps{0, heap.CapDMA | heap.CapInternal, heap.Cap8Bit | heap.Cap32Bit}
)

// s3CommonCaps is ESP32S3_MEM_COMMON_CAPS.
const s3CommonCaps = heap.CapDefault | heap.Cap32Bit | heap.Cap8Bit

const kib = 1024

// esp32S3Regions: facts §3 "ESP32-S3 boot heap regions (IDF 4.4)": D/IRAM 263 KiB,
// STACK/DIRAM 21 KiB, DRAM 32 KiB, RTCRAM 7 KiB. Base addresses are plausible
// values for the chip's address map (estimate; they only appear in logs).
func esp32S3Regions() []heap.RegionSpec {
	return []heap.RegionSpec{
		{Name: "DRAM", Base: 0x3FCF0000, Size: 32 * kib, Caps: capsS3DRAM},
		{Name: "D/IRAM", Base: 0x3FC9A000, Size: 263 * kib, Caps: capsS3DIRAM},
		{Name: "STACK/DIRAM", Base: 0x3FCE9000, Size: 21 * kib, Caps: capsS3DIRAM},
		{Name: "RTCRAM", Base: 0x600FE000, Size: 7 * kib, Caps: capsS3RTCRAM},
	}
}

// esp32Regions: facts §3 "ESP32 boot heap regions (IDF 5.5)": DRAM 6+160 KiB,
// D/IRAM 14+111 KiB, IRAM 32 KiB (32-bit access only).
func esp32Regions() []heap.RegionSpec {
	return []heap.RegionSpec{
		{Name: "DRAM", Base: 0x3FFAE6E0, Size: 6 * kib, Caps: capsDRAM},
		{Name: "DRAM", Base: 0x3FFB8000, Size: 160 * kib, Caps: capsDRAM},
		{Name: "D/IRAM", Base: 0x3FFE0440, Size: 14 * kib, Caps: capsDIRAM},
		{Name: "D/IRAM", Base: 0x3FFE4350, Size: 111 * kib, Caps: capsDIRAM},
		{Name: "IRAM", Base: 0x40098000, Size: 32 * kib, Caps: capsIRAM},
	}
}

// esp32S3QEMURegions: the boot heap regions of the wsbench firmware in
// Espressif's QEMU (esp32s3, ESP-IDF v5.5.1, no Wi-Fi), from its boot log
// ("heap_init: At 3FC9AC00 len 0004EB10 (314 KiB): RAM", ...): measured on our
// rig (docs/qemu.md). Capabilities as esp32S3Regions.
func esp32S3QEMURegions() []heap.RegionSpec {
	return []heap.RegionSpec{
		{Name: "RAM", Base: 0x3FC9AC00, Size: 0x4EB10, Caps: capsS3DIRAM},
		{Name: "RAM", Base: 0x3FCE9710, Size: 0x5724, Caps: capsS3DIRAM},
		{Name: "DRAM", Base: 0x3FCF0000, Size: 0x8000, Caps: capsS3DRAM},
		{Name: "RTCRAM", Base: 0x600FE000, Size: 0x1FE8, Caps: capsS3RTCRAM},
	}
}

// freeAtStartQEMUS3 is the free DEFAULT-capable internal heap at app start of
// the esp32s3-qemu profile: chosen so that this model's free internal heap
// (MALLOC_CAP_INTERNAL) before the first session equals the median the wsbench
// firmware reports in QEMU at N=0 (319839 B, every N=0 cell of the rig's
// calibration run; docs/qemu.md). Only that sum is measured; the split among
// the boot consumers stays an estimate.
const freeAtStartQEMUS3 = 325324

// Free heap with Wi-Fi connected, facts §3 "free heap with Wi-Fi connected
// (default rank)": ESP32 144.5 KB, ESP32-S3 183.9 KB. The guide's "KB" is
// read as KiB (estimate) and rounded down to 4 bytes.
const (
	freeAtStartESP32   = 147968 // 144.5 * 1024
	freeAtStartESP32S3 = 188312 // 183.9 * 1024 = 188313.6, 4-byte aligned
)

// Profiles lists the board profiles the simulator knows.
func Profiles() []Profile {
	return []Profile{
		{
			Name: "esp32s3-n8r8", Description: "ESP32-S3 module, 8 MB flash, 8 MB octal PSRAM",
			Chip: "esp32s3", ChipRev: 2, Cores: 2, FlashSize: 8 << 20, PSRAMSize: 8 << 20,
			Regions: esp32S3Regions(), SPIRAMBase: 0x3D000000,
			FreeAtStart: freeAtStartESP32S3, FreeAtStartSource: "facts §3 free heap with Wi-Fi connected: ESP32-S3 183.9 KB",
		},
		{
			Name: "esp32-wrover", Description: "ESP32-WROVER module, 4 MB flash, 4 MB PSRAM",
			Chip: "esp32", ChipRev: 300, Cores: 2, FlashSize: 4 << 20, PSRAMSize: 4 << 20,
			Regions: esp32Regions(), SPIRAMBase: 0x3F800000,
			FreeAtStart: freeAtStartESP32, FreeAtStartSource: "facts §3 free heap with Wi-Fi connected: ESP32 144.5 KB",
		},
		{
			Name: "esp32s3-qemu", Description: "ESP32-S3 in Espressif's QEMU: 8 MB (quad) PSRAM, open_eth instead of Wi-Fi",
			Chip: "esp32s3", ChipRev: 0, Cores: 2, FlashSize: 8 << 20, PSRAMSize: 8 << 20,
			Regions: esp32S3QEMURegions(), SPIRAMBase: 0x3C000000, NoWiFi: true, SoftwareCrypto: true,
			FreeAtStart: freeAtStartQEMUS3, FreeAtStartSource: "QEMU measurement (docs/qemu.md): free internal heap at N=0, 319839 B",
		},
		{
			Name: "esp32s3-n8", Description: "ESP32-S3 module, 8 MB flash, no PSRAM",
			Chip: "esp32s3", ChipRev: 2, Cores: 2, FlashSize: 8 << 20,
			Regions:     esp32S3Regions(),
			FreeAtStart: freeAtStartESP32S3, FreeAtStartSource: "facts §3 free heap with Wi-Fi connected: ESP32-S3 183.9 KB",
		},
	}
}

// ProfileByName finds a profile.
func ProfileByName(name string) (Profile, error) {
	var names []string
	for _, p := range Profiles() {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Profile{}, fmt.Errorf("unknown board profile %q (have %v)", name, names)
}

// DefaultOptions are ESP-IDF's defaults for a board without any placement
// option (facts §1, §2, §3, §4 rows named per field).
func DefaultOptions(p Profile) wire.Options {
	o := wire.Options{
		WSTaskStack:           4096,  // facts §1 "default task stack"
		WSBufferSize:          1024,  // facts §1 "default buffer_size"
		WSDynamicBuffer:       false, // facts §1 "dynamic buffer option" default n
		MbedTLSAlloc:          MbedTLSAllocInternal,
		MbedTLSInContentLen:   16384, // facts §2 IN/OUT_CONTENT_LEN
		MbedTLSOutContentLen:  4096,  // facts §2 IN/OUT_CONTENT_LEN
		MbedTLSDynamicBuffer:  false, // facts §2 MBEDTLS_DYNAMIC_BUFFER
		MbedTLSKeepPeerCert:   true,  // facts §2 MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
		SPIRAMUse:             heap.SPIRAMUseMalloc,
		SPIRAMAlwaysInternal:  16384, // facts §3 SPIRAM_MALLOC_ALWAYSINTERNAL
		SPIRAMReserveInternal: 32768, // facts §3 SPIRAM_MALLOC_RESERVE_INTERNAL
		TaskWDTTimeoutS:       5,     // facts §4 ESP_TASK_WDT_TIMEOUT_S
		TaskWDTPanic:          false, // facts §4 ESP_TASK_WDT_PANIC default n
	}
	if p.PSRAMSize == 0 {
		o.SPIRAMUse = heap.SPIRAMUseNone
		o.SPIRAMAlwaysInternal = 0
		o.SPIRAMReserveInternal = 0
	}
	return o
}

// mbedTLS allocation modes (facts §2 MBEDTLS_MEM_ALLOC_MODE).
const (
	MbedTLSAllocInternal = "internal"
	MbedTLSAllocExternal = "external"
	MbedTLSAllocDefault  = "default"
	MbedTLSAllocCustom   = "custom"
	MbedTLSAllocIRAM8    = "iram8"
)

// fillOptions completes o: a zero Options means DefaultOptions; otherwise
// zero numbers and empty strings take their default (booleans are taken as
// given). It rejects values the firmware could not be built with.
func fillOptions(p Profile, o wire.Options) (wire.Options, error) {
	d := DefaultOptions(p)
	if o == (wire.Options{}) {
		return d, nil
	}
	if o.WSTaskStack == 0 {
		o.WSTaskStack = d.WSTaskStack
	}
	if o.WSBufferSize == 0 {
		o.WSBufferSize = d.WSBufferSize
	}
	if o.MbedTLSAlloc == "" {
		o.MbedTLSAlloc = d.MbedTLSAlloc
	}
	if o.MbedTLSInContentLen == 0 {
		o.MbedTLSInContentLen = d.MbedTLSInContentLen
	}
	if o.MbedTLSOutContentLen == 0 {
		o.MbedTLSOutContentLen = d.MbedTLSOutContentLen
	}
	if o.SPIRAMUse == "" {
		o.SPIRAMUse = d.SPIRAMUse
	}
	if o.SPIRAMAlwaysInternal == 0 {
		o.SPIRAMAlwaysInternal = d.SPIRAMAlwaysInternal
	}
	if o.SPIRAMReserveInternal == 0 {
		o.SPIRAMReserveInternal = d.SPIRAMReserveInternal
	}
	if o.TaskWDTTimeoutS == 0 {
		o.TaskWDTTimeoutS = d.TaskWDTTimeoutS
	}
	switch o.MbedTLSAlloc {
	case MbedTLSAllocInternal, MbedTLSAllocExternal, MbedTLSAllocDefault, MbedTLSAllocCustom, MbedTLSAllocIRAM8:
	default:
		return o, fmt.Errorf("options: mbedtls_alloc %q: want internal, external, default, custom or iram8", o.MbedTLSAlloc)
	}
	switch o.SPIRAMUse {
	case heap.SPIRAMUseMalloc, heap.SPIRAMUseCapsAlloc, heap.SPIRAMUseNone:
	default:
		return o, fmt.Errorf("options: spiram_use %q: want malloc, caps_alloc or none", o.SPIRAMUse)
	}
	// A PSRAM-enabled image on a chip without PSRAM keeps its option values
	// (they are what the image was built with); the heap simply has no
	// SPIRAM region, as when esp_psram_init fails.
	if o.TaskWDTTimeoutS > 60 {
		return o, fmt.Errorf("options: task_wdt_timeout_s %d: want 1-60 (facts §4)", o.TaskWDTTimeoutS)
	}
	if o.MbedTLSInContentLen > 16384 || o.MbedTLSOutContentLen > 16384 || o.MbedTLSInContentLen < 512 || o.MbedTLSOutContentLen < 512 {
		return o, fmt.Errorf("options: mbedtls content lengths %d/%d: want 512-16384", o.MbedTLSInContentLen, o.MbedTLSOutContentLen)
	}
	if o.WSTaskStack < 1024 || o.WSTaskStack > 65536 {
		return o, fmt.Errorf("options: ws_task_stack %d: want 1024-65536", o.WSTaskStack)
	}
	return o, nil
}
