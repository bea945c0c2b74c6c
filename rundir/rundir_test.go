package rundir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteJSONIsAtomicAndShareable(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, CellFile)
	if err := WriteJSON(p, Cell{ID: "a", Status: StatusOK}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(p, Cell{ID: "a", Status: StatusFailed, Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	var c Cell
	if err := ReadJSON(p, &c); err != nil || c.Status != StatusFailed || c.Reason != "r" {
		t.Fatalf("read back %+v, %v", c, err)
	}
}

func TestReadJSONNamesFileAndOffset(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"syntax error", `{"run_id": "x",, }`, ": byte 16"},
		{"truncated", `{"run_id": "x",`, ": byte 15"},
		{"wrong type", `{"run_id": 42}`, ": byte 13"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), ManifestFile)
			if err := os.WriteFile(p, []byte(tt.json), 0o644); err != nil {
				t.Fatal(err)
			}
			var m Manifest
			err := ReadJSON(p, &m)
			if err == nil || !strings.Contains(err.Error(), p+tt.want) {
				t.Fatalf("error %v, want file and %q", err, tt.want)
			}
		})
	}
}

func TestReadCellsSortsAndSkipsDirectoriesWithoutCell(t *testing.T) {
	run := t.TempDir()
	for _, id := range []string{"b", "a", "c"} {
		if err := os.MkdirAll(CellDir(run, id), 0o755); err != nil {
			t.Fatal(err)
		}
		if id != "c" { // a cell directory whose cell.json was never written
			if err := WriteJSON(filepath.Join(CellDir(run, id), CellFile), Cell{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cells, err := ReadCells(run)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 2 || cells[0].ID != "a" || cells[1].ID != "b" {
		t.Fatalf("cells %+v", cells)
	}
}

func TestScanCellsReportsADamagedCellAndKeepsTheOthers(t *testing.T) {
	run := t.TempDir()
	for _, id := range []string{"a", "b"} {
		if err := os.MkdirAll(CellDir(run, id), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(filepath.Join(CellDir(run, id), CellFile), Cell{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	damaged := filepath.Join(CellDir(run, "b"), CellFile)
	if err := os.WriteFile(damaged, []byte(`{"id": "b", "sta`), 0o644); err != nil {
		t.Fatal(err)
	}
	cells, bad, err := ScanCells(run)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 1 || cells[0].ID != "a" || len(bad) != 1 || !strings.Contains(bad[0].Error(), damaged) {
		t.Fatalf("cells %+v, bad %v", cells, bad)
	}
	if _, err := ReadCells(run); err == nil || !strings.Contains(err.Error(), damaged) {
		t.Fatalf("ReadCells: %v, want an error naming %s", err, damaged)
	}
}
