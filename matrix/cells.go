package matrix

import (
	"fmt"
	"hash/fnv"
	"sort"

	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// Defaults of the component and IDF, from ../shared/facts/esp32-memory.md.
const (
	defaultTaskStack    = 4096  // section 1, "default task stack" (WEBSOCKET_TASK_STACK)
	defaultBufferSize   = 1024  // section 1, "default buffer_size"
	defaultInContent    = 16384 // section 2, MBEDTLS_SSL_IN_CONTENT_LEN
	defaultOutContent   = 4096  // section 2, MBEDTLS_SSL_OUT_CONTENT_LEN
	defaultAlwaysIntern = 16384 // section 3, SPIRAM_MALLOC_ALWAYSINTERNAL
	defaultReserveInt   = 32768 // section 3, SPIRAM_MALLOC_RESERVE_INTERNAL
	defaultTaskWDT      = 5     // section 4, ESP_TASK_WDT_TIMEOUT_S
)

// Options returns the build options of variant v, with IDF and component
// defaults where the matrix is silent.
func (v Variant) Options() wire.Options {
	o := wire.Options{
		WSTaskStackInExtRAM:   v.StackInExtRAM,
		WSAllocInExtRAM:       v.AllocInExtRAM,
		WSTaskStack:           defaultTaskStack,
		WSBufferSize:          defaultBufferSize,
		MbedTLSAlloc:          "internal", // section 2, MBEDTLS_MEM_ALLOC_MODE default
		MbedTLSInContentLen:   defaultInContent,
		MbedTLSOutContentLen:  defaultOutContent,
		MbedTLSDynamicBuffer:  v.MbedTLSDynamicBuffer,
		MbedTLSKeepPeerCert:   true, // section 2, MBEDTLS_SSL_KEEP_PEER_CERTIFICATE default y
		SPIRAMUse:             "malloc",
		SPIRAMAlwaysInternal:  defaultAlwaysIntern,
		SPIRAMReserveInternal: defaultReserveInt,
		TaskWDTTimeoutS:       defaultTaskWDT,
		TaskWDTPanic:          false, // section 4, ESP_TASK_WDT_PANIC default n
	}
	if v.TaskStack != 0 {
		o.WSTaskStack = uint32(v.TaskStack)
	}
	if v.BufferSize != 0 {
		o.WSBufferSize = uint32(v.BufferSize)
	}
	if v.MbedTLSAlloc != "" {
		o.MbedTLSAlloc = v.MbedTLSAlloc
	}
	if v.MbedTLSInContentLen != 0 {
		o.MbedTLSInContentLen = uint32(v.MbedTLSInContentLen)
	}
	if v.MbedTLSOutContentLen != 0 {
		o.MbedTLSOutContentLen = uint32(v.MbedTLSOutContentLen)
	}
	if v.MbedTLSKeepPeerCert != nil {
		o.MbedTLSKeepPeerCert = *v.MbedTLSKeepPeerCert
	}
	if v.TaskWDTPanic != nil {
		o.TaskWDTPanic = *v.TaskWDTPanic
	}
	return o
}

// Cells expands the matrix into its cells, in a stable order.
func (f *File) Cells() []rundir.Cell {
	var cells []rundir.Cell
	for _, b := range f.Boards {
		profile := b.Virtual
		if profile == "" {
			profile = b.Target
		}
		for _, s := range f.Scenarios {
			if len(s.Boards) > 0 && !contains(s.Boards, b.Name) {
				continue
			}
			for _, v := range f.Variants {
				if len(s.Variants) > 0 && !contains(s.Variants, v.Name) {
					continue
				}
				for _, n := range s.N {
					for rep := 1; rep <= f.Repetitions; rep++ {
						id := fmt.Sprintf("%s__%s__%s__n%d__r%d", b.Name, v.Name, s.Name, n, rep)
						c := rundir.Cell{
							ID: id, Board: b.Name, Profile: profile, Port: b.Port,
							Variant: v.Name, Behaviour: f.Component.Behaviour, Branch: f.Component.Branch,
							Options: v.Options(), Scenario: s.Scenario, Label: s.Name, N: n, Rep: rep,
							Faults: b.Faults, Status: rundir.StatusPending,
						}
						c.Params = wire.RunParams{
							Cell: id, Scenario: s.Scenario, N: uint16(n),
							PeriodMS:    uint32(f.SamplePeriod.D().Milliseconds()),
							DetailEvery: uint16(f.DetailEvery),
							BaselineMS:  uint32(s.Baseline.D().Milliseconds()),
							WindowMS:    uint32(s.Window.D().Milliseconds()),
							Cycles:      uint32(s.Cycles),
							HandlerMode: s.Handler,
							WorkMS:      uint32(s.Work.D().Milliseconds()),
							EventMS:     uint32(s.Every.D().Milliseconds()),
							Seed:        cellSeed(f.Seed, id),
						}
						if c.Params.HandlerMode == "" {
							c.Params.HandlerMode = wire.HandlerQueued
						}
						if c.Params.EventMS == 0 {
							c.Params.EventMS = 100
						}
						cells = append(cells, c)
					}
				}
			}
		}
	}
	return cells
}

// cellSeed derives a cell's seed from the matrix seed and the cell id, so a
// cell gets the same seed whether it runs alone, resumed or in a shard.
func cellSeed(seed uint64, id string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", seed, id)
	return h.Sum64() >> 1 // fits in int64 for JSON readers
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Shard returns the cells of shard i (1-based) of n: the cells sorted by id
// and dealt round-robin, so every cell lands in exactly one shard, shards
// differ in size by at most one, and the split does not depend on the order
// the matrix lists things in.
func Shard(cells []rundir.Cell, i, n int) ([]rundir.Cell, error) {
	if n < 1 || i < 1 || i > n {
		return nil, fmt.Errorf("shard %d/%d: want 1 <= i <= n", i, n)
	}
	sorted := append([]rundir.Cell(nil), cells...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].ID < sorted[b].ID })
	var out []rundir.Cell
	for k, c := range sorted {
		if k%n == i-1 {
			out = append(out, c)
		}
	}
	return out, nil
}
