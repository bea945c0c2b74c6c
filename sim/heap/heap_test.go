package heap

import (
	"math/rand/v2"
	"testing"
)

func TestRegionRandomisedInvariantsHoldAtEveryStep(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		r, err := NewRegion("test", 0x3FC80000, 64*1024)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(seed, 99))
		var live []Ptr
		prevMin := r.Info().MinFree
		fails := 0
		for step := 0; step < 20000; step++ {
			if len(live) > 0 && rng.IntN(100) < 45 {
				i := rng.IntN(len(live))
				if !r.Free(live[i]) {
					t.Fatalf("seed %d step %d: free of live block %#x failed", seed, step, live[i])
				}
				live[i] = live[len(live)-1]
				live = live[:len(live)-1]
			} else {
				n := uint32(1 + rng.IntN(3000))
				if rng.IntN(10) == 0 {
					n = uint32(1 + rng.IntN(17000))
				}
				if p, ok := r.Alloc(n, "t"); ok {
					if p%Align != 0 {
						t.Fatalf("unaligned %#x", p)
					}
					if r.BlockSize(p) < n {
						t.Fatalf("block %d < request %d", r.BlockSize(p), n)
					}
					live = append(live, p)
				} else {
					fails++
					if in := r.Info(); in.Largest >= n && in.Largest >= MinBlock && (n+Align-1)&^(Align-1) <= in.Largest {
						t.Fatalf("step %d: alloc(%d) failed with largest free block %d", step, n, in.Largest)
					}
				}
			}
			if err := r.Check(); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			in := r.Info()
			if in.Allocated+in.Free+r.Overhead() != r.Size {
				t.Fatalf("step %d: allocated+free+overhead != size", step)
			}
			if in.Largest > in.Free {
				t.Fatalf("step %d: largest %d > free %d", step, in.Largest, in.Free)
			}
			if in.MinFree > prevMin || in.MinFree > in.Free {
				t.Fatalf("step %d: min-ever free rose from %d to %d (free %d)", step, prevMin, in.MinFree, in.Free)
			}
			prevMin = in.MinFree
			if in.AllocatedBlocks != uint32(len(live)) || in.TotalBlocks != in.AllocatedBlocks+in.FreeBlocks {
				t.Fatalf("step %d: block counts %+v, live %d", step, in, len(live))
			}
		}
		if fails == 0 {
			t.Errorf("seed %d: the run never exhausted the region; the test does not reach the failure path", seed)
		}
		for _, p := range live {
			r.Free(p)
		}
		if in := r.Info(); in.FreeBlocks != 1 || in.Free != r.Size-HeaderSize {
			t.Errorf("seed %d: after freeing everything: %+v, want one free block of %d", seed, in, r.Size-HeaderSize)
		}
	}
}

func TestRegionSplitAndMerge(t *testing.T) {
	r, _ := NewRegion("t", 0x1000, 1024)
	a, _ := r.Alloc(1, "a") // rounds up to MinBlock
	if got := r.BlockSize(a); got != MinBlock {
		t.Fatalf("1-byte block has %d bytes, want %d", got, MinBlock)
	}
	b, _ := r.Alloc(100, "b")
	c, _ := r.Alloc(100, "c")
	if in := r.Info(); in.TotalBlocks != 4 || in.Free != 1024-4*HeaderSize-MinBlock-200 {
		t.Fatalf("after 3 allocs: %+v", in)
	}
	r.Free(b)
	if in := r.Info(); in.FreeBlocks != 2 {
		t.Fatalf("hole not kept separate: %+v", in)
	}
	r.Free(c) // merges with b's hole and the tail
	if in := r.Info(); in.FreeBlocks != 1 || in.TotalBlocks != 2 {
		t.Fatalf("no merge: %+v", in)
	}
	if r.Free(c) {
		t.Fatal("double free accepted")
	}
	if _, ok := r.Alloc(0, "zero"); ok {
		t.Fatal("malloc(0) returned a block")
	}
	if _, ok := r.Alloc(5000, "big"); ok {
		t.Fatal("oversized alloc succeeded")
	}
}

func testHeaps(t *testing.T, use string) *Heaps {
	t.Helper()
	h, err := New([]RegionSpec{
		{Name: "DRAM", Base: 0x3FC88000, Size: 64 * 1024, Caps: [3]Caps{Cap8Bit | CapDefault, CapInternal | CapDMA | Cap32Bit, 0}},
		{Name: "IRAM", Base: 0x40080000, Size: 32 * 1024, Caps: [3]Caps{CapExec | Cap32Bit | CapInternal, 0, 0}},
		{Name: "SPIRAM", Base: 0x3F800000, Size: 1 << 20, Caps: [3]Caps{CapSPIRAM | CapDefault, 0, Cap8Bit | Cap32Bit}},
	}, Routing{SPIRAMUse: use, AlwaysInternal: 16384})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHeapsRouting(t *testing.T) {
	tests := []struct {
		name   string
		use    string
		size   uint32
		caps   Caps // 0 = plain malloc
		fail   bool
		spiram bool
		ok     bool
	}{
		{"small malloc stays internal", SPIRAMUseMalloc, 1000, 0, false, false, true},
		{"malloc at the threshold stays internal", SPIRAMUseMalloc, 16384, 0, false, false, true},
		{"malloc above the threshold goes to PSRAM", SPIRAMUseMalloc, 16385, 0, false, true, true},
		{"malloc above the threshold falls back to internal", SPIRAMUseMalloc, 16385, 0, true, false, true},
		{"caps_alloc keeps big malloc internal", SPIRAMUseCapsAlloc, 20000, 0, false, false, true},
		{"SPIRAM caps go to PSRAM", SPIRAMUseCapsAlloc, 100, CapSPIRAM, false, true, true},
		{"SPIRAM caps fail when PSRAM fails", SPIRAMUseMalloc, 100, CapSPIRAM | Cap8Bit, true, false, false},
		{"internal 8-bit never uses 32-bit IRAM", SPIRAMUseMalloc, 100, CapInternal | Cap8Bit, false, false, true},
		{"DMA never uses PSRAM", SPIRAMUseMalloc, 100, CapDMA, false, false, true},
		{"exec gets IRAM", SPIRAMUseMalloc, 100, CapExec, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := testHeaps(t, tt.use)
			h.FailSPIRAM = tt.fail
			var p Ptr
			var ok bool
			if tt.caps == 0 {
				p, ok = h.Malloc(tt.size, "x")
			} else {
				p, ok = h.CapsMalloc(tt.size, tt.caps, "x")
			}
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				if h.Failures() != 1 {
					t.Errorf("failures = %d, want 1", h.Failures())
				}
				return
			}
			if got := h.IsSPIRAM(p); got != tt.spiram {
				t.Errorf("in SPIRAM = %v, want %v (p=%#x)", got, tt.spiram, p)
			}
			if tt.caps&CapExec != 0 && (p < 0x40080000 || p >= 0x40088000) {
				t.Errorf("exec block at %#x, not in IRAM", p)
			}
			if tt.caps&(Cap8Bit|CapDMA) != 0 && p >= 0x40080000 {
				t.Errorf("8-bit/DMA block at %#x in 32-bit IRAM", p)
			}
		})
	}
}

func TestHeapsInfoAndOwners(t *testing.T) {
	h := testHeaps(t, SPIRAMUseMalloc)
	before := h.Info(CapInternal)
	a, _ := h.Malloc(100, "ws/client")
	h.Malloc(200, "ws/client")
	h.CapsMalloc(4096, CapSPIRAM, "ws/stack")
	after := h.Info(CapInternal)
	if before.Free-after.Free != 100+200+2*HeaderSize {
		t.Errorf("internal free fell by %d, want %d", before.Free-after.Free, 308)
	}
	if h.Info(CapInternal|Cap8Bit).Free >= after.Free {
		t.Error("INTERNAL|8BIT should exclude the 32-bit-only IRAM")
	}
	own := h.Owners()
	if len(own) != 2 || own[0] != (OwnerUse{"ws/stack", true, 4100, 1}) || own[1] != (OwnerUse{"ws/client", false, 308, 2}) {
		t.Errorf("owners = %+v", own)
	}
	if !h.Free(a) || h.Free(a) || !h.Free(0) {
		t.Error("free semantics wrong")
	}
	if err := h.Check(); err != nil {
		t.Error(err)
	}
}
