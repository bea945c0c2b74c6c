package matrix

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the matrix parser: it must never panic,
// and a matrix it accepts must expand into cells with unique ids and run
// parameters the board accepts.
func FuzzParse(f *testing.F) {
	f.Add(DefaultYAML())
	if files, err := filepath.Glob("../examples/*.yaml"); err == nil {
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("boards: [{name: a, virtual: esp32s3-n8}]\nvariants: [{name: v}]\nscenarios: [{scenario: churn, cycles: 3}]\n"))
	f.Add([]byte("boards:\n  - name: a\n    port: rfc2217://h:1\n    target: esp32\nvariants: [{name: int}]\nscenarios: [{scenario: handler, handler: inline}]\n"))
	f.Add([]byte("{"))
	f.Add([]byte("boards: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse("fuzz.yaml", b)
		if err != nil {
			return
		}
		cells := m.Cells()
		if len(cells) > 100000 {
			return
		}
		seen := map[string]bool{}
		for _, c := range cells {
			if seen[c.ID] {
				t.Fatalf("duplicate cell id %q", c.ID)
			}
			seen[c.ID] = true
			if c.Params.PeriodMS == 0 || c.Params.Cell != c.ID {
				t.Fatalf("cell %s: params %+v", c.ID, c.Params)
			}
		}
	})
}
