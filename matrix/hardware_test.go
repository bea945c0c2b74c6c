package matrix

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/internal/idftest"
	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/sim"
)

// fakeIDFPy stands in for ESP-IDF's idf.py: it logs its arguments and
// writes the files a build leaves behind.
const fakeIDFPy = `#!/bin/sh
echo "$*" >> "$FAKE_IDF_LOG"
builddir=; sdkconfig=; outfile=; target=; actions=; project=; defaults=
while [ $# -gt 0 ]; do
  case "$1" in
    -B) shift; builddir="$1" ;;
    -D) shift; case "$1" in SDKCONFIG=*) sdkconfig="${1#SDKCONFIG=}" ;; SDKCONFIG_DEFAULTS=*) defaults="${1#SDKCONFIG_DEFAULTS=}" ;; esac ;;
    -C) shift; project="$1" ;;
    -p|-b|--format) shift ;;
    --output-file) shift; outfile="$1" ;;
    set-target) shift; target="$1"; actions="$actions set-target" ;;
    *) actions="$actions $1" ;;
  esac
  shift
done
for a in $actions; do
  case "$a" in
    set-target) mkdir -p "$builddir"; printf 'CONFIG_IDF_TARGET="%s"\n' "$target" > "$sdkconfig"
      # The layers in order, as kconfgen writes them when every line takes effect.
      old_ifs=$IFS; IFS=';'
      for l in $defaults; do case "$l" in /*) cat "$l" ;; *) cat "$project/$l" ;; esac; done >> "$sdkconfig"
      IFS=$old_ifs
      # What ESP-IDF's configure step leaves for the sdkconfig check (idf.CheckSDKConfig).
      printf '{"COMPONENT_KCONFIGS": "", "COMPONENT_KCONFIGS_PROJBUILD": "%s", "IDF_VERSION": "5.4.4"}\n' "$FAKE_IDF_KCONFIGS" > "$builddir/config.env" ;;
    build) : > "$builddir/wsbench_fw.bin"; echo '{"write_flash_args": []}' > "$builddir/flasher_args.json" ;;
    size) echo '{"version": "1.0", "layout": [{"name": "DIRAM", "total": 341760, "used": 95104, "free": 246656, "parts": {}}]}' > "$outfile" ;;
  esac
done
`

// A real board is a serial port running the wsbench firmware. Here the
// "firmware" is a virtual board on a pseudo-terminal and idf.py is a fake:
// the runner builds and flashes the variant once, resets the board with the
// reset command, ignores the Hello of the boot before the reset, and runs.
func TestHardwareBoardIsBuiltFlashedAndReset(t *testing.T) {
	log := idftest.Install(t, fakeIDFPy)
	proj := filepath.Join(t.TempDir(), "firmware")
	for _, f := range []string{"CMakeLists.txt", "sdkconfig.defaults", "sdkconfig.defaults.esp32s3", "variants/int.defaults"} {
		p := filepath.Join(proj, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("# "+f+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	srv, trust, urls := startPeer(t)
	ctx, cancel := context.WithCancel(testctx.New(t))
	defer cancel()
	v := Variant{Name: "int"}
	board, err := sim.New(sim.Config{Profile: "esp32s3-n8r8", Variant: "int", Options: v.Options(), Behaviour: "strict", RootCAs: srv.CAPool()})
	if err != nil {
		t.Fatal(err)
	}
	path, done, err := sim.ServePTY(ctx, board)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		testctx.Recv(t, done, 30*time.Second, "the virtual board's end after its context")
	}()

	f, err := Parse("hw.yaml", []byte(`
component:
  behaviour: strict   # the default esp_websocket_client (idf.DefaultComponentBehaviour)
boards:
  - name: bench
    port: `+path+`
    target: esp32s3
variants:
  - name: int
scenarios:
  - scenario: sweep
    n: [1]
    baseline: 500ms
    window: 1s
repetitions: 2
`))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := Run(testctx.New(t), f, Options{RunDir: dir, Peer: urls, StartCapture: CollectorCapture,
		Manifest:  rundir.Manifest{RunID: "hw"},
		NewDevice: Devices(trust, HardwareOptions{Project: proj, SizeDir: filepath.Join(dir, rundir.FirmwareDir)})})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cells {
		if c.Status != rundir.StatusOK || !c.HelloMatch || c.Reason != "" {
			t.Fatalf("cell %s: %s %q", c.ID, c.Status, c.Reason)
		}
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	calls := strings.Split(strings.TrimSpace(string(b)), "\n")
	var builds, flashes int
	for _, call := range calls {
		switch {
		case strings.HasSuffix(call, " build"):
			builds++
			if !strings.Contains(call, "WSBENCH_PEER_CA="+trust.CAFile) {
				t.Errorf("build does not embed the peer's CA: %s", call)
			}
		case strings.HasSuffix(call, " flash"):
			flashes++
			if !strings.Contains(call, "-p "+path) {
				t.Errorf("flash does not name the board's port: %s", call)
			}
		}
	}
	if builds != 1 || flashes != 1 {
		t.Fatalf("%d builds and %d flashes for one variant on one board, want 1 and 1:\n%s", builds, flashes, b)
	}
	// The image's static memory report is kept with the run and analysed.
	sum, err := analysis.AnalyzeRun(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Static) != 1 || sum.Static[0].Variant != "int" || len(sum.Static[0].Memory) != 1 || sum.Static[0].Memory[0].Used != 95104 {
		t.Fatalf("static memory in the summary: %+v", sum.Static)
	}
}
