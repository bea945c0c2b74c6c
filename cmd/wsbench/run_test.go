package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A run in which every cell failed measured nothing: it must not exit 0.
func TestRunExitsNonZeroWhenEveryCellFailed(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(m, []byte(`
boards:
  - name: v
    virtual: esp32s3-n8r8
variants:
  - name: int
scenarios:
  - scenario: sweep
    n: [1]
    window: 1s
repetitions: 1
peer:
  ws_url: wss://127.0.0.1:9/ws
  https_url: https://127.0.0.1:9/bytes
`), 0o644); err != nil {
		t.Fatal(err)
	}
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"run", m, "--results", filepath.Join(dir, "results"), "--plain"})
	err := root.ExecuteContext(context.Background())
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(err.Error(), "all 1 cells failed") {
		t.Fatalf("error %v, want exit 1: all cells failed\n%s%s", err, out.String(), errOut.String())
	}
}
