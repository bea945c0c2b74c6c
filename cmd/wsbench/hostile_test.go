package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// No matrix name or run id places a run directory outside --results
// (issue 13, "Seen" 1: name: ../../../../tmp/rel/ESCAPED).
func TestRunDirectoryStaysInResults(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "a", "b", "results")
	tests := []struct {
		name, matrixName string
		args             []string
		want             string
	}{
		{"traversal in the matrix name", "../../../../ESCAPED", nil, `m.yaml:2: name: "../../../../ESCAPED": starts with "."`},
		{"300-character matrix name", strings.Repeat("n", 300), nil, "m.yaml:2: name: 300 bytes long"},
		{"traversal in --run-id", "", []string{"--run-id", "../../../ESCAPED"}, `--run-id: "../../../ESCAPED": starts with "."`},
		{"absolute --run-id", "", []string{"--run-id", "/tmp/ESCAPED"}, `--run-id: "/tmp/ESCAPED": starts with "/"`},
		{"separator in --run-id", "", []string{"--run-id", "x/../../../ESCAPED"}, `--run-id: "x/../../../ESCAPED": character "/" at byte 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := filepath.Join(dir, "m.yaml")
			content := oneCellMatrix
			if tt.matrixName != "" { // oneCellMatrix starts with an empty line: the name is on line 2
				content = "\nname: " + tt.matrixName + oneCellMatrix
			}
			if err := os.WriteFile(m, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"run", m, "--results", results, "--plain", "--no-report"}, tt.args...)
			out, err := wsbench(args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q\n%s", err, tt.want, out)
			}
			// Nothing was created anywhere: not even the results directory.
			var made []string
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if p != dir && p != m {
					made = append(made, p)
				}
				return nil
			})
			if len(made) > 0 {
				t.Fatalf("created %v", made)
			}
		})
	}
}

// Errors are printed line by line through the sanitiser: a cell id read
// from a crafted run directory cannot drive the terminal.
func TestSafeError(t *testing.T) {
	err := errors.New("merge: cell \x1b]0;pwned\a\x1b[2J of x is not in the matrix\nm.yaml:2: \u202eoops")
	want := "merge: cell \\x1b]0;pwned\\x07\\x1b[2J of x is not in the matrix\nm.yaml:2: \\u202eoops"
	if got := safeError(err); got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}
