package rundir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	tests := []struct {
		name, want string // want: "" for valid, else part of the error
	}{
		{"s3", ""},
		{"both-ext_v1.2", ""},
		{strings.Repeat("a", MaxNameLen), ""},
		{"", "empty"},
		{".", `starts with "."`},
		{"..", `starts with "."`},
		{"../../../../tmp/rel/ESCAPED", `starts with "."`},
		{"a/b", `character "/" at byte 1`},
		{`a\b`, `character "\\" at byte 1`},
		{"a b", `character " " at byte 1`},
		{"a\x00", `character "\x00" at byte 1`},
		{"-rf", `starts with "-"`},
		{"é", `starts with "\xc3"`},
		{strings.Repeat("a", 300), "300 bytes long: want at most 48"},
	}
	for _, tt := range tests {
		err := CheckName("boards[0].name", tt.name, MaxNameLen)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v", tt.name, err)
		case tt.want != "" && err == nil:
			t.Errorf("%q accepted", tt.name)
		case tt.want != "" && (!strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "boards[0].name: ")):
			t.Errorf("%q: error %q, want the field and %q", tt.name, err, tt.want)
		case err != nil && len(err.Error()) > 300:
			t.Errorf("%q: error of %d bytes", tt.name, len(err.Error()))
		}
	}
}

func TestInsideKeepsRunsInResults(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../x", "../../../../tmp/rel/ESCAPED", "a/../../x", "/tmp/x", "", ".", "..", "link"} {
		if dir, err := Inside(root, name); err == nil {
			t.Errorf("%q: accepted as %s", name, dir)
		}
	}
	for _, name := range []string{"20261201-000000-default", "a/b"} {
		dir, err := Inside(root, name)
		if err != nil {
			t.Errorf("%q: %v", name, err)
			continue
		}
		if !strings.HasPrefix(dir, root+string(filepath.Separator)) {
			t.Errorf("%q: %s is not below %s", name, dir, root)
		}
	}
}

func TestRemoveStaleTemps(t *testing.T) {
	run := t.TempDir()
	files := map[string]bool{ // path: removed
		"attempts/c1-20261201T000000.000000000/.cell.json.123456": true,
		"attempts/c1-20261201T000000.000000000/cell.json":         false,
		"attempts/c1-20261201T000000.000000000/raw.bin":           false,
		"cells/c2/.cell.json.987":                                 true,
		"cells/c2/.records.msgp.42":                               true,
		"cells/c2/.raw.bin.42":                                    false, // not a file wsbench writes this way
		"cells/c2/.cell.json.12ab":                                false,
		".manifest.json.7":                                        true,
		"notes/.my.txt.1":                                         false,
	}
	for p := range files {
		full := filepath.Join(run, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := RemoveStaleTemps(run)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for p, gone := range files {
		_, err := os.Stat(filepath.Join(run, p))
		if gone != os.IsNotExist(err) {
			t.Errorf("%s: removed=%t, want %t", p, os.IsNotExist(err), gone)
		}
		if gone {
			n++
		}
	}
	if len(removed) != n {
		t.Errorf("reported %d removed, want %d", len(removed), n)
	}
}
