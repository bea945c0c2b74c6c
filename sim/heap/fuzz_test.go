package heap

import "testing"

// FuzzRegionOps drives a region with an arbitrary sequence of allocate and
// free operations and checks its invariants after every one.
func FuzzRegionOps(f *testing.F) {
	f.Add([]byte{0, 10, 0, 200, 1, 0, 0, 255, 1, 1})
	f.Add([]byte{0, 255, 0, 255, 0, 255, 1, 1, 1, 0, 0, 3})
	f.Fuzz(func(t *testing.T, ops []byte) {
		r, err := NewRegion("fuzz", 0x1000, 8192)
		if err != nil {
			t.Fatal(err)
		}
		var live []Ptr
		prevMin := r.Info().MinFree
		for i := 0; i+1 < len(ops); i += 2 {
			if ops[i]&1 == 0 {
				if p, ok := r.Alloc(uint32(ops[i+1])*uint32(ops[i]>>1+1), "f"); ok {
					live = append(live, p)
				}
			} else if len(live) > 0 {
				k := int(ops[i+1]) % len(live)
				if !r.Free(live[k]) {
					t.Fatalf("free of live %#x failed", live[k])
				}
				live = append(live[:k], live[k+1:]...)
			} else if r.Free(Ptr(ops[i+1])) {
				t.Fatal("free of a pointer never allocated succeeded")
			}
			if err := r.Check(); err != nil {
				t.Fatal(err)
			}
			in := r.Info()
			if in.Largest > in.Free || in.MinFree > prevMin {
				t.Fatalf("info %+v, previous min %d", in, prevMin)
			}
			prevMin = in.MinFree
		}
	})
}
