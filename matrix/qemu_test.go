package matrix

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/idf"
	"github.com/wsbench/wsbench/internal/idftest"
	"github.com/wsbench/wsbench/internal/qemutest"
	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/qemu"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// TestMain lets the test binary stand in for qemu-system-xtensa (qemutest).
func TestMain(m *testing.M) {
	qemutest.Run()
	os.Exit(m.Run())
}

// fakeIDFPyQEMU stands in for idf.py: it logs its arguments and writes what a
// build leaves behind, with an "app" made of the build's sdkconfig layers (in
// order) and the peer CA it embeds, which the QEMU stand-in boots.
const fakeIDFPyQEMU = `#!/bin/sh
echo "$*" >> "$FAKE_IDF_LOG"
project=; builddir=; sdkconfig=; outfile=; target=; actions=; layers=; ca=
while [ $# -gt 0 ]; do
  case "$1" in
    -C) shift; project="$1" ;;
    -B) shift; builddir="$1" ;;
    -D) shift; case "$1" in
          SDKCONFIG=*) sdkconfig="${1#SDKCONFIG=}" ;;
          SDKCONFIG_DEFAULTS=*) layers="${1#SDKCONFIG_DEFAULTS=}" ;;
          WSBENCH_PEER_CA=*) ca="${1#WSBENCH_PEER_CA=}" ;;
        esac ;;
    -p|-b|--format) shift ;;
    --output-file) shift; outfile="$1" ;;
    set-target) shift; target="$1"; actions="$actions set-target" ;;
    *) actions="$actions $1" ;;
  esac
  shift
done
for a in $actions; do
  case "$a" in
    set-target)
      mkdir -p "$builddir"; printf 'CONFIG_IDF_TARGET="%s"\n' "$target" > "$sdkconfig"
      # kconfgen's output when every line takes effect: the layers in order;
      # and for the sdkconfig check a Kconfig that defines each option named.
      old_ifs=$IFS; IFS=';'
      # (ESP-IDF also loads <layer>.<target> after each layer.)
      for l in $layers; do
        case "$l" in /*) f="$l" ;; *) f="$project/$l" ;; esac
        cat "$f"; if [ -f "$f.$target" ]; then cat "$f.$target"; fi
      done >> "$sdkconfig"
      IFS=$old_ifs
      sed -n -e 's/^CONFIG_\([A-Za-z0-9_]*\)=.*/config \1\n    string "\1"/p' \
        -e 's/^# CONFIG_\([A-Za-z0-9_]*\) is not set.*/config \1\n    string "\1"/p' "$sdkconfig" > "$builddir/Kconfig.fake"
      printf '{"COMPONENT_KCONFIGS": "%s", "COMPONENT_KCONFIGS_PROJBUILD": "", "IDF_VERSION": "5.4.4"}\n' "$builddir/Kconfig.fake" > "$builddir/config.env" ;;
    build)
      mkdir -p "$builddir/bootloader" "$builddir/partition_table"
      printf 'BOOTLOADER' > "$builddir/bootloader/bootloader.bin"
      printf 'PARTITIONS' > "$builddir/partition_table/partition-table.bin"
      : > "$builddir/wsbench_fw.bin"
      old_ifs=$IFS; IFS=';'
      for l in $layers; do
        case "$l" in /*) cat "$l" ;; *) cat "$project/$l" ;; esac >> "$builddir/wsbench_fw.bin"
      done
      IFS=$old_ifs
      echo "WSBENCH_PEER_CA=$ca" >> "$builddir/wsbench_fw.bin"
      cat > "$builddir/flasher_args.json" <<JSON
{"flash_settings": {"flash_mode": "dio", "flash_size": "8MB", "flash_freq": "80m"},
 "flash_files": {"0x0": "bootloader/bootloader.bin", "0x8000": "partition_table/partition-table.bin", "0x10000": "wsbench_fw.bin"}}
JSON
      ;;
    size) echo '{"version": "1.0", "layout": [{"name": "DIRAM", "total": 341760, "used": 90112, "free": 251648, "parts": {}}]}' > "$outfile" ;;
  esac
done
`

// qemuProject copies the firmware's real sdkconfig layers (base, targets,
// QEMU, variants) into a project the fake idf.py builds, so the stand-in
// boots what those files say.
func qemuProject(t *testing.T) string {
	t.Helper()
	proj := filepath.Join(t.TempDir(), "firmware")
	files, err := filepath.Glob("../firmware/sdkconfig.defaults*")
	if err != nil {
		t.Fatal(err)
	}
	vs, _ := filepath.Glob("../firmware/variants/*.defaults")
	files = append(append(files, vs...), "../firmware/CMakeLists.txt")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(proj, strings.TrimPrefix(f, "../firmware/"))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return proj
}

func installFakeIDF(t *testing.T) string {
	t.Helper()
	return idftest.Install(t, fakeIDFPyQEMU)
}

const qemuMatrix = `
seed: 3
component:
  behaviour: strict   # the default esp_websocket_client (idf.DefaultComponentBehaviour)
boards:
  - name: emu
    qemu: esp32s3
    psram: 8MB
    count: 2
variants:
  - name: int
  - name: stack-ext
    stack_in_ext_ram: true
scenarios:
  - scenario: sweep
    n: [0, 1, 2]
    baseline: 500ms
    window: 1s
repetitions: 1
`

// startGuestPeer starts a peer on loopback whose certificate names extraSANs.
func startGuestPeer(t *testing.T, extraSANs ...string) (Trust, PeerURLs) {
	t.Helper()
	srv, trust, urls := startPeer(t, extraSANs...)
	trust.CAFile = srv.CAFile() // the firmware is built with the CA
	return trust, urls
}

func runQEMU(t *testing.T, yaml string, trust Trust, urls PeerURLs) (*Result, string) {
	t.Helper()
	f, err := Parse("qemu.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckQEMU(f); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := Run(testctx.New(t), f, Options{RunDir: dir, Peer: urls, StartCapture: CollectorCapture,
		Manifest:  rundir.Manifest{RunID: "qemu"},
		NewDevice: Devices(trust, HardwareOptions{Project: qemuProject(t), SizeDir: filepath.Join(dir, rundir.FirmwareDir), RunDir: dir})})
	if err != nil {
		t.Fatal(err)
	}
	return res, dir
}

// The qemu path end to end with the stand-in: each variant is built once
// with the QEMU layer, merged into an 8 MB image, and every cell boots a
// QEMU of its own (two in parallel) whose console the collector captures;
// the firmware dials the peer as 10.0.2.2, and its Hello says emulator qemu.
func TestQEMUBoardRunsCellsThroughTheQEMUPath(t *testing.T) {
	idfLog := installFakeIDF(t)
	starts := qemutest.Install(t)
	trust, urls := startGuestPeer(t, qemu.GatewayIP)
	res, dir := runQEMU(t, qemuMatrix, trust, urls)
	if c := res.Counts(); c[rundir.StatusOK] != 6 {
		for _, c := range res.Cells {
			t.Logf("%s: %s %s", c.ID, c.Status, c.Reason)
		}
		t.Fatalf("cells: %v, want 6 ok", c)
	}
	for _, c := range res.Cells {
		if !c.HelloMatch {
			t.Errorf("cell %s: Hello did not match", c.ID)
		}
		u, err := url.Parse(c.Params.WSURL)
		if err != nil || u.Hostname() != qemu.GatewayIP {
			t.Errorf("cell %s dials %s, want the host as QEMU's guest sees it (%s)", c.ID, c.Params.WSURL, qemu.GatewayIP)
		}
		// QEMU's own messages are kept with the cell.
		if b, err := os.ReadFile(filepath.Join(rundir.CellDir(dir, c.ID), rundir.EmulatorFile)); err != nil || !strings.Contains(string(b), "waiting for a connection") {
			t.Errorf("cell %s: emulator.log %q, %v", c.ID, b, err)
		}
		// The capture holds the emulated board's Hello.
		raw, err := os.ReadFile(filepath.Join(rundir.CellDir(dir, c.ID), "raw.bin"))
		if err != nil || !strings.Contains(string(raw), "emulator") {
			t.Errorf("cell %s: raw capture has no Hello naming the emulator (%v)", c.ID, err)
		}
	}

	// One build per variant, each with the QEMU layer after the variant's,
	// in build/qemu/, although two QEMUs ran the cells.
	b, err := os.ReadFile(idfLog)
	if err != nil {
		t.Fatal(err)
	}
	var builds []string
	for _, call := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasSuffix(call, " build") {
			builds = append(builds, call)
			if !strings.Contains(call, "variants/") || !strings.Contains(call, ".defaults;sdkconfig.defaults.qemu") {
				t.Errorf("build without the QEMU layer after the variant's: %s", call)
			}
			if !strings.Contains(call, string(filepath.Separator)+filepath.Join("build", "qemu", "esp32s3")+string(filepath.Separator)) {
				t.Errorf("QEMU image built outside build/qemu/: %s", call)
			}
		}
	}
	if len(builds) != 2 {
		t.Fatalf("%d builds for 2 variants, want 2:\n%s", len(builds), b)
	}

	// One QEMU per cell, with the machine, PSRAM, network and console asked for.
	runs := qemutest.Starts(t, starts)
	if len(runs) != 6 {
		t.Fatalf("%d QEMU starts for 6 cells, want 6", len(runs))
	}
	for _, args := range runs {
		line := strings.Join(args, " ")
		for _, want := range []string{"-M esp32s3", "-m 8M", "-nic user,model=open_eth", ",if=mtd,format=raw"} {
			if !strings.Contains(line, want) {
				t.Errorf("QEMU started without %q: %s", want, line)
			}
		}
		if !slices.ContainsFunc(args, func(a string) bool {
			return strings.HasPrefix(a, "unix:") && strings.HasSuffix(a, ",server=on,wait=on")
		}) {
			t.Errorf("QEMU console is not a waiting Unix socket: %s", line)
		}
	}
	// The analysis labels every figure of the run as a qemu board's.
	sum, err := analysis.AnalyzeRun(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if sum.BoardKinds["emu"] != analysis.BoardKindQEMU || len(sum.BoardKinds) != 1 {
		t.Errorf("board kinds %v, want emu: qemu", sum.BoardKinds)
	}
	for _, c := range sum.Cells {
		if c.BoardKind != analysis.BoardKindQEMU {
			t.Errorf("cell %s: board kind %q, want qemu", c.ID, c.BoardKind)
		}
	}
	// The static size report is kept under a name that says QEMU.
	if _, err := os.Stat(filepath.Join(dir, rundir.FirmwareDir, rundir.SizeFile("qemu-esp32s3", "int", "strict"))); err != nil {
		t.Errorf("size report of the QEMU image: %v", err)
	}
}

// A peer whose certificate does not name 10.0.2.2 fails every session in
// the guest, and the cell says the peer is not reachable; a missing QEMU is
// an error before anything is built.
func TestQEMUBoardFailures(t *testing.T) {
	t.Run("certificate without the gateway address", func(t *testing.T) {
		installFakeIDF(t)
		qemutest.Install(t)
		trust, urls := startGuestPeer(t) // loopback only
		one := strings.Replace(strings.Replace(qemuMatrix, "n: [0, 1, 2]", "n: [1]", 1), "    count: 2\n", "", 1)
		res, _ := runQEMU(t, one, trust, urls)
		for _, c := range res.Cells {
			if c.Status != rundir.StatusFailed || !strings.Contains(c.Reason, "no TLS session connected") {
				t.Errorf("cell %s: %s %q; want failed, no TLS session", c.ID, c.Status, c.Reason)
			}
		}
	})
	t.Run("image built without the QEMU layer", func(t *testing.T) {
		installFakeIDF(t)
		qemutest.Install(t)
		trust, urls := startGuestPeer(t, qemu.GatewayIP)
		one := strings.Replace(strings.Replace(qemuMatrix, "n: [0, 1, 2]", "n: [1]", 1), "    count: 2\n", "", 1)
		f, err := Parse("qemu.yaml", []byte(one))
		if err != nil {
			t.Fatal(err)
		}
		proj := qemuProject(t)
		if err := os.WriteFile(filepath.Join(proj, idf.QEMUDefaults), []byte("# emptied\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := Run(context.Background(), f, Options{RunDir: t.TempDir(), Peer: urls, StartCapture: CollectorCapture,
			NewDevice: Devices(trust, HardwareOptions{Project: proj})})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Cells {
			if c.Status != rundir.StatusFailed || !strings.Contains(c.Reason, `emulator "", want "qemu" (the image was not built with sdkconfig.defaults.qemu)`) {
				t.Errorf("cell %s: %s %q; want failed: not a QEMU image", c.ID, c.Status, c.Reason)
			}
		}
	})
	t.Run("QEMU crashes during the run", func(t *testing.T) {
		installFakeIDF(t)
		qemutest.Install(t)
		t.Setenv(qemutest.EnvCrashOnRun, "1")
		trust, urls := startGuestPeer(t, qemu.GatewayIP)
		one := strings.Replace(strings.Replace(qemuMatrix, "n: [0, 1, 2]", "n: [1]", 1), "    count: 2\n", "", 1)
		// A long window: without noticing the exit, the cell would wait
		// for its timeout (minutes), and the test's deadline would end it.
		one = strings.Replace(one, "window: 1s", "window: 10m", 1)
		res, _ := runQEMU(t, one, trust, urls)
		for _, c := range res.Cells {
			if c.Status != rundir.StatusFailed || !strings.Contains(c.Reason, "ended during the run: qemu exited: ") || !strings.Contains(c.Reason, qemutest.CrashMessage) {
				t.Errorf("cell %s: %s %q; want failed: QEMU ended, with its message", c.ID, c.Status, c.Reason)
			}
		}
	})
	t.Run("no QEMU", func(t *testing.T) {
		t.Setenv("WSBENCH_QEMU", "")
		t.Setenv("IDF_TOOLS_PATH", t.TempDir())
		t.Setenv("PATH", t.TempDir())
		f, err := Parse("qemu.yaml", []byte(qemuMatrix))
		if err != nil {
			t.Fatal(err)
		}
		err = CheckQEMU(f)
		if !errors.Is(err, qemu.ErrNotFound) {
			t.Fatalf("CheckQEMU without QEMU: %v, want ErrNotFound", err)
		}
		for _, want := range []string{"board emu", "idf_tools.py install qemu-xtensa qemu-riscv32", "export.sh", "WSBENCH_QEMU"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not say %q:\n%v", want, err)
			}
		}
		if _, err := Devices(Trust{}, HardwareOptions{})(f.Boards[0], 0); !errors.Is(err, qemu.ErrNotFound) {
			t.Errorf("a qemu device without QEMU: %v, want ErrNotFound", err)
		}
	})
}

// What a qemu board's Hello must say about the board itself.
func TestQEMUDeviceChecksHello(t *testing.T) {
	d := &qemuDevice{name: "emu#1", board: Board{QEMU: "esp32s3", PSRAM: "8MB"}}
	for _, tc := range []struct {
		name string
		h    wire.Hello
		err  string
	}{
		{"the QEMU image", wire.Hello{Emulator: "qemu", Chip: "esp32s3", PSRAMSize: 8 << 20}, ""},
		{"a chip's image", wire.Hello{Chip: "esp32s3", PSRAMSize: 8 << 20}, `emulator "", want "qemu"`},
		{"another chip", wire.Hello{Emulator: "qemu", Chip: "esp32", PSRAMSize: 8 << 20}, `chip "esp32", want "esp32s3"`},
		{"PSRAM not found", wire.Hello{Emulator: "qemu", Chip: "esp32s3"}, "PSRAM 0 bytes, QEMU was given 8MB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := d.CheckHello(&tc.h)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("CheckHello: %v, want %q", err, tc.err)
			}
		})
	}
}

// Matrix checks of qemu boards, with the line of the problem.
func TestQEMUBoardConfig(t *testing.T) {
	const tail = "variants:\n  - name: int\nscenarios:\n  - scenario: sweep\n"
	for _, tc := range []struct {
		name, boards string
		err          string // "" for a valid board
		check        func(t *testing.T, b Board)
	}{
		{name: "defaults", boards: "  - name: q\n    qemu: esp32s3\n", check: func(t *testing.T, b Board) {
			if b.PSRAM != "8MB" || b.Target != "esp32s3" || b.Count != 1 {
				t.Errorf("board %+v: want psram 8MB, target esp32s3, count 1", b)
			}
		}},
		{name: "esp32 defaults to 4MB", boards: "  - name: q\n    qemu: esp32\n", check: func(t *testing.T, b Board) {
			if b.PSRAM != "4MB" {
				t.Errorf("psram %q, want 4MB", b.PSRAM)
			}
		}},
		{name: "psram spelled loosely", boards: "  - name: q\n    qemu: esp32s3\n    psram: 16mb\n    count: 3\n", check: func(t *testing.T, b Board) {
			if b.PSRAM != "16MB" || b.Count != 3 {
				t.Errorf("board %+v", b)
			}
		}},
		{name: "unknown chip", boards: "  - name: q\n    qemu: esp32c3\n", err: `qemu.yaml:3: board "q": qemu "esp32c3": want esp32s3 or esp32`},
		{name: "too much PSRAM for an ESP32", boards: "  - name: q\n    qemu: esp32\n    psram: 8MB\n", err: `qemu.yaml:4: board "q": psram "8MB": want one of 2MB, 4MB for esp32`},
		{name: "another target", boards: "  - name: q\n    qemu: esp32s3\n    target: esp32\n", err: `target "esp32" differs from qemu "esp32s3"`},
		{name: "port and qemu", boards: "  - name: q\n    qemu: esp32s3\n    port: /dev/ttyUSB0\n", err: "give one of virtual, port or qemu, not several"},
		{name: "psram on a virtual board", boards: "  - name: v\n    virtual: esp32s3-n8r8\n    psram: 8MB\n", err: "psram and qemu_args apply to qemu boards only"},
		{name: "faults on a qemu board", boards: "  - name: q\n    qemu: esp32s3\n    faults: {leak: 1}\n", err: "faults apply to virtual boards only"},
		{name: "qemu_args owning the console", boards: "  - name: q\n    qemu: esp32s3\n    qemu_args: [-serial, stdio]\n", err: "qemu_args: -serial is set by wsbench"},
		{name: "qemu_args", boards: "  - name: q\n    qemu: esp32s3\n    qemu_args: [-icount, shift=auto]\n", check: func(t *testing.T, b Board) {
			if len(b.QEMUArgs) != 2 {
				t.Errorf("qemu_args %q", b.QEMUArgs)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("qemu.yaml", []byte("boards:\n"+tc.boards+tail))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse: %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, f.Boards[0])
			if !f.HasQEMU() {
				t.Error("HasQEMU is false")
			}
		})
	}
}

// interruptingQEMU is a qemu device whose run is cancelled (Ctrl-C) as the
// after-th cell prepares. It embeds the concrete device so that the runner
// still sees its optional interfaces (peer URLs, boot timeout, Hello check).
type interruptingQEMU struct {
	*qemuDevice
	n      *atomic.Int32
	after  int32
	cancel context.CancelFunc
}

func (d *interruptingQEMU) Prepare(ctx context.Context, c rundir.Cell) (Opener, error) {
	if d.n.Add(1) == d.after {
		d.cancel()
	}
	return d.qemuDevice.Prepare(ctx, c)
}

// A qemu run stopped with Ctrl-C resumes like any other: the interrupted
// and unstarted cells run, each in a fresh QEMU, and the finished ones stay.
func TestQEMURunResumes(t *testing.T) {
	installFakeIDF(t)
	qemutest.Install(t)
	trust, urls := startGuestPeer(t, qemu.GatewayIP)
	f, err := Parse("qemu.yaml", []byte(strings.Replace(qemuMatrix, "    count: 2\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	dir, proj := t.TempDir(), qemuProject(t)
	ctx, cancel := context.WithCancel(testctx.New(t))
	defer cancel()
	var n atomic.Int32
	nd := Devices(trust, HardwareOptions{Project: proj, RunDir: dir})
	opt := Options{RunDir: dir, Peer: urls, StartCapture: CollectorCapture, Manifest: rundir.Manifest{RunID: "qemu", MatrixHash: "x"},
		NewDevice: func(b Board, slot int) (Device, error) {
			d, err := nd(b, slot)
			if err != nil {
				return nil, err
			}
			return &interruptingQEMU{qemuDevice: d.(*qemuDevice), n: &n, after: 3, cancel: cancel}, nil
		}}
	first, err := Run(ctx, f, opt)
	if err != nil {
		t.Fatal(err)
	}
	if c := first.Counts(); !first.Interrupted || c[rundir.StatusOK] != 2 {
		t.Fatalf("first run: interrupted %t, cells %v; want interrupted after 2 ok", first.Interrupted, c)
	}
	opt.Resume, opt.NewDevice = true, nd
	second, err := Run(testctx.New(t), f, opt)
	if err != nil {
		t.Fatal(err)
	}
	if c := second.Counts(); c[rundir.StatusOK] != 6 {
		for _, c := range second.Cells {
			t.Logf("%s: %s %s", c.ID, c.Status, c.Reason)
		}
		t.Fatalf("resumed run: cells %v, want 6 ok", c)
	}
}
