package analysis

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wsbench/wsbench/idf"
	"github.com/wsbench/wsbench/rundir"
)

// StaticMemory is what one firmware image takes before it runs, from
// `idf.py size --format json2`: the report shows it beside the runtime
// figures, since RAM a variant saves at run time can cost static RAM.
type StaticMemory struct {
	Target    string       `json:"target"`
	Variant   string       `json:"variant"`
	Behaviour string       `json:"behaviour"`
	Memory    []StaticUsed `json:"memory"`
}

// StaticUsed is one memory type of an image (DIRAM, IRAM, Flash Code, ...).
type StaticUsed struct {
	Name  string `json:"name"`
	Used  int64  `json:"used"`
	Total int64  `json:"total"`
}

// readStatic reads the size reports a run stored under firmware/. A run on
// virtual boards has none.
func readStatic(runDir string) ([]StaticMemory, []string, error) {
	files, err := filepath.Glob(filepath.Join(runDir, rundir.FirmwareDir, "*.size.json"))
	if err != nil {
		return nil, nil, err
	}
	var out []StaticMemory
	var warnings []string
	for _, f := range files {
		parts := strings.Split(strings.TrimSuffix(filepath.Base(f), ".size.json"), "__")
		if len(parts) != 3 {
			warnings = append(warnings, fmt.Sprintf("%s: not named <target>__<variant>__<behaviour>.size.json; left out", f))
			continue
		}
		sz, err := idf.ReadSize(f)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			warnings = append(warnings, err.Error())
			continue
		}
		m := StaticMemory{Target: parts[0], Variant: parts[1], Behaviour: parts[2]}
		for _, l := range sz.Layout {
			m.Memory = append(m.Memory, StaticUsed{Name: l.Name, Used: l.Used, Total: l.Total})
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Target != b.Target {
			return a.Target < b.Target
		}
		if a.Variant != b.Variant {
			return a.Variant < b.Variant
		}
		return a.Behaviour < b.Behaviour
	})
	return out, warnings, nil
}
