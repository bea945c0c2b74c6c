package heap

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Caps is an ESP-IDF MALLOC_CAP_* mask (esp_heap_caps.h bit values).
type Caps uint32

// Capability bits, with ESP-IDF's values.
const (
	CapExec      Caps = 1 << 0  // MALLOC_CAP_EXEC
	Cap32Bit     Caps = 1 << 1  // MALLOC_CAP_32BIT
	Cap8Bit      Caps = 1 << 2  // MALLOC_CAP_8BIT
	CapDMA       Caps = 1 << 3  // MALLOC_CAP_DMA
	CapSPIRAM    Caps = 1 << 10 // MALLOC_CAP_SPIRAM
	CapInternal  Caps = 1 << 11 // MALLOC_CAP_INTERNAL
	CapDefault   Caps = 1 << 12 // MALLOC_CAP_DEFAULT
	CapIRAM8Bit  Caps = 1 << 13 // MALLOC_CAP_IRAM_8BIT
	CapRetention Caps = 1 << 14 // MALLOC_CAP_RETENTION
	CapRTCRAM    Caps = 1 << 15 // MALLOC_CAP_RTCRAM
)

var capNames = []struct {
	c Caps
	n string
}{{CapExec, "EXEC"}, {Cap32Bit, "32BIT"}, {Cap8Bit, "8BIT"}, {CapDMA, "DMA"}, {CapSPIRAM, "SPIRAM"},
	{CapInternal, "INTERNAL"}, {CapDefault, "DEFAULT"}, {CapIRAM8Bit, "IRAM_8BIT"}, {CapRetention, "RETENTION"},
	{CapRTCRAM, "RTCRAM"}}

func (c Caps) String() string {
	if c == 0 {
		return "0"
	}
	var parts []string
	for _, n := range capNames {
		if c&n.c != 0 {
			parts = append(parts, "MALLOC_CAP_"+n.n)
			c &^= n.c
		}
	}
	if c != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint32(c)))
	}
	return strings.Join(parts, "|")
}

// Priorities is the number of capability priority levels of a memory type
// (SOC_MEMORY_TYPE_NO_PRIOS in ESP-IDF).
const Priorities = 3

// RegionSpec describes a heap region as ESP-IDF registers it: a name, an
// address range and prioritised capabilities (soc_memory_layout.c).
type RegionSpec struct {
	Name string
	Base Ptr
	Size uint32
	Caps [Priorities]Caps
}

// AllCaps is the union of every priority's capabilities.
func (s RegionSpec) AllCaps() Caps { return s.Caps[0] | s.Caps[1] | s.Caps[2] }

type capRegion struct {
	spec RegionSpec
	*Region
}

// SPIRAM routing modes (CONFIG_SPIRAM_USE; facts §3 "SPIRAM_USE").
const (
	SPIRAMUseMalloc    = "malloc"     // malloc may return PSRAM
	SPIRAMUseCapsAlloc = "caps_alloc" // only heap_caps_malloc(MALLOC_CAP_SPIRAM) reaches PSRAM
	SPIRAMUseNone      = "none"       // no PSRAM heap
)

// Routing is how plain malloc picks a heap.
type Routing struct {
	SPIRAMUse string
	// AlwaysInternal is CONFIG_SPIRAM_MALLOC_ALWAYSINTERNAL (facts §3): malloc
	// requests of at most this size try internal RAM first, larger ones PSRAM
	// first, each falling back to the other.
	AlwaysInternal uint32
}

// Heaps is the set of registered heaps with heap_caps_* semantics.
type Heaps struct {
	regions []*capRegion
	routing Routing
	// FailSPIRAM makes every allocation from a SPIRAM heap fail (the
	// psram_fail fault).
	FailSPIRAM bool
	failures   int
}

// New registers the boot heaps from the smallest to the largest, as
// heap_caps_init does (sorted_add_to_registered_heaps, ESP-IDF v5.5.1
// components/heap/heap_caps_init.c); equal sizes keep the order given.
// Order matters: within a priority level the first heap that fits serves.
func New(specs []RegionSpec, routing Routing) (*Heaps, error) {
	h := &Heaps{routing: routing}
	specs = slices.Clone(specs)
	slices.SortStableFunc(specs, func(a, b RegionSpec) int { return cmp.Compare(a.Size, b.Size) })
	for _, s := range specs {
		r, err := NewRegion(s.Name, s.Base, s.Size)
		if err != nil {
			return nil, fmt.Errorf("new heaps: %w", err)
		}
		h.regions = append(h.regions, &capRegion{spec: s, Region: r})
	}
	return h, nil
}

// AddRegion registers one more heap after boot, at the head of the list, as
// heap_caps_add_region_with_caps does (SLIST_INSERT_HEAD, ESP-IDF v5.5.1
// components/heap/heap_caps_init.c). Within a priority level the heap added
// last is tried first: the PSRAM heap, whose level-0 capabilities include
// MALLOC_CAP_DEFAULT, takes heap_caps_malloc(n, MALLOC_CAP_DEFAULT) before
// any internal heap (measured in QEMU: docs/qemu.md), while malloc() keeps
// small requests internal through its own routing (Malloc).
func (h *Heaps) AddRegion(s RegionSpec) error {
	r, err := NewRegion(s.Name, s.Base, s.Size)
	if err != nil {
		return fmt.Errorf("add region: %w", err)
	}
	h.regions = append([]*capRegion{{spec: s, Region: r}}, h.regions...)
	return nil
}

// Failures counts allocations that returned NULL.
func (h *Heaps) Failures() int { return h.failures }

// CapsMalloc is heap_caps_malloc: for each priority level, the first
// registered heap whose capabilities at that level share a bit with caps and
// whose capabilities at all levels include every bit of caps gets the
// request; a heap that cannot fit it passes it on. A failure returns 0, false.
func (h *Heaps) CapsMalloc(n uint32, caps Caps, owner string) (Ptr, bool) {
	p, ok := h.capsMalloc(n, caps, owner)
	if !ok {
		h.failures++
	}
	return p, ok
}

func (h *Heaps) capsMalloc(n uint32, caps Caps, owner string) (Ptr, bool) {
	if n == 0 {
		return 0, false
	}
	for prio := 0; prio < Priorities; prio++ {
		for _, r := range h.regions {
			if r.spec.Caps[prio]&caps == 0 || r.spec.AllCaps()&caps != caps {
				continue
			}
			if h.FailSPIRAM && r.spec.AllCaps()&CapSPIRAM != 0 {
				continue
			}
			if p, ok := r.Alloc(n, owner); ok {
				return p, true
			}
		}
	}
	return 0, false
}

// Malloc is malloc/calloc (heap_caps_malloc_default): with SPIRAM_USE=MALLOC
// requests up to AlwaysInternal try DEFAULT|INTERNAL first and larger ones
// DEFAULT|SPIRAM first, then any DEFAULT heap; otherwise DEFAULT|INTERNAL only.
func (h *Heaps) Malloc(n uint32, owner string) (Ptr, bool) {
	if h.routing.SPIRAMUse != SPIRAMUseMalloc {
		return h.CapsMalloc(n, CapDefault|CapInternal, owner)
	}
	var first Caps = CapDefault | CapInternal
	if n > h.routing.AlwaysInternal {
		first = CapDefault | CapSPIRAM
	}
	if p, ok := h.capsMalloc(n, first, owner); ok {
		return p, true
	}
	return h.CapsMalloc(n, CapDefault, owner)
}

// CapsMallocPrefer is heap_caps_malloc_prefer: each caps in turn.
func (h *Heaps) CapsMallocPrefer(n uint32, owner string, caps ...Caps) (Ptr, bool) {
	for _, c := range caps {
		if p, ok := h.capsMalloc(n, c, owner); ok {
			return p, true
		}
	}
	h.failures++
	return 0, false
}

// Free is free/heap_caps_free; free(NULL) is a no-op. It reports false for a
// pointer no heap allocated.
func (h *Heaps) Free(p Ptr) bool {
	if p == 0 {
		return true
	}
	for _, r := range h.regions {
		if r.Owns(p) {
			return r.Free(p)
		}
	}
	return false
}

// IsSPIRAM reports whether p lies in a SPIRAM heap.
func (h *Heaps) IsSPIRAM(p Ptr) bool {
	for _, r := range h.regions {
		if r.Owns(p) {
			return r.spec.AllCaps()&CapSPIRAM != 0
		}
	}
	return false
}

// BlockSize returns the payload size of allocated block p.
func (h *Heaps) BlockSize(p Ptr) uint32 {
	for _, r := range h.regions {
		if s := r.BlockSize(p); s > 0 {
			return s
		}
	}
	return 0
}

func (h *Heaps) matching(caps Caps) []*capRegion {
	var out []*capRegion
	for _, r := range h.regions {
		if r.spec.AllCaps()&caps == caps {
			out = append(out, r)
		}
	}
	return out
}

// Info is heap_caps_get_info: sums over every heap having all of caps
// (MinFree is the sum of each heap's minimum, as ESP-IDF computes it).
func (h *Heaps) Info(caps Caps) Info {
	var in Info
	for _, r := range h.matching(caps) {
		ri := r.Info()
		in.Free += ri.Free
		in.Allocated += ri.Allocated
		in.MinFree += ri.MinFree
		in.Largest = max(in.Largest, ri.Largest)
		in.AllocatedBlocks += ri.AllocatedBlocks
		in.FreeBlocks += ri.FreeBlocks
		in.TotalBlocks += ri.TotalBlocks
	}
	return in
}

// TotalSize is heap_caps_get_total_size.
func (h *Heaps) TotalSize(caps Caps) uint32 {
	var t uint32
	for _, r := range h.matching(caps) {
		t += r.Size
	}
	return t
}

// ResetMinFree restarts every heap's minimum-ever free at its current free
// bytes (only the board's boot sequence uses it, see Board docs).
func (h *Heaps) ResetMinFree() {
	for _, r := range h.regions {
		r.ResetMinFree()
	}
}

// Check verifies every region's invariants.
func (h *Heaps) Check() error {
	for _, r := range h.regions {
		if err := r.Check(); err != nil {
			return err
		}
	}
	return nil
}

// Regions describes the registered heaps with their current info.
func (h *Heaps) Regions() []RegionStat {
	out := make([]RegionStat, 0, len(h.regions))
	for _, r := range h.regions {
		out = append(out, RegionStat{Spec: r.spec, Info: r.Info()})
	}
	return out
}

// RegionStat is one region and its current info.
type RegionStat struct {
	Spec RegionSpec
	Info Info
}

// OwnerUse is what one owner label holds in internal RAM or in SPIRAM.
type OwnerUse struct {
	Label  string
	SPIRAM bool
	Bytes  uint32 // payload + block header
	Blocks uint32
}

// Owners sums allocated blocks by owner label and heap kind, sorted by
// descending bytes, then label.
func (h *Heaps) Owners() []OwnerUse {
	type key struct {
		label  string
		spiram bool
	}
	acc := map[key]*OwnerUse{}
	for _, r := range h.regions {
		sp := r.spec.AllCaps()&CapSPIRAM != 0
		r.ownerUse(func(owner string, bytes uint32) {
			k := key{owner, sp}
			u := acc[k]
			if u == nil {
				u = &OwnerUse{Label: owner, SPIRAM: sp}
				acc[k] = u
			}
			u.Bytes += bytes
			u.Blocks++
		})
	}
	out := make([]OwnerUse, 0, len(acc))
	for _, u := range acc {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b OwnerUse) int {
		if a.Bytes != b.Bytes {
			if a.Bytes > b.Bytes {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.Label, b.Label); c != 0 {
			return c
		}
		if a.SPIRAM == b.SPIRAM {
			return 0
		}
		if !a.SPIRAM {
			return -1
		}
		return 1
	})
	return out
}
