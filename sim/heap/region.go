// Package heap is the virtual board's allocator: a TLSF-like heap per memory
// region (a 4-byte size header per block, 4-byte alignment, a minimum block
// size, split on allocate and merge on free) and an ESP-IDF heap_caps layer
// over a set of regions (capability masks, priorities, malloc routing under
// SPIRAM_USE, owner labels).
//
// Free bytes, minimum-ever free, the largest free block and block counts all
// come from real allocate/free calls on these data structures, so
// fragmentation appears by itself. The package must never panic on a failed
// allocation or a bad free: like heap_caps_malloc it returns a nil pointer
// (0, false) and counts the failure.
package heap

import (
	"fmt"
)

// Allocator constants (facts sheet, section 3).
const (
	// HeaderSize is the per-block size header of TLSF in ESP-IDF
	// (facts §3 "allocator": 4-byte size header per block).
	HeaderSize = 4
	// Align is the allocation alignment (facts §3 "alignment / minimum block": 4 bytes, estimate).
	Align = 4
	// MinBlock is the smallest payload a block can have
	// (facts §3 "alignment / minimum block": ~12 bytes, estimate).
	MinBlock = 12
)

// Ptr is an address in the virtual board's address space; 0 is NULL.
type Ptr uint32

type block struct {
	addr       Ptr // address of the payload (header sits just before it)
	size       uint32
	free       bool
	prev, next *block // physical neighbours
	freeIdx    int    // index in Region.freeList when free
	owner      string
}

// Region is one contiguous heap (one multi_heap in ESP-IDF).
type Region struct {
	Name string
	Base Ptr    // first byte of the region
	Size uint32 // bytes, multiple of Align

	first    *block
	freeList []*block
	used     map[Ptr]*block

	free, minFree, allocated uint32
	nblocks                  uint32
}

// NewRegion makes a region of size bytes starting at base; size is rounded
// down to Align. It holds one free block.
func NewRegion(name string, base Ptr, size uint32) (*Region, error) {
	size &^= Align - 1
	if size < HeaderSize+MinBlock {
		return nil, fmt.Errorf("region %s: %d bytes is smaller than one block", name, size)
	}
	if base%Align != 0 {
		return nil, fmt.Errorf("region %s: base %#x is not %d-aligned", name, base, Align)
	}
	r := &Region{Name: name, Base: base, Size: size, used: make(map[Ptr]*block)}
	b := &block{addr: base + HeaderSize, size: size - HeaderSize, free: true}
	r.first = b
	r.addFree(b)
	r.free = b.size
	r.minFree = r.free
	r.nblocks = 1
	return r, nil
}

func (r *Region) addFree(b *block) {
	b.free = true
	b.freeIdx = len(r.freeList)
	r.freeList = append(r.freeList, b)
}

func (r *Region) removeFree(b *block) {
	i := b.freeIdx
	last := r.freeList[len(r.freeList)-1]
	r.freeList[i] = last
	last.freeIdx = i
	r.freeList = r.freeList[:len(r.freeList)-1]
	b.free = false
	b.freeIdx = -1
}

// roundSize turns a request into a block payload size.
func roundSize(n uint32) (uint32, bool) {
	if n == 0 || n > 1<<30 {
		return 0, false
	}
	s := (n + Align - 1) &^ (Align - 1)
	if s < MinBlock {
		s = MinBlock
	}
	return s, true
}

// Alloc allocates n bytes for owner. It picks the smallest free block that
// fits (lowest address on ties), the "good fit" TLSF approximates, and splits
// it when the remainder can hold a block. It returns 0, false when nothing
// fits.
func (r *Region) Alloc(n uint32, owner string) (Ptr, bool) {
	need, ok := roundSize(n)
	if !ok {
		return 0, false
	}
	var best *block
	for _, b := range r.freeList {
		if b.size < need {
			continue
		}
		if best == nil || b.size < best.size || b.size == best.size && b.addr < best.addr {
			best = b
		}
	}
	if best == nil {
		return 0, false
	}
	r.removeFree(best)
	r.free -= best.size
	if best.size >= need+HeaderSize+MinBlock {
		rest := &block{addr: best.addr + Ptr(need) + HeaderSize, size: best.size - need - HeaderSize,
			prev: best, next: best.next}
		if best.next != nil {
			best.next.prev = rest
		}
		best.next = rest
		best.size = need
		r.addFree(rest)
		r.free += rest.size
		r.nblocks++
	}
	best.owner = owner
	r.used[best.addr] = best
	r.allocated += best.size
	if r.free < r.minFree {
		r.minFree = r.free
	}
	return best.addr, true
}

// Owns reports whether p is an allocated block of r.
func (r *Region) Owns(p Ptr) bool { _, ok := r.used[p]; return ok }

// BlockSize returns the payload size of allocated block p (0 if none).
func (r *Region) BlockSize(p Ptr) uint32 {
	if b, ok := r.used[p]; ok {
		return b.size
	}
	return 0
}

// Free releases p and merges it with free physical neighbours. It reports
// false for a pointer that is not an allocated block of r.
func (r *Region) Free(p Ptr) bool {
	b, ok := r.used[p]
	if !ok {
		return false
	}
	delete(r.used, p)
	r.allocated -= b.size
	b.owner = ""
	r.free += b.size
	if n := b.next; n != nil && n.free {
		r.removeFree(n)
		b.size += n.size + HeaderSize
		r.free += HeaderSize
		b.next = n.next
		if n.next != nil {
			n.next.prev = b
		}
		r.nblocks--
	}
	if pr := b.prev; pr != nil && pr.free {
		r.removeFree(pr)
		pr.size += b.size + HeaderSize
		r.free += HeaderSize
		pr.next = b.next
		if b.next != nil {
			b.next.prev = pr
		}
		r.nblocks--
		b = pr
	}
	r.addFree(b)
	return true
}

// Info is multi_heap_info_t for one region.
type Info struct {
	Free, Allocated, Largest, MinFree uint32
	AllocatedBlocks, FreeBlocks       uint32
	TotalBlocks                       uint32
}

// Info answers multi_heap_get_info.
func (r *Region) Info() Info {
	var largest uint32
	for _, b := range r.freeList {
		largest = max(largest, b.size)
	}
	return Info{Free: r.free, Allocated: r.allocated, Largest: largest, MinFree: r.minFree,
		AllocatedBlocks: uint32(len(r.used)), FreeBlocks: uint32(len(r.freeList)), TotalBlocks: r.nblocks}
}

// Overhead is the bytes taken by block headers.
func (r *Region) Overhead() uint32 { return r.nblocks * HeaderSize }

// ResetMinFree sets the minimum-ever free to the current free bytes
// (used once after boot-time setup, like a fresh measurement baseline would not:
// ESP-IDF never resets it, so only the board's boot code calls this).
func (r *Region) ResetMinFree() { r.minFree = r.free }

// Check verifies the region's invariants: blocks tile the region, counters
// match the blocks, no two free blocks are adjacent. It returns the first
// violation.
func (r *Region) Check() error {
	var free, alloc, n, nfree uint32
	want := r.Base
	var prev *block
	for b := r.first; b != nil; b = b.next {
		if b.addr != want+HeaderSize {
			return fmt.Errorf("region %s: block at %#x, want %#x", r.Name, b.addr, want+HeaderSize)
		}
		if b.prev != prev {
			return fmt.Errorf("region %s: block %#x has a wrong prev link", r.Name, b.addr)
		}
		if b.size < MinBlock || b.size%Align != 0 {
			return fmt.Errorf("region %s: block %#x has size %d", r.Name, b.addr, b.size)
		}
		if b.free {
			if prev != nil && prev.free {
				return fmt.Errorf("region %s: adjacent free blocks at %#x", r.Name, b.addr)
			}
			free += b.size
			nfree++
		} else {
			alloc += b.size
		}
		n++
		want = b.addr + Ptr(b.size)
		prev = b
	}
	if want != r.Base+Ptr(r.Size) {
		return fmt.Errorf("region %s: blocks end at %#x, want %#x", r.Name, want, r.Base+Ptr(r.Size))
	}
	if free != r.free || alloc != r.allocated || n != r.nblocks || nfree != uint32(len(r.freeList)) {
		return fmt.Errorf("region %s: counters free=%d alloc=%d blocks=%d freeblocks=%d, blocks say %d %d %d %d",
			r.Name, r.free, r.allocated, r.nblocks, len(r.freeList), free, alloc, n, nfree)
	}
	if r.free+r.allocated+r.Overhead() != r.Size {
		return fmt.Errorf("region %s: free %d + allocated %d + overhead %d != size %d",
			r.Name, r.free, r.allocated, r.Overhead(), r.Size)
	}
	return nil
}

// ownerUse adds each allocated block's bytes (payload + header) to use.
func (r *Region) ownerUse(use func(owner string, bytes uint32)) {
	for b := r.first; b != nil; b = b.next {
		if !b.free {
			use(b.owner, b.size+HeaderSize)
		}
	}
}
