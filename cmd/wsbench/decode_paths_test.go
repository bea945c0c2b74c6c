package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodePaths: decode refuses what is not a capture with a message
// saying what it reads; --rebuild takes the directory or its raw.bin, says
// an intact records.msgp is intact, and keeps a damaged one.
func TestDecodePaths(t *testing.T) {
	dir := t.TempDir()
	m := writeMatrix(t, dir, "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // the peer's certificates
	if out, err := wsbench("run", m, "--results", filepath.Join(dir, "results"), "--run-id", "r", "--plain", "--no-report"); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	run := filepath.Join(dir, "results", "r")
	cell := filepath.Join(run, "cells", "v__int__sweep__n1__r1")
	recs := filepath.Join(cell, "records.msgp")
	jsonNamedOddly := filepath.Join(dir, "notes")
	if err := os.WriteFile(jsonNamedOddly, []byte(`{"a": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		damage  bool
		wantErr string // substring; "" for success
		wantOut string
	}{
		{name: "manifest.json is refused", args: []string{"decode", filepath.Join(run, "manifest.json")}, wantErr: "is not a capture (.json file): decode reads a capture: raw.bin or records.msgp"},
		{name: "cell.json is refused", args: []string{"decode", filepath.Join(cell, "cell.json")}, wantErr: "is not a capture"},
		{name: "JSON under another name is refused", args: []string{"decode", jsonNamedOddly}, wantErr: "is JSON, not a capture"},
		{name: "a directory is refused", args: []string{"decode", cell}, wantErr: "is a directory: decode reads a capture"},
		{name: "raw.bin decodes", args: []string{"decode", filepath.Join(cell, "raw.bin")}, wantOut: "hello"},
		{name: "rebuild of an intact file does nothing", args: []string{"decode", "--rebuild", filepath.Join(cell, "raw.bin")}, wantOut: "is intact"},
		{name: "rebuild takes raw.bin", args: []string{"decode", "--rebuild", filepath.Join(cell, "raw.bin")}, damage: true, wantOut: "kept the old records as"},
		{name: "rebuild takes the directory", args: []string{"decode", "--rebuild", cell}, damage: true, wantOut: "kept the old records as"},
		{name: "rebuild refuses another file", args: []string{"decode", "--rebuild", filepath.Join(cell, "cell.json")}, wantErr: "give the capture directory"},
		{name: "rebuild needs raw.bin", args: []string{"decode", "--rebuild", run}, wantErr: "no raw capture to rebuild from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.damage {
				if err := os.Truncate(recs, 10); err != nil {
					t.Fatal(err)
				}
			}
			out, err := wsbench(tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q\n%s", err, tt.wantErr, out)
				}
				return
			}
			if err != nil || !strings.Contains(strings.ToLower(out), strings.ToLower(tt.wantOut)) {
				t.Fatalf("err %v; output lacks %q:\n%.2000s", err, tt.wantOut, out)
			}
			if strings.Contains(tt.wantOut, "intact") {
				if kept, _ := filepath.Glob(recs + ".damaged-*"); len(kept) != 0 {
					t.Errorf("an intact file was kept as damaged: %v", kept)
				}
			}
		})
	}
}
