package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/internal/testctx"
)

// oneCellMatrix is a matrix of one sweep cell on a virtual board; extra is
// appended (e.g. a peer section).
const oneCellMatrix = `
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
`

// writeMatrix writes oneCellMatrix plus extra to dir/m.yaml.
func writeMatrix(t *testing.T, dir, extra string) string {
	t.Helper()
	m := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(m, []byte(oneCellMatrix+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	return m
}

// wsbench runs the CLI in-process and returns its output and error.
func wsbench(args ...string) (string, error) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), testctx.Limit) // fails, not hangs
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// A run in which every cell failed measured nothing: it must not exit 0.
func TestRunExitsNonZeroWhenEveryCellFailed(t *testing.T) {
	dir := t.TempDir()
	m := writeMatrix(t, dir, "peer:\n  ws_url: wss://127.0.0.1:9/ws\n  https_url: https://127.0.0.1:9/bytes\n")
	out, err := wsbench("run", m, "--results", filepath.Join(dir, "results"), "--plain")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(err.Error(), "all 1 cells failed") {
		t.Fatalf("error %v, want exit 1: all cells failed\n%s", err, out)
	}
}

// A cut records.msgp is derived data: decode --rebuild writes it again,
// byte for byte, from the raw capture.
func TestDecodeRebuildRestoresRecords(t *testing.T) {
	dir := t.TempDir()
	m := writeMatrix(t, dir, "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // the peer's certificates
	exec := func(args ...string) string {
		t.Helper()
		out, err := wsbench(args...)
		if err != nil {
			t.Fatalf("wsbench %v: %v\n%s", args, err, out)
		}
		return out
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

// Without QEMU, `wsbench run examples/qemu.yaml` fails at once with
// ESP-IDF's install commands, before it creates a run directory, starts a
// peer or builds anything.
func TestRunQEMUMatrixWithoutQEMUFailsAtOnce(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("WSBENCH_QEMU", "")
	t.Setenv("IDF_TOOLS_PATH", t.TempDir())
	t.Setenv("PATH", t.TempDir()) // no qemu-system-xtensa, and no idf.py either
	results := filepath.Join(dir, "results")
	out, err := wsbench("run", "../../examples/qemu.yaml", "--results", results, "--plain")
	if err == nil {
		t.Fatalf("run without QEMU succeeded:\n%s", out)
	}
	for _, want := range []string{"qemu-system-xtensa", "python $IDF_PATH/tools/idf_tools.py install qemu-xtensa qemu-riscv32", ". $IDF_PATH/export.sh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(out, "peer:") || strings.Contains(err.Error(), "idf.py") {
		t.Errorf("the run went further than the QEMU check:\n%s\n%v", out, err)
	}
	if _, err := os.Stat(results); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("results directory created: %v", err)
	}
}

// A matrix's variants are checked against the firmware project the run
// builds (--project), not a fixed list: a project's own variant is
// accepted, one the project lacks is refused at once, naming the matrix
// file, the variant, the board and the missing file.
func TestRunChecksVariantsAgainstTheProject(t *testing.T) {
	dir := t.TempDir()
	proj := filepath.Join(dir, "fw")
	if err := os.MkdirAll(filepath.Join(proj, "variants"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proj, "variants", "nokeep.defaults"), []byte("# CONFIG_MBEDTLS_SSL_KEEP_PEER_CERTIFICATE is not set\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir()) // no idf.py: the run stops at the checks either way
	t.Setenv("IDF_PATH", "")
	tests := []struct {
		name, variant, project string
		want                   []string
		dont                   []string
	}{
		{name: "the project's own variant", variant: "nokeep", project: proj,
			want: []string{"nokeep.yaml: real boards are built and flashed with idf.py"}, dont: []string{`variant "`, "does not exist"}},
		{name: "a variant the project lacks", variant: "turbo", project: proj,
			want: []string{"nokeep.yaml: real boards are built and flashed with idf.py",
				`nokeep.yaml: variant "turbo": board "s3" is built from "` + filepath.Join(proj, "variants", "turbo.defaults") + `", which does not exist (the project has nokeep)`}},
		{name: "the repository's firmware has no nokeep", variant: "nokeep", project: "../../firmware",
			want: []string{`nokeep.yaml: variant "nokeep": board "s3" is built from "../../firmware/variants/nokeep.defaults", which does not exist (the project has alloc-ext, both-ext, dyn-buf, int, mbedtls-ext, stack-ext)`}},
		{name: "no project", variant: "nokeep", project: filepath.Join(dir, "none"),
			want: []string{`nokeep.yaml: board "s3" is built from the firmware project's variants/<variant>.defaults: variants of project ` + filepath.Join(dir, "none")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := filepath.Join(t.TempDir(), "nokeep.yaml")
			yaml := "boards:\n  - name: s3\n    port: /dev/ttyACM0\n    target: esp32s3\nvariants:\n  - name: " + tt.variant +
				"\nscenarios:\n  - scenario: sweep\n    n: [0, 1]\n"
			if err := os.WriteFile(m, []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			results := filepath.Join(t.TempDir(), "results")
			out, err := wsbench("run", m, "--project", tt.project, "--results", results, "--plain")
			if err == nil || exitCode(err) != 2 {
				t.Fatalf("error %v (exit %d), want exit 2\n%s", err, exitCode(err), out)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), m[:len(m)-len("nokeep.yaml")]+w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, d := range tt.dont {
				if strings.Contains(err.Error(), d) {
					t.Errorf("error has %q:\n%v", d, err)
				}
			}
			if _, err := os.Stat(results); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("results directory created: %v", err)
			}
		})
	}
}
