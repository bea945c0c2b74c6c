package sim

import (
	"fmt"
	"strings"

	"github.com/wsbench/wsbench/sim/heap"
	"github.com/wsbench/wsbench/wire"
)

// romBanner is the first-stage ROM output of the chip after a reset (facts §4
// "ROM banner" rows). reason is the esp_reset_reason_t that caused the reset.
func (m *machine) romBanner() string {
	var b strings.Builder
	poweron := m.reason == resetPowerOn
	if m.b.prof.Chip == "esp32" {
		rst := "0xc (SW_CPU_RESET)"
		if poweron {
			rst = "0x1 (POWERON_RESET)"
		}
		b.WriteString("ets Jun  8 2016 00:22:57\r\n\r\n")
		fmt.Fprintf(&b, "rst:%s,boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n", rst)
		b.WriteString("configsip: 0, SPIWP:0xee\r\nclk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00\r\n")
		b.WriteString("mode:DIO, clock div:2\r\nload:0x3fff0030,len:7104\r\nload:0x40078000,len:15576\r\nload:0x40080400,len:4\r\nentry 0x4008064c\r\n")
		return b.String()
	}
	rst := "0xc (RTC_SW_CPU_RST)"
	if poweron {
		rst = "0x1 (POWERON)"
	}
	b.WriteString("ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\n")
	fmt.Fprintf(&b, "rst:%s,boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n", rst)
	if !poweron {
		b.WriteString("Saved PC:0x40375b1e\r\n")
	}
	b.WriteString("SPIWP:0xee\r\nmode:DIO, clock div:1\r\nload:0x3fce3818,len:0x16f8\r\nload:0x403c9700,len:0x4\r\nload:0x403c9704,len:0xc00\r\nload:0x403cc700,len:0x2eb0\r\nentry 0x403c9908\r\n")
	return b.String()
}

// bootSequence prints the banner and boot log, builds the heaps, makes the
// boot-time allocations that bring the free internal heap to the profile's
// figure, starts the sampler and sends Hello.
func (m *machine) bootSequence() error {
	p := m.b.prof
	o := m.b.opts
	m.raw(m.romBanner())
	m.now = 27_000 + int64(m.rng.IntN(5000))
	m.logf('I', "boot", "ESP-IDF %s 2nd stage bootloader", idfVersion)
	m.logf('I', "boot", "chip revision: v%d.%d", p.ChipRev/100, p.ChipRev%100)
	m.now += 250_000 + int64(m.rng.IntN(20_000))
	m.logf('I', "cpu_start", "Pro cpu start user code")
	routing := heap.Routing{SPIRAMUse: o.SPIRAMUse, AlwaysInternal: o.SPIRAMAlwaysInternal}
	withPSRAM := p.PSRAMSize > 0 && o.SPIRAMUse != heap.SPIRAMUseNone
	if !withPSRAM {
		routing.SPIRAMUse = heap.SPIRAMUseNone
	}
	h, err := heap.New(p.Regions, routing)
	if err != nil {
		return fmt.Errorf("sim: boot %s: %w", p.Name, err)
	}
	m.heaps = h
	m.logf('I', "heap_init", "Initializing. RAM available for dynamic allocation:")
	for _, r := range p.Regions {
		m.logf('I', "heap_init", "At %08X len %08X (%d KiB): %s", uint32(r.Base), r.Size, r.Size/1024, r.Name)
	}
	if p.PSRAMSize > 0 && o.SPIRAMUse == heap.SPIRAMUseNone {
		m.logf('W', "wsbench", "image built without PSRAM support: %d MB PSRAM unused", p.PSRAMSize>>20)
	}
	if p.PSRAMSize == 0 && o.SPIRAMUse != heap.SPIRAMUseNone {
		m.logf('E', "quad_psram", "PSRAM ID read error: 0x00ffffff, PSRAM chip not found or not supported")
		m.logf('W', "esp_psram", "PSRAM init failed: ESP_ERR_NOT_SUPPORTED; running without PSRAM")
	}
	// System allocations up to "app start with Wi-Fi connected".
	for _, a := range bootAllocs {
		if p.NoWiFi && strings.HasPrefix(a.owner, "wifi/") {
			continue
		}
		for i := 0; i < a.count; i++ {
			if _, ok := h.CapsMalloc(a.size, heap.CapInternal|heap.Cap8Bit, a.owner); !ok {
				return fmt.Errorf("sim: boot %s: %s does not fit", p.Name, a.owner)
			}
		}
	}
	if err := m.calibrate(); err != nil {
		return err
	}
	if o.WSTaskStackInExtRAM && m.b.cfg.Behaviour == wire.BehaviourStrict {
		// PR 1117's stack option links more code and static data
		// (xTaskCreatePinnedToCoreWithCaps): less heap from boot on
		// (stackExtStaticCost). Taken after the calibration, which would
		// otherwise absorb it.
		if _, ok := h.CapsMalloc(stackExtStaticCost-heap.HeaderSize, heap.CapInternal|heap.Cap8Bit, "idf/static(stack option)"); !ok {
			return fmt.Errorf("sim: boot %s: no room for the stack option's static data", p.Name)
		}
	}
	if withPSRAM {
		if err := h.AddRegion(heap.RegionSpec{Name: "SPIRAM", Base: p.SPIRAMBase, Size: p.PSRAMSize, Caps: capsSPIRAM}); err != nil {
			return fmt.Errorf("sim: boot: %w", err)
		}
		m.logf('I', "esp_psram", "Adding pool of %dK of PSRAM memory to heap allocator", p.PSRAMSize/1024)
		if o.SPIRAMUse == heap.SPIRAMUseMalloc && o.SPIRAMReserveInternal > 0 {
			// esp_psram_extram_reserve_dma_pool: internal DMA memory becomes a
			// heap of its own that plain malloc cannot use (facts §3
			// SPIRAM_MALLOC_RESERVE_INTERNAL).
			size := o.SPIRAMReserveInternal
			ptr, ok := h.CapsMalloc(size, heap.CapDMA|heap.CapInternal, "esp_psram/dma_reserve")
			if !ok {
				return fmt.Errorf("sim: boot: cannot reserve %d bytes of internal DMA memory", size)
			}
			if err := h.AddRegion(heap.RegionSpec{Name: "DMA reserve", Base: ptr, Size: size, Caps: capsDMAReserve}); err != nil {
				return fmt.Errorf("sim: boot: %w", err)
			}
			m.logf('I', "esp_psram", "Reserving pool of %dK of internal memory for DMA/internal allocations", size/1024)
		}
	}
	h.FailSPIRAM = m.b.getFaults().PSRAMFail
	m.now += 2_400_000 + int64(m.rng.IntN(600_000))
	if p.NoWiFi {
		m.logf('I', "wsbench_eth", "Ethernet (open_eth) up (virtual board: sessions use the host network)")
	} else {
		m.logf('I', "wifi", "connected (virtual board: no radio, sessions use the host network)")
	}
	// The wsbench sampler task and its buffers (application footprint).
	h.CapsMalloc(samplerStack, heap.CapInternal|heap.Cap8Bit, "wsbench/sampler_stack")
	h.CapsMalloc(tcbSize, heap.CapInternal|heap.Cap8Bit, "wsbench/sampler_tcb")
	h.Malloc(samplerBuffers, "wsbench/sampler_buf")
	in := h.Info(heap.CapInternal)
	sp := h.Info(heap.CapSPIRAM)
	m.logf('I', "wsbench", "virtual board %s (%s), variant %s, behaviour %s, reset reason %s",
		p.Name, p.Chip, m.b.cfg.Variant, m.b.cfg.Behaviour, wire.ResetReasonName(m.reason))
	m.logf('I', "wsbench", "free internal %d B (largest %d B), 8-bit %d B, spiram %d B",
		in.Free, in.Largest, h.Info(heap.CapInternal|heap.Cap8Bit|heap.CapDefault).Free, sp.Free)
	m.send(m.hello(), false)
	return nil
}

// calibrate allocates ESP-IDF/Wi-Fi/lwIP memory until the free
// DEFAULT-capable internal heap equals the profile's FreeAtStart.
func (m *machine) calibrate() error {
	p := m.b.prof
	h := m.heaps
	caps := heap.CapInternal | heap.Cap8Bit | heap.CapDefault
	for i := 0; ; i++ {
		free := h.Info(caps).Free
		if free == p.FreeAtStart {
			return nil
		}
		if free < p.FreeAtStart || i > 64 {
			return fmt.Errorf("sim: boot %s: cannot calibrate free internal heap to %d (at %d)", p.Name, p.FreeAtStart, free)
		}
		excess := free - p.FreeAtStart
		// An allocation of payload s consumes s plus one header; keep the
		// remainder either zero or large enough for another block.
		const minCost = heap.HeaderSize + heap.MinBlock
		if excess < minCost {
			return fmt.Errorf("sim: boot %s: calibration left %d bytes over the target", p.Name, excess)
		}
		n := excess
		if n > 8192 {
			n = 8192
			if excess-n < minCost {
				n -= minCost
			}
		}
		size := n - heap.HeaderSize
		label := "wifi+lwip/runtime"
		if p.NoWiFi {
			label = "idf+lwip/runtime"
		}
		if _, ok := h.CapsMalloc(size, caps, label); !ok {
			return fmt.Errorf("sim: boot %s: calibration allocation of %d failed", p.Name, size)
		}
	}
}

// wdtDump prints the ESP-IDF task watchdog report (facts §4 "Task watchdog").
func (m *machine) wdtDump(starver string) {
	m.logf('E', "task_wdt", "Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:")
	m.logf('E', "task_wdt", " - IDLE0 (CPU 0)")
	m.logf('E', "task_wdt", "Tasks currently running:")
	m.logf('E', "task_wdt", "CPU 0: %s", starver)
	m.logf('E', "task_wdt", "CPU 1: IDLE1")
	m.logf('E', "task_wdt", "Print CPU 0 (current core) backtrace")
	m.raw(m.backtrace())
}

func (m *machine) backtrace() string {
	var b strings.Builder
	b.WriteString("\r\n\r\nBacktrace:")
	pc := uint32(0x42008000)
	if m.b.prof.Chip == "esp32" {
		pc = 0x400d2000
	}
	for i := 0; i < 5; i++ {
		fmt.Fprintf(&b, " 0x%08x:0x%08x", pc+uint32(m.rng.IntN(0x8000))&^3, 0x3fc9a000+uint32(m.rng.IntN(0x40000))&^15)
	}
	b.WriteString("\r\n\r\n")
	return b.String()
}

// abortPanic prints abort()'s panic output and "Rebooting..." (facts §4 "Panic").
func (m *machine) abortPanic() {
	m.raw(fmt.Sprintf("\r\nabort() was called at PC 0x%08x on core 0\r\n", 0x40375000+uint32(m.rng.IntN(0x1000))&^3))
	m.raw(m.backtrace())
	m.raw(m.elfLine())
	m.raw("Rebooting...\r\n")
}

// stackOverflow prints the FreeRTOS stack overflow report (facts §1 and §4).
func (m *machine) stackOverflow(task string) {
	m.raw(fmt.Sprintf("\r\n***ERROR*** A stack overflow in task %s has been detected.\r\n", task))
	m.raw(m.backtrace())
	m.raw(m.elfLine())
	m.raw("Rebooting...\r\n")
}

func (m *machine) elfLine() string {
	return "ELF file SHA256: " + m.hello().ELFSHA256 + "\r\n\r\n"
}
