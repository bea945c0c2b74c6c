package qemu

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/internal/testctx"
)

func TestArgs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		c       Config
		want    []string // consecutive pairs or single args that must appear
		without []string
		err     string
	}{
		{name: "esp32s3 with 8 MB PSRAM and open_eth",
			c: Config{Target: "esp32s3", PSRAM: 8 << 20, Flash: "/f/flash.bin", Socket: "/s/console.sock", Network: true},
			want: []string{"-M esp32s3", "-m 8M", "-drive file=/f/flash.bin,if=mtd,format=raw", "-nic user,model=open_eth",
				"-serial unix:/s/console.sock,server=on,wait=on", "-global driver=timer.esp32s3.timg,property=wdt_disable,value=true",
				"-display none", "-monitor none"}},
		{name: "esp32 without a network",
			c:       Config{Target: "esp32", PSRAM: 4 << 20, Flash: "/f", Socket: "/s"},
			want:    []string{"-M esp32", "-m 4M", "-nic none"},
			without: []string{"user,model=open_eth"}},
		{name: "commas in paths are doubled",
			c:    Config{Target: "esp32s3", Flash: "/a,b/flash.bin", Socket: "/c,d/s"},
			want: []string{"-drive file=/a,,b/flash.bin,if=mtd,format=raw", "-serial unix:/c,,d/s,server=on,wait=on"}},
		{name: "unknown chip", c: Config{Target: "esp32c3", Flash: "/f", Socket: "/s"}, err: `target "esp32c3"`},
		{name: "PSRAM not in MiB", c: Config{Target: "esp32s3", PSRAM: 1000, Flash: "/f", Socket: "/s"}, err: "whole MiB"},
		{name: "no flash image", c: Config{Target: "esp32s3", Socket: "/s"}, err: "flash image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, err := tc.c.Args()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			line := " " + strings.Join(args, " ") + " "
			for _, w := range tc.want {
				if !strings.Contains(line, " "+w+" ") {
					t.Errorf("args lack %q: %s", w, line)
				}
			}
			for _, w := range tc.without {
				if strings.Contains(line, w) {
					t.Errorf("args have %q: %s", w, line)
				}
			}
		})
	}
}

// exe writes an executable shell script at path.
func exe(t *testing.T, path, script string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFind(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, tools, path string) (env, want string)
		err   []string
	}{
		{"WSBENCH_QEMU wins", func(t *testing.T, tools, path string) (string, string) {
			p := exe(t, filepath.Join(t.TempDir(), "my-qemu"), "")
			exe(t, filepath.Join(path, "qemu-system-xtensa"), "")
			return p, p
		}, nil},
		{"WSBENCH_QEMU naming nothing is an error, not a fallback", func(t *testing.T, tools, path string) (string, string) {
			exe(t, filepath.Join(path, "qemu-system-xtensa"), "")
			return "/nonexistent/qemu", ""
		}, []string{"$WSBENCH_QEMU=/nonexistent/qemu"}},
		{"newest in ESP-IDF's tools directory before PATH", func(t *testing.T, tools, path string) (string, string) {
			exe(t, filepath.Join(tools, "tools/qemu-xtensa/esp_develop_8.2.0_20240122/qemu/bin/qemu-system-xtensa"), "")
			want := exe(t, filepath.Join(tools, "tools/qemu-xtensa/esp_develop_9.2.2_20250817/qemu/bin/qemu-system-xtensa"), "")
			exe(t, filepath.Join(path, "qemu-system-xtensa"), "")
			return "", want
		}, nil},
		{"PATH", func(t *testing.T, tools, path string) (string, string) {
			return "", exe(t, filepath.Join(path, "qemu-system-xtensa"), "")
		}, nil},
		{"nowhere", func(t *testing.T, tools, path string) (string, string) { return "", "" },
			[]string{"$WSBENCH_QEMU is unset", "tools/qemu-xtensa/*/qemu/bin/qemu-system-xtensa", "none on PATH",
				"python $IDF_PATH/tools/idf_tools.py install qemu-xtensa qemu-riscv32", ". $IDF_PATH/export.sh"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tools, path := t.TempDir(), t.TempDir()
			env, want := tc.setup(t, tools, path)
			t.Setenv(EnvBinary, env)
			t.Setenv("IDF_TOOLS_PATH", tools)
			t.Setenv("PATH", path)
			got, err := Find("esp32s3")
			if tc.err != nil {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("Find: %q, %v; want ErrNotFound", got, err)
				}
				for _, w := range tc.err {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not say %q:\n%v", w, err)
					}
				}
				return
			}
			if err != nil || got != want {
				t.Fatalf("Find = %q, %v; want %q", got, err, want)
			}
		})
	}
}

// A QEMU that exits at once (a bad option, a missing machine) fails Start
// with what it printed; nothing is left running.
func TestStartReportsAnEarlyExit(t *testing.T) {
	dir := t.TempDir()
	bin := exe(t, filepath.Join(dir, "qemu-system-xtensa"), `echo "qemu-system-xtensa: -M esp32s3: unsupported machine type" >&2; exit 1`+"\n")
	flash := filepath.Join(dir, "flash.bin")
	if err := os.WriteFile(flash, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Start(testctx.New(t), Config{Binary: bin, Target: "esp32s3", Flash: flash, Socket: filepath.Join(dir, "s")})
	if err == nil || !strings.Contains(err.Error(), "unsupported machine type") || !strings.Contains(err.Error(), "exited before it listened") {
		t.Fatalf("Start: %v; want the early exit with QEMU's message", err)
	}
}

func TestProgram(t *testing.T) {
	for _, target := range Targets() {
		if p, pkg, err := Program(target); err != nil || p != "qemu-system-xtensa" || pkg != "qemu-xtensa" {
			t.Errorf("Program(%s) = %s, %s, %v", target, p, pkg, err)
		}
	}
	if _, _, err := Program("esp32c3"); err == nil || !slices.Contains(Targets(), "esp32s3") {
		t.Errorf("Program(esp32c3): %v, want an error", err)
	}
}
