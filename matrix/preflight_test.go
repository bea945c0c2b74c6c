package matrix

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/idf"
)

func TestCheckHardware(t *testing.T) {
	bin := t.TempDir()
	fakeIDF := filepath.Join(bin, "idf.py")
	if err := os.WriteFile(fakeIDF, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A user's own project: int and nokeep, not the repository's list.
	proj := t.TempDir()
	for _, f := range []string{"variants/int.defaults", "variants/nokeep.defaults", "variants/README.md"} {
		p := filepath.Join(proj, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("# "+f+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(t.TempDir(), "nope")
	// variants is a file: ReadDir fails even for root.
	notDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(notDir, "variants"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	no := false
	vs := func(names ...string) []Variant {
		var out []Variant
		for _, n := range names {
			out = append(out, Variant{Name: n})
		}
		return out
	}
	qemu := Board{Name: "q", QEMU: "esp32s3"}
	port := Board{Name: "s3", Port: "/dev/ttyACM0", Target: "esp32s3"}
	virtual := Board{Name: "v", Virtual: "esp32s3-n8r8"}
	tests := []struct {
		name      string
		boards    []Board
		variants  []Variant
		scenarios []Scenario
		project   string // "": proj
		tool      idf.Tool
		want      []string // substrings of the error; none: no error
		dont      []string // not in the error
		noIDF     bool
	}{
		{name: "virtual boards need nothing", boards: []Board{virtual}, variants: vs("turbo"), project: missing},
		{name: "placeholder port and no idf.py: both in one error", boards: []Board{{Name: "s3", Port: "@PORT@"}},
			want: []string{`board "s3": port "@PORT@" is a placeholder`, "idf.py not found"}, noIDF: true},
		{name: "placeholder port, idf.py given", boards: []Board{{Name: "s3", Port: "@PORT@"}}, tool: idf.Tool{IDFPy: fakeIDF},
			want: []string{"is a placeholder"}},
		{name: "real port, idf.py given", boards: []Board{port}, tool: idf.Tool{IDFPy: fakeIDF}},
		{name: "real port, no idf.py", boards: []Board{port}, want: []string{"idf.py not found"}, noIDF: true},
		{name: "flash: false needs no idf.py", boards: []Board{{Name: "s3", Port: "/dev/ttyACM0", Flash: &no}}, noIDF: true},

		{name: "a variant of the project's own, on qemu and a port", boards: []Board{qemu, port, virtual}, variants: vs("int", "nokeep"),
			tool: idf.Tool{IDFPy: fakeIDF}},
		{name: "a variant the project lacks", boards: []Board{qemu, port, virtual}, variants: vs("nokeep", "turbo"), tool: idf.Tool{IDFPy: fakeIDF},
			want: []string{`variant "turbo": boards "q", "s3" are built from "` + filepath.Join(proj, "variants", "turbo.defaults") + `", which does not exist (the project has int, nokeep)`},
			dont: []string{`variant "nokeep"`, "README"}},
		{name: "every problem in one error", boards: []Board{{Name: "s3", Port: "@PORT@"}}, variants: vs("turbo", "nitro"),
			want: []string{"is a placeholder", "idf.py not found", `variant "turbo": board "s3" is built from`, `variant "nitro": board "s3"`}, noIDF: true},
		{name: "flash: false builds nothing", boards: []Board{{Name: "s3", Port: "/dev/ttyACM0", Flash: &no}, virtual}, variants: vs("turbo"), noIDF: true},
		{name: "qemu board, no idf.py", boards: []Board{qemu, virtual}, variants: vs("int"), noIDF: true,
			want: []string{"qemu boards' images are built with idf.py: idf.py not found"}, dont: []string{"real boards"}},
		{name: "port and qemu board, no idf.py: one error names both", boards: []Board{port, qemu}, variants: vs("int"), noIDF: true,
			want: []string{"real boards are built and flashed and qemu boards' images are built with idf.py: idf.py not found"}},
		{name: "a variant that runs only on a virtual board", boards: []Board{qemu, virtual}, variants: vs("int", "turbo"), tool: idf.Tool{IDFPy: fakeIDF},
			scenarios: []Scenario{{Name: "a", Variants: []string{"int"}}, {Name: "b", Variants: []string{"turbo"}, Boards: []string{"v"}}}},
		{name: "a variant a scenario runs on the qemu board", boards: []Board{qemu, virtual}, variants: vs("int", "turbo"), tool: idf.Tool{IDFPy: fakeIDF},
			scenarios: []Scenario{{Name: "a", Variants: []string{"int"}}, {Name: "b", Variants: []string{"turbo"}, Boards: []string{"q"}}},
			want:      []string{`variant "turbo": board "q" is built from`}},
		{name: "a variant named with a separator (a File built in code)", boards: []Board{qemu}, variants: vs("../int"), tool: idf.Tool{IDFPy: fakeIDF},
			want: []string{`variant: "../int": starts with "."`}},
		{name: "no project directory", boards: []Board{qemu, virtual}, variants: vs("int"), project: missing, tool: idf.Tool{IDFPy: fakeIDF},
			want: []string{`board "q" is built from the firmware project's variants/<variant>.defaults: variants of project ` + missing + ": open " + filepath.Join(missing, "variants") + ": no such file or directory"}},
		{name: "unreadable variants directory", boards: []Board{port}, variants: vs("int"), project: notDir, tool: idf.Tool{IDFPy: fakeIDF},
			want: []string{"variants of project " + notDir + ": open " + filepath.Join(notDir, "variants") + ": not a directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.noIDF {
				t.Setenv("PATH", t.TempDir())
				t.Setenv("IDF_PATH", "")
			}
			p := tt.project
			if p == "" {
				p = proj
			}
			err := CheckHardware(&File{Boards: tt.boards, Variants: tt.variants, Scenarios: tt.scenarios}, tt.tool, p)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, d := range tt.dont {
				if strings.Contains(err.Error(), d) {
					t.Errorf("error %q has %q", err, d)
				}
			}
			if tt.noIDF && !errors.Is(err, idf.ErrNoIDF) {
				t.Errorf("error does not wrap idf.ErrNoIDF: %v", err)
			}
		})
	}
}
