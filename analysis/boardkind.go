package analysis

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/wsbench/wsbench/wire"
)

// Board kinds: where a cell's figures come from. They are not comparable
// with each other: a virtual board's are a memory model's, a qemu board's
// are the real firmware's in an emulator (no Wi-Fi, software AES/SHA), a
// hardware board's are a chip's.
const (
	BoardKindVirtual  = "virtual"
	BoardKindQEMU     = "qemu"
	BoardKindHardware = "hardware"
)

// boardKind says what kind of board sent h: the Hello's virtual flag, else
// its emulator ("qemu"), else a chip.
func boardKind(h *wire.Hello) string {
	switch {
	case h == nil:
		return ""
	case h.Virtual:
		return BoardKindVirtual
	case h.Emulator != "":
		return h.Emulator
	}
	return BoardKindHardware
}

// boardKinds maps each board of a run to the kind its cells' Hellos report,
// and warns when one run holds figures of several kinds, or one board
// reported more than one kind.
func boardKinds(cells []CellResult) (map[string]string, []string) {
	seen := map[string]map[string]bool{}
	for _, c := range cells {
		if c.BoardKind == "" {
			continue
		}
		if seen[c.Key.Board] == nil {
			seen[c.Key.Board] = map[string]bool{}
		}
		seen[c.Key.Board][c.BoardKind] = true
	}
	if len(seen) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	var warnings []string
	byKind := map[string][]string{}
	for board, kinds := range seen {
		ks := slices.Sorted(maps.Keys(kinds))
		out[board] = strings.Join(ks, "+")
		if len(ks) > 1 {
			warnings = append(warnings, fmt.Sprintf("board %s reported several board kinds (%s): its groups mix their figures", board, strings.Join(ks, ", ")))
		}
		for _, k := range ks {
			byKind[k] = append(byKind[k], board)
		}
	}
	if len(byKind) > 1 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(byKind)) {
			sort.Strings(byKind[k])
			parts = append(parts, fmt.Sprintf("%s: %s", k, strings.Join(byKind[k], ", ")))
		}
		warnings = append(warnings, fmt.Sprintf("this run holds figures of different board kinds (%s): emulated, virtual and real boards' figures are not comparable with each other", strings.Join(parts, "; ")))
	}
	sort.Strings(warnings)
	return out, warnings
}

// boardKindWarnings compares the board kinds of two runs: a comparison of a
// qemu run with a virtual or hardware run measures the board, not the branch.
func boardKindWarnings(base, pr *Summary) []string {
	kinds := func(s *Summary) string {
		set := map[string]bool{}
		for _, k := range s.BoardKinds {
			set[k] = true
		}
		if len(set) == 0 {
			return "unknown (no board_kinds: a summary from before they were recorded, or no Hello)"
		}
		return strings.Join(slices.Sorted(maps.Keys(set)), "+")
	}
	var w []string
	if b, p := kinds(base), kinds(pr); b != p {
		w = append(w, fmt.Sprintf("the runs' board kinds differ (base %s, PR %s): their figures come from different kinds of board and their differences are not the branch's", b, p))
	}
	for board, bk := range base.BoardKinds {
		if pk, ok := pr.BoardKinds[board]; ok && pk != bk {
			w = append(w, fmt.Sprintf("board %s is %s in base and %s in PR", board, bk, pk))
		}
	}
	return w
}
