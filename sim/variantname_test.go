package sim

import (
	"testing"

	"github.com/wsbench/wsbench/wire"
)

// TestVariantNameMatchesMatrices: the names are those of the default matrix.
func TestVariantNameMatchesMatrices(t *testing.T) {
	for _, tt := range []struct {
		stack, alloc bool
		want         string
	}{{false, false, "int"}, {true, false, "stack-ext"}, {false, true, "alloc-ext"}, {true, true, "both-ext"}} {
		if got := VariantName(wire.Options{WSTaskStackInExtRAM: tt.stack, WSAllocInExtRAM: tt.alloc}); got != tt.want {
			t.Errorf("stack %v alloc %v: %q, want %q", tt.stack, tt.alloc, got, tt.want)
		}
	}
}
