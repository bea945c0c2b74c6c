package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// partialMatrix has one variant that fails under the strict behaviour on a
// board without PSRAM (esp_websocket_client_init returns NULL) and one
// that runs.
const partialMatrix = `
boards:
  - name: v
    virtual: esp32s3-n8
variants:
  - name: int
  - name: both-ext
    stack_in_ext_ram: true
    alloc_in_ext_ram: true
scenarios:
  - scenario: sweep
    n: [1]
    window: 1s
repetitions: 1
`

// TestRunExitStatus: run exits 1 when any cell failed, 0 with
// --allow-failed-cells, and writes the report either way.
func TestRunExitStatus(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(m, []byte(partialMatrix), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"a failed cell fails the run", []string{"--behaviour", "strict"}, 1},
		{"allowed", []string{"--behaviour", "strict", "--allow-failed-cells"}, 0},
		{"no cell fails", []string{"--behaviour", "fallback"}, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := filepath.Base(t.Name()) + string(rune('a'+i))
			args := append([]string{"run", m, "--results", filepath.Join(dir, "results"), "--plain", "--no-report", "--run-id", id}, tt.args...)
			out, err := wsbench(args...)
			code := 0
			if err != nil {
				code = exitCode(err)
			}
			if code != tt.code {
				t.Fatalf("exit %d (%v), want %d\n%s", code, err, tt.code, out)
			}
			if code == 1 && !strings.Contains(err.Error(), "1 of 2 cells failed") {
				t.Errorf("error %q does not count the failed cells", err)
			}
		})
	}
}
