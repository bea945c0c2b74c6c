package qemu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Name is what the firmware's Hello reports as its emulator when it runs in
// QEMU (wire.Hello.Emulator).
const Name = "qemu"

// GatewayIP is the host as the guest sees it on QEMU's user networking
// (slirp's default 10.0.2.2, forwarded to the host's loopback).
const GatewayIP = "10.0.2.2"

// EnvBinary names the environment variable that points at a
// qemu-system-xtensa binary, overriding every other place.
const EnvBinary = "WSBENCH_QEMU"

// ErrNotFound: no QEMU for the target in $WSBENCH_QEMU, ESP-IDF's tools
// directory or PATH.
var ErrNotFound = errors.New("QEMU not found")

// Targets are the chips this package emulates (Espressif's QEMU machines).
func Targets() []string { return []string{"esp32s3", "esp32"} }

// Program is the QEMU binary that emulates target, and the ESP-IDF tools
// package (idf_tools.py install ...) it comes in.
func Program(target string) (prog, pkg string, err error) {
	switch target {
	case "esp32s3", "esp32":
		return "qemu-system-xtensa", "qemu-xtensa", nil
	}
	return "", "", fmt.Errorf("qemu: target %q: want one of %s", target, strings.Join(Targets(), ", "))
}

// InstallHint says how to install Espressif's QEMU with ESP-IDF's own tools.
const InstallHint = `install Espressif's QEMU with ESP-IDF's own tools (ESP-IDF v5.3 or newer):
    python $IDF_PATH/tools/idf_tools.py install qemu-xtensa qemu-riscv32
    . $IDF_PATH/export.sh
or set ` + EnvBinary + ` to a qemu-system-xtensa of Espressif's fork (esp-develop-9.2 or newer;
upstream QEMU has no esp32s3 machine). docs/qemu.md has the details.`

// Find returns the path of the QEMU binary for target: $WSBENCH_QEMU when
// set (it must then exist), else the newest under ESP-IDF's tools directory
// ($IDF_TOOLS_PATH, default ~/.espressif: tools/qemu-xtensa/<version>/qemu/bin/),
// else PATH. The error wraps ErrNotFound and says where it looked and how to
// install it.
func Find(target string) (string, error) {
	prog, pkg, err := Program(target)
	if err != nil {
		return "", err
	}
	if p := os.Getenv(EnvBinary); p != "" {
		st, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("%w: $%s=%s: %v", ErrNotFound, EnvBinary, p, err)
		}
		if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%w: $%s=%s is not an executable file", ErrNotFound, EnvBinary, p)
		}
		return p, nil
	}
	looked := []string{"$" + EnvBinary + " is unset"}
	if dir := idfToolsDir(); dir != "" {
		pattern := filepath.Join(dir, "tools", pkg, "*", "qemu", "bin", prog)
		looked = append(looked, "nothing matches "+pattern)
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			// Version directories (esp_develop_9.2.2_20250817, ...) sort by date
			// within a line; the last is the newest install.
			slices.Sort(m)
			return m[len(m)-1], nil
		}
	}
	if p, err := exec.LookPath(prog); err == nil {
		return p, nil
	}
	looked = append(looked, "none on PATH")
	return "", fmt.Errorf("%w: no %s for %s (%s).\nTo run qemu boards, %s",
		ErrNotFound, prog, target, strings.Join(looked, "; "), InstallHint)
}

// idfToolsDir is ESP-IDF's tools directory: $IDF_TOOLS_PATH or ~/.espressif.
func idfToolsDir() string {
	if d := os.Getenv("IDF_TOOLS_PATH"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".espressif")
}
