package idf

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeBuild writes a build directory with flasher_args.json and files.
func writeBuild(t *testing.T, size string, files map[string][]byte, offsets map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var parts []string
	for off, name := range offsets {
		parts = append(parts, `"`+off+`": "`+name+`"`)
	}
	js := `{"write_flash_args": ["--flash_mode", "dio"], "flash_settings": {"flash_mode": "dio", "flash_size": "` + size +
		`", "flash_freq": "80m"}, "flash_files": {` + strings.Join(parts, ", ") + `}}`
	if err := os.WriteFile(filepath.Join(dir, "flasher_args.json"), []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMergeFlash(t *testing.T) {
	boot, table, app := []byte("\xe9BOOT"), []byte("\xaa\x50TABLE"), bytes.Repeat([]byte("A"), 5000)
	dir := writeBuild(t, "4MB",
		map[string][]byte{"bootloader/bootloader.bin": boot, "partition_table/partition-table.bin": table, "wsbench_fw.bin": app},
		map[string]string{"0x0": "bootloader/bootloader.bin", "0x8000": "partition_table/partition-table.bin", "0x10000": "wsbench_fw.bin"})
	out, err := MergeFlash(dir)
	if err != nil {
		t.Fatal(err)
	}
	if out != filepath.Join(dir, FlashImageName) {
		t.Errorf("image at %s", out)
	}
	img, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(img) != 4<<20 {
		t.Fatalf("image is %d bytes, want the 4 MB flash", len(img))
	}
	for _, p := range []struct {
		off  int
		data []byte
	}{{0, boot}, {0x8000, table}, {0x10000, app}} {
		if !bytes.Equal(img[p.off:p.off+len(p.data)], p.data) {
			t.Errorf("0x%x does not hold its file", p.off)
		}
	}
	// Everything else is erased flash.
	for _, r := range [][2]int{{len(boot), 0x8000}, {0x8000 + len(table), 0x10000}, {0x10000 + len(app), 4 << 20}} {
		for i := r[0]; i < r[1]; i++ {
			if img[i] != 0xFF {
				t.Fatalf("byte 0x%x is 0x%02x, want erased 0xFF", i, img[i])
			}
		}
	}
}

func TestMergeFlashErrors(t *testing.T) {
	big := make([]byte, 2<<20)
	for _, tc := range []struct {
		name    string
		size    string
		files   map[string][]byte
		offsets map[string]string
		err     string
	}{
		{"flash size not set", "detect", map[string][]byte{"a.bin": {1}}, map[string]string{"0x0": "a.bin"}, `flash size "detect"`},
		{"overlap", "4MB", map[string][]byte{"a.bin": make([]byte, 0x9000), "b.bin": {1}},
			map[string]string{"0x0": "a.bin", "0x8000": "b.bin"}, "a.bin at 0x0 overlaps b.bin at 0x8000"},
		{"past the end", "2MB", map[string][]byte{"a.bin": big}, map[string]string{"0x10000": "a.bin"}, "past the 2MB flash"},
		{"missing file", "4MB", nil, map[string]string{"0x0": "gone.bin"}, "gone.bin"},
		{"bad offset", "4MB", map[string][]byte{"a.bin": {1}}, map[string]string{"zero": "a.bin"}, `offset "zero"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeBuild(t, tc.size, tc.files, tc.offsets)
			_, err := MergeFlash(dir)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("MergeFlash: %v, want %q", err, tc.err)
			}
			if _, err := os.Stat(filepath.Join(dir, FlashImageName)); err == nil {
				t.Error("an image was written despite the error")
			}
		})
	}
	if _, err := MergeFlash(t.TempDir()); err == nil || !strings.Contains(err.Error(), "build the variant first") {
		t.Errorf("MergeFlash of an empty directory: %v", err)
	}
}

func TestWithTargetLayers(t *testing.T) {
	proj := t.TempDir()
	for _, f := range []string{"sdkconfig.defaults", "sdkconfig.defaults.esp32s3", "sdkconfig.defaults.qemu", "sdkconfig.defaults.qemu.esp32s3"} {
		if err := os.WriteFile(filepath.Join(proj, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := withTargetLayers(proj, []string{"sdkconfig.defaults", "sdkconfig.defaults.qemu"}, "esp32s3")
	want := []string{"sdkconfig.defaults", "sdkconfig.defaults.esp32s3", "sdkconfig.defaults.qemu", "sdkconfig.defaults.qemu.esp32s3"}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("esp32s3: %q, want %q", got, want)
	}
	if got := withTargetLayers(proj, []string{"sdkconfig.defaults.qemu"}, "esp32"); len(got) != 1 {
		t.Errorf("esp32 has no target file: %q", got)
	}
}
