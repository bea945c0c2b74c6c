package analysis

import (
	"strings"
	"testing"

	"github.com/wsbench/wsbench/wire"
)

func TestBoardKindFromHello(t *testing.T) {
	for _, tc := range []struct {
		h    *wire.Hello
		want string
	}{
		{nil, ""},
		{&wire.Hello{Virtual: true}, BoardKindVirtual},
		{&wire.Hello{Emulator: "qemu"}, BoardKindQEMU},
		{&wire.Hello{Chip: "esp32s3"}, BoardKindHardware},
	} {
		if got := boardKind(tc.h); got != tc.want {
			t.Errorf("boardKind(%+v) = %q, want %q", tc.h, got, tc.want)
		}
	}
}

func TestBoardKindsOfARun(t *testing.T) {
	cell := func(board, kind string) CellResult { return CellResult{Key: Key{Board: board}, BoardKind: kind} }
	for _, tc := range []struct {
		name  string
		cells []CellResult
		want  map[string]string
		warn  []string // substrings, one per warning, in order
	}{
		{"one kind", []CellResult{cell("emu", "qemu"), cell("emu", "qemu")}, map[string]string{"emu": "qemu"}, nil},
		{"no Hello", []CellResult{cell("emu", "")}, nil, nil},
		{"two kinds in a run", []CellResult{cell("emu", "qemu"), cell("s3", "virtual")},
			map[string]string{"emu": "qemu", "s3": "virtual"},
			[]string{"different board kinds (qemu: emu; virtual: s3)"}},
		{"a board changing kind", []CellResult{cell("b", "qemu"), cell("b", "hardware")},
			map[string]string{"b": "hardware+qemu"},
			[]string{"board b reported several board kinds (hardware, qemu)", "different board kinds"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, warns := boardKinds(tc.cells)
			if len(got) != len(tc.want) {
				t.Fatalf("kinds %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("kinds %v, want %v", got, tc.want)
				}
			}
			if len(warns) != len(tc.warn) {
				t.Fatalf("warnings %q, want %d", warns, len(tc.warn))
			}
			for i, w := range tc.warn {
				if !strings.Contains(warns[i], w) {
					t.Errorf("warning %q does not say %q", warns[i], w)
				}
			}
		})
	}
}

// Compare says so when the two runs come from different kinds of board.
func TestCompareWarnsWhenBoardKindsDiffer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		base, pr map[string]string
		want     []string
	}{
		{"same", map[string]string{"s3": "qemu"}, map[string]string{"s3": "qemu"}, nil},
		{"qemu against virtual", map[string]string{"s3": "qemu"}, map[string]string{"s3": "virtual"},
			[]string{"board kinds differ (base qemu, PR virtual)", "board s3 is qemu in base and virtual in PR"}},
		{"unknown against hardware", nil, map[string]string{"b": "hardware"}, []string{"board kinds differ (base unknown (no board_kinds"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(&Summary{BoardKinds: tc.base}, &Summary{BoardKinds: tc.pr}, DefaultThresholds())
			var found []string
			for _, w := range c.Warnings {
				if strings.Contains(w, "board") && (strings.Contains(w, "kind") || strings.Contains(w, " in base and ")) {
					found = append(found, w)
				}
			}
			if len(found) != len(tc.want) {
				t.Fatalf("board kind warnings %q, want %d", found, len(tc.want))
			}
			for _, w := range tc.want {
				ok := false
				for _, f := range found {
					ok = ok || strings.Contains(f, w)
				}
				if !ok {
					t.Errorf("no warning says %q: %q", w, found)
				}
			}
		})
	}
}
