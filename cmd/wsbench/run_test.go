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

// A cut records.msgp is derived data: decode --rebuild writes it again,
// byte for byte, from the raw capture.
func TestDecodeRebuildRestoresRecords(t *testing.T) {
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
`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // the peer's certificates
	exec := func(args ...string) string {
		t.Helper()
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(args)
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("wsbench %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	exec("run", m, "--results", filepath.Join(dir, "results"), "--run-id", "r", "--plain", "--no-report")
	cell := filepath.Join(dir, "results", "r", "cells", "v__int__sweep__n1__r1")
	recs := filepath.Join(cell, "records.msgp")
	orig, err := os.ReadFile(recs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(recs, int64(len(orig)/2)); err != nil {
		t.Fatal(err)
	}
	out := exec("decode", "--rebuild", cell)
	got, err := os.ReadFile(recs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, orig) {
		t.Fatalf("rebuilt records.msgp (%d bytes) differs from the live one (%d bytes)\n%s", len(got), len(orig), out)
	}
	if kept, _ := filepath.Glob(recs + ".damaged-*"); len(kept) != 1 {
		t.Fatalf("the damaged file was not kept: %v", kept)
	}
}
