package idf

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/wsbench/wsbench/rundir"
)

// QEMUDefaults is the sdkconfig layer of images for Espressif's QEMU, in the
// project: network over the emulated open_eth NIC instead of Wi-Fi, quad
// PSRAM, and software AES/SHA (QEMU's accelerators cannot read a task stack
// in PSRAM). Build adds it after the variant's layer when BuildOptions.QEMU
// is set, so that it holds whatever a variant says.
const QEMUDefaults = "sdkconfig.defaults.qemu"

// QEMUBuildDir is the directory under the project's build root that holds
// QEMU images (build/qemu/<target>/<variant>): they differ from a chip's
// image of the same variant and must never be flashed to one by mistake.
const QEMUBuildDir = "qemu"

// withTargetLayers adds to layers the <layer>.<target> files that exist:
// ESP-IDF loads each after its layer (sdkconfig.defaults.qemu.esp32s3), so a
// change to one makes the sdkconfig stale too.
func withTargetLayers(project string, layers []string, target string) []string {
	var out []string
	for _, l := range layers {
		out = append(out, l)
		p := l + "." + target
		if !filepath.IsAbs(p) {
			p = filepath.Join(project, p)
		}
		if fileExists(p) {
			out = append(out, l+"."+target)
		}
	}
	return out
}

// FlashImageName is the full flash image MergeFlash writes in a build directory.
const FlashImageName = "qemu_flash.bin"

// flasherArgs is the part of ESP-IDF's build/flasher_args.json that says
// what goes where in flash.
type flasherArgs struct {
	FlashSettings struct {
		FlashSize string `json:"flash_size"`
	} `json:"flash_settings"`
	FlashFiles map[string]string `json:"flash_files"`
}

// parseFlashSize reads esptool's size names: "2MB", "4MB", "8MB", "16MB".
func parseFlashSize(s string) (int64, error) {
	v, ok := strings.CutSuffix(s, "MB")
	n, err := strconv.Atoi(v)
	if !ok || err != nil || n < 1 || n > 128 || n&(n-1) != 0 {
		return 0, fmt.Errorf("flash size %q: want a power of two in MB, e.g. 8MB (CONFIG_ESPTOOLPY_FLASHSIZE; \"detect\" or \"keep\" cannot size an image)", s)
	}
	return int64(n) << 20, nil
}

// MergeFlash writes the full flash image QEMU boots from a built variant:
// every file of flasher_args.json's flash_files at its offset, the rest of
// the flash erased (0xFF), filled to the configured flash size. This is the
// layout `esptool.py merge_bin --fill-flash-size SIZE @flash_args` writes
// for `idf.py qemu`; the bootloader's header already carries the build's
// flash mode, frequency and size, so nothing in it needs rewriting. It
// returns the image path (<buildDir>/qemu_flash.bin).
func MergeFlash(buildDir string) (string, error) {
	argsPath := filepath.Join(buildDir, "flasher_args.json")
	b, err := os.ReadFile(argsPath)
	if err != nil {
		return "", fmt.Errorf("flash image: %w (build the variant first)", err)
	}
	var fa flasherArgs
	if err := json.Unmarshal(b, &fa); err != nil {
		return "", fmt.Errorf("flash image: %s: %w", argsPath, err)
	}
	size, err := parseFlashSize(fa.FlashSettings.FlashSize)
	if err != nil {
		return "", fmt.Errorf("flash image: %s: %w", argsPath, err)
	}
	if len(fa.FlashFiles) == 0 {
		return "", fmt.Errorf("flash image: %s lists no flash_files", argsPath)
	}
	type part struct {
		off  int64
		path string
		data []byte
	}
	var parts []part
	for k, rel := range fa.FlashFiles {
		off, err := strconv.ParseInt(k, 0, 64)
		if err != nil || off < 0 {
			return "", fmt.Errorf("flash image: %s: offset %q is not a number", argsPath, k)
		}
		p := rel
		if !filepath.IsAbs(p) {
			p = filepath.Join(buildDir, rel)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("flash image: %w", err)
		}
		parts = append(parts, part{off, rel, data})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].off < parts[j].off })
	img := make([]byte, size)
	for i := range img {
		img[i] = 0xFF
	}
	for i, p := range parts {
		end := p.off + int64(len(p.data))
		if end > size {
			return "", fmt.Errorf("flash image: %s at 0x%x ends at 0x%x, past the %s flash", p.path, p.off, end, fa.FlashSettings.FlashSize)
		}
		if i+1 < len(parts) && end > parts[i+1].off {
			return "", fmt.Errorf("flash image: %s at 0x%x overlaps %s at 0x%x", p.path, p.off, parts[i+1].path, parts[i+1].off)
		}
		copy(img[p.off:], p.data)
	}
	out := filepath.Join(buildDir, FlashImageName)
	if err := rundir.WriteFile(out, img, 0o644); err != nil {
		return "", fmt.Errorf("flash image: %w", err)
	}
	return out, nil
}
