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
	no := false
	tests := []struct {
		name   string
		boards []Board
		tool   idf.Tool
		want   []string // substrings of the error; none: no error
		noIDF  bool
	}{
		{name: "virtual boards need nothing", boards: []Board{{Name: "v", Virtual: "esp32s3-n8r8"}}},
		{name: "placeholder port and no idf.py: both in one error", boards: []Board{{Name: "s3", Port: "@PORT@"}},
			want: []string{`board "s3": port "@PORT@" is a placeholder`, "idf.py not found"}, noIDF: true},
		{name: "placeholder port, idf.py given", boards: []Board{{Name: "s3", Port: "@PORT@"}}, tool: idf.Tool{IDFPy: fakeIDF},
			want: []string{"is a placeholder"}},
		{name: "real port, idf.py given", boards: []Board{{Name: "s3", Port: "/dev/ttyACM0"}}, tool: idf.Tool{IDFPy: fakeIDF}},
		{name: "real port, no idf.py", boards: []Board{{Name: "s3", Port: "/dev/ttyACM0"}}, want: []string{"idf.py not found"}, noIDF: true},
		{name: "flash: false needs no idf.py", boards: []Board{{Name: "s3", Port: "/dev/ttyACM0", Flash: &no}}, noIDF: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.noIDF {
				t.Setenv("PATH", t.TempDir())
				t.Setenv("IDF_PATH", "")
			}
			err := CheckHardware(&File{Boards: tt.boards}, tt.tool)
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
			if strings.Contains(tt.want[len(tt.want)-1], "idf.py") && !errors.Is(err, idf.ErrNoIDF) {
				t.Errorf("error does not wrap idf.ErrNoIDF: %v", err)
			}
		})
	}
}
