package matrix

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/rundir"
)

const hostileBase = `name: m
boards:
  - name: a
    virtual: esp32s3-n8r8
variants:
  - name: int
scenarios:
  - scenario: sweep
    n: [0, 1]
`

// TestHostileMatrixNames: every name that becomes a path is refused with
// its field and line, whatever it tries (issue 13, "Seen" 1).
func TestHostileMatrixNames(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct{ name, yaml, want string }{
		{"traversal in the matrix name", strings.Replace(hostileBase, "name: m", "name: ../../../../tmp/rel/ESCAPED", 1), `:1: name: "../../../../tmp/rel/ESCAPED": starts with "."`},
		{"separator in the matrix name", strings.Replace(hostileBase, "name: m", "name: a/../../b", 1), `:1: name: "a/../../b": character "/" at byte 1`},
		{"300-character matrix name", strings.Replace(hostileBase, "name: m", "name: "+long, 1), ":1: name: 300 bytes long: want at most 48"},
		{"dot-dot board", strings.Replace(hostileBase, "  - name: a\n", "  - name: ..\n", 1), `:3: boards[0].name: ".."`},
		// A variant names <project>/variants/<name>.defaults on built boards.
		{"traversal in a variant", strings.Replace(hostileBase, "name: int", "name: ../x", 1), `:6: variants[0].name: "../x": starts with "."`},
		{"separator in a variant", strings.Replace(hostileBase, "name: int", "name: a/../../x", 1), `:6: variants[0].name: "a/../../x": character "/" at byte 1`},
		{"300-character variant", strings.Replace(hostileBase, "name: int", "name: "+long, 1), ":6: variants[0].name: 300 bytes long"},
		{"traversal in a scenario label", hostileBase + "    name: ../x\n", `:8: scenarios[0].name: "../x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("m.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), "m.yaml"+tt.want) {
				t.Fatalf("error %q does not contain %q", err, "m.yaml"+tt.want)
			}
			if len(err.Error()) > 400 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
		})
	}
}

// TestMatrixErrorsInTheFilesWords: YAML field names, not Go type names; all
// problems at once; no doubled prefixes; YAML 1.1 booleans refused.
func TestMatrixErrorsInTheFilesWords(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
		not        []string
	}{
		{"typo with a suggestion", "repetitons: 2\n" + hostileBase,
			[]string{`m.yaml:1: unknown field "repetitons" (did you mean "repetitions"?)`}, []string{"matrix.", "File"}},
		{"typo in a variant", strings.Replace(hostileBase, "  - name: int\n", "  - name: int\n    stack_in_ext_rm: true\n", 1),
			[]string{`m.yaml:7: unknown field "stack_in_ext_rm" (did you mean "stack_in_ext_ram"?)`}, []string{"Variant"}},
		{"no suggestion when nothing is near", "colour: red\n" + hostileBase,
			[]string{`m.yaml:1: unknown field "colour"`}, []string{"did you mean"}},
		{"every problem, each with its line", "repetitons: 2\nsampel_period: 1s\n" + strings.Replace(hostileBase, "  - name: int\n", "  - name: int\n    stack_in_ext_ram: yes\n", 1),
			[]string{`m.yaml:1: unknown field "repetitons"`, `m.yaml:2: unknown field "sampel_period" (did you mean "sample_period"?)`, `m.yaml:9: variants[0].stack_in_ext_ram: "yes" is not a boolean: write true or false`}, nil},
		{"YAML 1.1 yes", strings.Replace(hostileBase, "  - name: int\n", "  - name: int\n    stack_in_ext_ram: yes\n", 1),
			[]string{`m.yaml:7: variants[0].stack_in_ext_ram: "yes" is not a boolean: write true or false`}, nil},
		{"YAML 1.1 on in a pointer field", strings.Replace(hostileBase, "  - name: int\n", "  - name: int\n    task_wdt_panic: on\n", 1),
			[]string{`m.yaml:7: variants[0].task_wdt_panic: "on" is not a boolean`}, nil},
		{"several check problems", strings.Replace(strings.Replace(hostileBase, "n: [0, 1]", "n: [0, 99]", 1), "  - name: int\n", "  - name: int\n    task_stack: 5\n", 1),
			[]string{`m.yaml:7: variant "int": task_stack 5 is out of range`, `m.yaml:10: scenario "sweep": n=99 is out of range`}, nil},
		{"no doubled prefix", strings.Replace(hostileBase, "scenario: sweep", "scenario: sweeep", 1),
			[]string{`m.yaml:8: scenarios[0].scenario: "sweeep": want sweep, churn or handler`}, []string{`scenario "sweeep": scenario "sweeep"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("m.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\ndoes not contain\n%s", err, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error\n%s\ncontains %q", err, n)
				}
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "m.yaml" {
				t.Errorf("errors.As found no *ParseError in %v", err)
			}
		})
	}
	// true and false stay booleans.
	if _, err := Parse("m.yaml", []byte(strings.Replace(hostileBase, "  - name: int\n", "  - name: int\n    stack_in_ext_ram: true\n    alloc_in_ext_ram: false\n", 1))); err != nil {
		t.Fatal(err)
	}
}

// measure runs f and returns its wall time and the bytes it allocated.
func measure(f func()) (time.Duration, uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	return d, after.TotalAlloc - before.TotalAlloc
}

// TestMatrixLimits: each over-limit input is refused with a clear error
// before the work it would cause (issue 13, "Seen" 4: 10 MB of YAML with
// 700,000 variants became 2.1 million cells and 5.7 GB). The figures are
// logged; the test bounds allocation, which does not depend on the
// machine's load.
func TestMatrixLimits(t *testing.T) {
	dir := t.TempDir()
	var variants strings.Builder
	variants.WriteString("boards:\n  - name: a\n    virtual: esp32s3-n8r8\nvariants:\n")
	for i := range 700_000 {
		fmt.Fprintf(&variants, "  - name: v%d\n", i)
	}
	variants.WriteString("scenarios:\n  - scenario: sweep\n    n: [0, 1, 2]\n")
	var fewVariants strings.Builder
	fewVariants.WriteString("repetitions: 1000\nboards:\n  - name: a\n    virtual: esp32s3-n8r8\nvariants:\n")
	for i := range 1000 {
		fmt.Fprintf(&fewVariants, "  - name: v%d\n", i)
	}
	fewVariants.WriteString("scenarios:\n  - scenario: sweep\n    n: [0, 1, 2, 3, 4, 5, 6, 7, 8]\n")
	var manyVariants strings.Builder
	manyVariants.WriteString("boards:\n  - name: a\n    virtual: esp32s3-n8r8\nvariants:\n")
	for i := range 2000 {
		fmt.Fprintf(&manyVariants, "  - name: v%d\n", i)
	}
	manyVariants.WriteString("scenarios:\n  - scenario: sweep\n")
	tests := []struct {
		name, content, want string
	}{
		{"10 MB with 700,000 variants", variants.String(), "a matrix file may have at most 1048576"},
		{"10 MB matrix name", "name: " + strings.Repeat("n", 10<<20) + "\n", "a matrix file may have at most 1048576"},
		{"9 million cells in 20 KB", fewVariants.String(), "expands to more than 20000 cells"},
		{"2000 variants", manyVariants.String(), "variants: 2000 entries: at most 1024"},
		{"a 1000-character name within the size limit", strings.Replace(hostileBase, "name: m", "name: "+strings.Repeat("n", 1000), 1), "1000 bytes long: want at most 48"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "m.yaml")
			if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			var err error
			d, alloc := measure(func() { _, err = Load(p) })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			t.Logf("%d-byte file refused in %s, %.1f MB allocated: %.200s", len(tt.content), d, float64(alloc)/1e6, err)
			// Bounded memory: a few times the largest accepted file.
			if alloc > 64<<20 {
				t.Errorf("%.1f MB allocated to refuse it", float64(alloc)/1e6)
			}
		})
	}
}

// A board's Reply and RunEnd errors reach cell reasons (cell.json, the
// progress lines, the failed-cells list) escaped (issue 13, "Seen" 2: a
// forged red "FAKE: all cells ok").
func TestBoardStringsInReasonsAreEscaped(t *testing.T) {
	forged := "\x1b[2K\r\x1b[32mFAKE: all cells ok\x1b[0m\a\x00\u202e\xff"
	tests := []struct {
		name  string
		board fakeBoard
		want  string
	}{
		{"refused run", fakeBoard{refuse: forged}, `board refused the run command: \x1b[2K\x0d\x1b[32mFAKE: all cells ok\x1b[0m\x07\x00\u202e\xff`},
		{"run end error", fakeBoard{endErr: forged}, `run ended with status "error": \x1b[2K\x0d\x1b[32mFAKE`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs atomic.Int32
			tt.board.runs = &runs
			res := runFake(t, testctx.New(t), t.TempDir(), func(int) fakeBoard { return tt.board }, false)
			for _, c := range res.Cells {
				if c.Status != rundir.StatusFailed || !strings.Contains(c.Reason, tt.want) {
					t.Fatalf("cell %s: %s %q, want failed with %q", c.ID, c.Status, c.Reason, tt.want)
				}
				for i := 0; i < len(c.Reason); i++ {
					if b := c.Reason[i]; b < 0x20 || b == 0x7f {
						t.Fatalf("cell %s: reason holds byte %#x: %q", c.ID, b, c.Reason)
					}
				}
				if strings.ContainsRune(c.Reason, 0x202e) {
					t.Fatalf("cell %s: reason holds U+202E", c.ID)
				}
			}
		})
	}
}

// Resume removes the temporary files a killed process left (issue 13,
// "Seen" 6: attempts/ kept stale .cell.json.NNNN files after kill -9).
func TestResumeRemovesStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	var runs atomic.Int32
	res := runFake(t, testctx.New(t), dir, func(int) fakeBoard { return fakeBoard{runs: &runs} }, false)
	id := res.Cells[0].ID
	stale := []string{
		filepath.Join(dir, "attempts", id+"-20261201T000000.000000000", ".cell.json.1234567"),
		filepath.Join(rundir.CellDir(dir, id), ".cell.json.42"),
		filepath.Join(dir, ".manifest.json.7"),
	}
	for _, p := range stale {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(`{"id":`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runFake(t, testctx.New(t), dir, func(int) fakeBoard { return fakeBoard{runs: &runs} }, true)
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there", p)
		}
	}
}
