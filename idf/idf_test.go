//go:build unix

package idf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsbench/wsbench/internal/idftest"
	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/peer"
)

// fakeIDF is a stand-in for idf.py: it appends its arguments (one call per
// line, arguments separated by a unit separator) to $FAKE_IDF_LOG and writes
// what each action would: set-target and reconfigure an sdkconfig (the
// SDKCONFIG_DEFAULTS layers in order, as kconfgen writes them when every line
// takes effect, or a copy of $FAKE_IDF_SDKCONFIG), config.env (Kconfig files
// from $FAKE_IDF_KCONFIGS) and a CMakeCache.txt; build the app and
// flasher_args.json, size the json2 summary. FAKE_IDF_FAIL=<action> makes
// that action fail with compiler-like output; FAKE_IDF_SLEEP=1 makes build
// start a child and wait (for cancellation tests).
const fakeIDF = `#!/bin/sh
{
  first=1
  for a in "$@"; do
    if [ $first = 1 ]; then first=0; else printf '\037'; fi
    printf '%s' "$a"
  done
  printf '\n'
} >> "$FAKE_IDF_LOG"
builddir=; sdkconfig=; outfile=; actions=; target=; project=; defaults=
while [ $# -gt 0 ]; do
  case "$1" in
    -p|-b|--format) shift ;;
    -C) shift; project="$1" ;;
    -B) shift; builddir="$1" ;;
    -D) shift; case "$1" in SDKCONFIG=*) sdkconfig="${1#SDKCONFIG=}" ;; SDKCONFIG_DEFAULTS=*) defaults="${1#SDKCONFIG_DEFAULTS=}" ;; esac ;;
    --output-file) shift; outfile="$1" ;;
    set-target) shift; target="$1"; actions="$actions set-target" ;;
    *) actions="$actions $1" ;;
  esac
  shift
done
for a in $actions; do
  if [ "$FAKE_IDF_FAIL" = "$a" ]; then
    i=0
    while [ $i -lt 60 ]; do echo "[$i/900] Building C object esp-idf/foo/CMakeFiles/foo.c.obj"; i=$((i+1)); done
    echo "main/wsbench_main.c:42:5: error: 'foo' undeclared (first use in this function)" >&2
    echo "ninja: build stopped: subcommand failed." >&2
    exit 2
  fi
  case "$a" in
    set-target|reconfigure)
      if [ "$a" = set-target ] && [ -d "$builddir" ]; then
        # set-target runs fullclean first, which refuses a non-empty directory
        # that is no CMake build directory and empties one that is.
        if [ ! -f "$builddir/CMakeCache.txt" ] && [ -n "$(ls -A "$builddir")" ]; then
          echo "Directory '$builddir' doesn't seem to be a CMake build directory. Refusing to automatically delete files in this directory." >&2
          exit 2
        fi
        find "$builddir" -mindepth 1 -delete
      fi
      mkdir -p "$builddir"
      [ -n "$target" ] || target=$(sed -n 's/^CONFIG_IDF_TARGET="\(.*\)"$/\1/p' "$builddir/CMakeCache.txt")
      if [ -n "$FAKE_IDF_SDKCONFIG" ]; then
        cp "$FAKE_IDF_SDKCONFIG" "$sdkconfig"
      elif [ "$a" = set-target ] || [ ! -f "$sdkconfig" ]; then
        # As kconfgen would when every line takes effect: the layers in order.
        printf 'CONFIG_IDF_TARGET="%s"\n' "$target" > "$sdkconfig"
        old_ifs=$IFS; IFS=';'
        for l in $defaults; do
          case "$l" in /*) ;; *) l="$project/$l" ;; esac
          cat "$l" >> "$sdkconfig"
        done
        IFS=$old_ifs
      fi
      printf '{\n  "COMPONENT_KCONFIGS": "%s",\n  "COMPONENT_KCONFIGS_PROJBUILD": "",\n  "COMPONENT_SDKCONFIG_RENAMES": "",\n  "IDF_TARGET": "%s",\n  "IDF_VERSION": "5.4.4",\n  "IDF_PATH": ""\n}\n' "$FAKE_IDF_KCONFIGS" "$target" > "$builddir/config.env"
      echo "CONFIG_IDF_TARGET=\"$target\"" > "$builddir/CMakeCache.txt" ;;
    build|all)
      if [ -n "$FAKE_IDF_SLEEP" ]; then
        sleep 30 &
        echo $! > "$builddir/child.pid"
        wait
      fi
      echo "Project build complete."
      : > "$builddir/wsbench_fw.bin"
      echo '{"write_flash_args": []}' > "$builddir/flasher_args.json" ;;
    size)
      cat > "$outfile" <<'JSON'
{"version": "1.0", "layout": [
  {"name": "DIRAM", "total": 341760, "used": 95104, "free": 246656,
   "parts": {".bss": {"size": 41336}, ".data": {"size": 17120}, ".text": {"size": 36648}}},
  {"name": "Flash Code", "total": 33554400, "used": 812544, "free": 32741856, "parts": {".text": {"size": 812544}}}
]}
JSON
      ;;
    flash)
      if [ "$FAKE_IDF_FAIL" = "flash-busy" ]; then
        echo "serial.serialutil.SerialException: [Errno 16] could not open port /dev/x: [Errno 16] Device or resource busy: '/dev/x'" >&2
        exit 1
      fi
      echo "Hard resetting via RTS pin..." ;;
    *) echo "unknown action $a" >&2; exit 2 ;;
  esac
done
exit 0
`

// project creates a minimal firmware project tree with every variant file.
func project(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "firmware")
	files := []string{"CMakeLists.txt", "sdkconfig.defaults", "sdkconfig.defaults.esp32s3", "sdkconfig.defaults.esp32"}
	for _, v := range Variants() {
		files = append(files, "variants/"+v+".defaults")
	}
	for _, f := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("# "+f+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fake installs the fake idf.py first on PATH and returns its log path.
func fake(t *testing.T, env ...string) string {
	t.Helper()
	// The firmware's own Kconfig ($FAKE_IDF_KCONFIGS): the behaviour and
	// Wi-Fi layers set its symbols.
	log := idftest.Install(t, fakeIDF)
	t.Setenv("FAKE_IDF_FAIL", "")
	t.Setenv("FAKE_IDF_SLEEP", "")
	t.Setenv("FAKE_IDF_SDKCONFIG", "")
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return log
}

// calls reads the fake's log: one []string of arguments per call.
func calls(t *testing.T, log string) [][]string {
	t.Helper()
	b, err := os.ReadFile(log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		out = append(out, strings.Split(l, "\x1f"))
	}
	return out
}

func action(call []string) string {
	for i, a := range call {
		if a == "set-target" || a == "reconfigure" || a == "build" || a == "size" || a == "flash" {
			return strings.Join(call[i:i+1], "")
		}
	}
	return ""
}

func TestBuild(t *testing.T) {
	t.Run("first_build_sets_target_builds_and_stores_size", func(t *testing.T) {
		log := fake(t)
		proj := project(t)
		comp := filepath.Join(t.TempDir(), "esp_websocket_client")
		if err := os.MkdirAll(comp, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(comp, "CMakeLists.txt"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		art, err := Build(testctx.New(t), BuildOptions{Project: proj, Target: "esp32s3", Variant: "both-ext", ComponentPath: comp})
		if err != nil {
			t.Fatal(err)
		}
		wantDir := filepath.Join(proj, "build", "esp32s3", "both-ext")
		if art.BuildDir != wantDir || art.SDKConfig != filepath.Join(wantDir, "sdkconfig") || art.SizeJSON != filepath.Join(wantDir, "size.json") {
			t.Errorf("artifact paths %+v", art)
		}
		c := calls(t, log)
		var steps []string
		for _, call := range c {
			steps = append(steps, action(call))
		}
		if !slices.Equal(steps, []string{"set-target", "build", "size"}) {
			t.Fatalf("idf.py steps %q, want set-target, build, size", steps)
		}
		want := []string{"-C", proj, "-B", wantDir, "-D", "SDKCONFIG=" + filepath.Join(wantDir, "sdkconfig"),
			"-D", "SDKCONFIG_DEFAULTS=sdkconfig.defaults;sdkconfig.defaults.esp32s3;variants/both-ext.defaults",
			"-D", "WSBENCH_WS_COMPONENT_PATH=" + comp, "-D", "WSBENCH_PEER_CA="}
		for i, call := range c {
			if !slices.Equal(call[:len(want)], want) {
				t.Errorf("call %d args %q\nwant prefix %q", i, call, want)
			}
		}
		if got := c[0][len(want):]; !slices.Equal(got, []string{"set-target", "esp32s3"}) {
			t.Errorf("set-target call ends %q", got)
		}
		if got := c[2][len(want):]; !slices.Equal(got, []string{"size", "--format", "json2", "--output-file", art.SizeJSON}) {
			t.Errorf("size call ends %q", got)
		}
		s, err := ReadSize(art.SizeJSON)
		if err != nil {
			t.Fatal(err)
		}
		if m, ok := s.Static("DIRAM"); !ok || m.Used != 95104 || m.Parts[".bss"].Size != 41336 {
			t.Errorf("DIRAM %+v", m)
		}
	})

	t.Run("behaviour_and_peer_ca_reach_idf_py", func(t *testing.T) {
		log := fake(t)
		proj := project(t)
		ca := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		comp := t.TempDir() // a local checkout: either behaviour is allowed
		if err := os.WriteFile(filepath.Join(comp, "CMakeLists.txt"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		art, err := Build(testctx.New(t), BuildOptions{Project: proj, Target: "esp32", Variant: "alloc-ext",
			Behaviour: "strict", PeerCA: ca, ComponentPath: comp})
		if err != nil {
			t.Fatal(err)
		}
		layer := art.BuildDir + ".wsbench-behaviour.defaults" // beside the build directory: set-target empties it
		b, err := os.ReadFile(layer)
		if err != nil || !strings.Contains(string(b), "CONFIG_WSBENCH_BEHAVIOUR_STRICT=y") {
			t.Fatalf("behaviour layer %s: %q, %v", layer, b, err)
		}
		call := calls(t, log)[1]
		if !slices.Contains(call, "SDKCONFIG_DEFAULTS=sdkconfig.defaults;sdkconfig.defaults.esp32;variants/alloc-ext.defaults;"+layer) {
			t.Errorf("build call %q lacks the behaviour layer", call)
		}
		if !slices.Contains(call, "WSBENCH_PEER_CA="+ca) {
			t.Errorf("build call %q lacks the peer CA", call)
		}
		// Switching behaviour rewrites the layer, which makes the sdkconfig stale.
		future := time.Now().Add(-time.Hour)
		if err := os.Chtimes(layer, future, future); err != nil {
			t.Fatal(err)
		}
		if _, err := Build(testctx.New(t), BuildOptions{Project: proj, Target: "esp32", Variant: "alloc-ext",
			Behaviour: "fallback", PeerCA: ca, ComponentPath: comp}); err != nil {
			t.Fatal(err)
		}
		c := calls(t, log)
		if last := c[len(c)-3]; !slices.Contains(last, "reconfigure") {
			t.Errorf("call before the build after a behaviour change %q: want reconfigure", last)
		}
	})

	t.Run("peer_ca_defaults_to_the_served_ca_unless_the_project_has_one", func(t *testing.T) {
		log := fake(t)
		proj := project(t)
		served := userPeerCA()
		if err := os.MkdirAll(filepath.Dir(served), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(served, []byte("ca"), 0o644); err != nil {
			t.Fatal(err)
		}
		o := BuildOptions{Project: proj, Target: "esp32s3", Variant: "int"}
		if _, err := Build(testctx.New(t), o); err != nil {
			t.Fatal(err)
		}
		if call := calls(t, log)[1]; !slices.Contains(call, "WSBENCH_PEER_CA="+served) {
			t.Errorf("build call %q: want the served CA %s", call, served)
		}
		if err := os.MkdirAll(filepath.Join(proj, "main", "certs"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proj, ProjectPeerCA), []byte("ca"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Build(testctx.New(t), o); err != nil {
			t.Fatal(err)
		}
		c := calls(t, log)
		if last := c[len(c)-2]; !slices.Contains(last, "WSBENCH_PEER_CA=") {
			t.Errorf("project CA present: build call %q should clear WSBENCH_PEER_CA", last)
		}
	})

	t.Run("wifi_defaults_layer_when_present", func(t *testing.T) {
		log := fake(t)
		proj := project(t)
		wifi := filepath.Join(proj, WiFiDefaults)
		if err := os.WriteFile(wifi, []byte("CONFIG_WSBENCH_WIFI_SSID=\"lab\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Build(testctx.New(t), BuildOptions{Project: proj, Target: "esp32s3", Variant: "int"}); err != nil {
			t.Fatal(err)
		}
		call := calls(t, log)[1]
		if !slices.Contains(call, "SDKCONFIG_DEFAULTS=sdkconfig.defaults;sdkconfig.defaults.esp32s3;variants/int.defaults;"+wifi) {
			t.Errorf("build call %q lacks %s as the last layer", call, wifi)
		}
	})

	t.Run("local_component_reconfigures_for_its_commit", func(t *testing.T) {
		log := fake(t)
		proj := project(t)
		comp := t.TempDir()
		if err := os.WriteFile(filepath.Join(comp, "CMakeLists.txt"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		o := BuildOptions{Project: proj, Target: "esp32s3", Variant: "int", ComponentPath: comp}
		for range 2 {
			if _, err := Build(testctx.New(t), o); err != nil {
				t.Fatal(err)
			}
		}
		var steps []string
		for _, call := range calls(t, log) {
			steps = append(steps, action(call))
		}
		if !slices.Equal(steps, []string{"set-target", "build", "size", "reconfigure", "build", "size"}) {
			t.Errorf("steps %q: a second build with a local component must reconfigure", steps)
		}
	})

	t.Run("build_without_component_clears_the_cached_path", func(t *testing.T) {
		log := fake(t)
		proj := project(t)
		if _, err := Build(testctx.New(t), BuildOptions{Project: proj, Target: "esp32s3", Variant: "int"}); err != nil {
			t.Fatal(err)
		}
		if call := calls(t, log)[1]; !slices.Contains(call, "WSBENCH_WS_COMPONENT_PATH=") {
			t.Errorf("build call %q: want WSBENCH_WS_COMPONENT_PATH= (cleared)", call)
		}
	})

	t.Run("second_build_skips_set_target", func(t *testing.T) {
		log := fake(t)
		proj := project(t)
		o := BuildOptions{Project: proj, Target: "esp32", Variant: "int"}
		for range 2 {
			if _, err := Build(testctx.New(t), o); err != nil {
				t.Fatal(err)
			}
		}
		var steps []string
		for _, call := range calls(t, log) {
			steps = append(steps, action(call))
		}
		if !slices.Equal(steps, []string{"set-target", "build", "size", "build", "size"}) {
			t.Errorf("steps %q", steps)
		}
	})

	t.Run("changed_variant_file_regenerates_sdkconfig", func(t *testing.T) {
		log := fake(t)
		proj := project(t)
		o := BuildOptions{Project: proj, Target: "esp32s3", Variant: "dyn-buf"}
		art, err := Build(testctx.New(t), o)
		if err != nil {
			t.Fatal(err)
		}
		future := time.Now().Add(time.Hour)
		vf := filepath.Join(proj, "variants", "dyn-buf.defaults")
		if err := os.WriteFile(vf, []byte("# changed\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(vf, future, future); err != nil {
			t.Fatal(err)
		}
		if _, err := Build(testctx.New(t), o); err != nil {
			t.Fatal(err)
		}
		c := calls(t, log)
		if last := c[len(c)-3]; !slices.Contains(last, "reconfigure") {
			t.Errorf("call before the second build %q: want reconfigure after a defaults change", last)
		}
		// The fake writes the layers only into a new sdkconfig: the new
		// variant text shows the stale one was deleted.
		if b, err := os.ReadFile(art.SDKConfig); err != nil || !strings.Contains(string(b), "# changed") {
			t.Errorf("sdkconfig not regenerated: %q, %v", b, err)
		}
	})

	t.Run("sdkconfig_of_another_chip_resets_target", func(t *testing.T) {
		log := fake(t)
		proj := project(t)
		o := BuildOptions{Project: proj, Target: "esp32", Variant: "int"}
		art, err := Build(testctx.New(t), o)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(art.SDKConfig, []byte("CONFIG_IDF_TARGET=\"esp32s3\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Build(testctx.New(t), o); err != nil {
			t.Fatal(err)
		}
		c := calls(t, log)
		if action(c[3]) != "set-target" {
			t.Errorf("call after a foreign sdkconfig: %q, want set-target", c[3])
		}
	})

	t.Run("refuses_a_variant_whose_option_did_not_take_effect", func(t *testing.T) {
		log := fake(t)
		proj := project(t)
		app, err := filepath.Abs("../firmware/main/Kconfig.projbuild")
		if err != nil {
			t.Fatal(err)
		}
		ws, err := filepath.Abs("testdata/kconfig/ws-1.8.0/esp_websocket_client/Kconfig")
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("FAKE_IDF_KCONFIGS", app+";"+ws)
		if err := os.WriteFile(filepath.Join(proj, "variants", "stack-ext.defaults"),
			[]byte("CONFIG_WSBENCH_VARIANT=\"stack-ext\"\nCONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM=y\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		_, err = Build(testctx.New(t), BuildOptions{Tool: Tool{Output: &out}, Project: proj, Target: "esp32s3", Variant: "stack-ext"})
		var se *SDKConfigError
		if !errors.As(err, &se) || len(se.Problems) != 1 {
			t.Fatalf("error %v, want one *SDKConfigError problem", err)
		}
		t.Logf("message:\n%v", err)
		if p := se.Problems[0]; p.File != "variants/stack-ext.defaults" || p.Line != 2 ||
			!strings.Contains(err.Error(), "no option CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM in any Kconfig of ESP-IDF v5.4.4 or esp_websocket_client 1.8.0") {
			t.Errorf("problem %+v", p)
		}
		var steps []string
		for _, call := range calls(t, log) {
			steps = append(steps, action(call))
		}
		if !slices.Equal(steps, []string{"set-target"}) {
			t.Errorf("steps %q: nothing may compile after a failed check", steps)
		}
		// The next build checks the same sdkconfig again (no reconfigure
		// needed) and still refuses.
		if _, err := Build(testctx.New(t), BuildOptions{Project: proj, Target: "esp32s3", Variant: "stack-ext"}); !errors.As(err, &se) {
			t.Errorf("second build: %v, want *SDKConfigError", err)
		}
		if c := calls(t, log); len(c) != 1 {
			t.Errorf("second build ran idf.py %d more times", len(c)-1)
		}
	})

	t.Run("passed_check_reports_versions_and_notes", func(t *testing.T) {
		fake(t)
		proj := project(t)
		if err := os.WriteFile(filepath.Join(proj, "variants", "int.defaults"),
			[]byte("CONFIG_WSBENCH_VARIANT=\"int\"\n# CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM is not set\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		art, err := Build(testctx.New(t), BuildOptions{Tool: Tool{Output: &out}, Project: proj, Target: "esp32s3", Variant: "int"})
		if err != nil {
			t.Fatal(err)
		}
		if art.IDF != "ESP-IDF v5.4.4" || len(art.ConfigNotes) != 1 || !strings.Contains(art.ConfigNotes[0], "variants/int.defaults:2") {
			t.Errorf("artifact IDF %q notes %q", art.IDF, art.ConfigNotes)
		}
		if !strings.Contains(out.String(), "wsbench: sdkconfig check passed") || !strings.Contains(out.String(), "wsbench: note: variants/int.defaults:2") {
			t.Errorf("output lacks the check lines:\n%s", out.String())
		}
	})

	t.Run("failed_build_reports_tail", func(t *testing.T) {
		fake(t, "FAKE_IDF_FAIL=build")
		proj := project(t)
		_, err := Build(testctx.New(t), BuildOptions{Project: proj, Target: "esp32s3", Variant: "int"})
		var te *ToolError
		if !errors.As(err, &te) {
			t.Fatalf("error %v, want a *ToolError", err)
		}
		if te.Step != "build" || !strings.Contains(te.Tail, "error: 'foo' undeclared") || !strings.Contains(err.Error(), "ninja: build stopped") {
			t.Errorf("error lacks the tool's last lines:\n%v", err)
		}
		if n := strings.Count(te.Tail, "\n"); n > TailLines {
			t.Errorf("tail has %d lines, want at most %d", n, TailLines)
		}
		if strings.Contains(te.Tail, "[0/900]") {
			t.Errorf("tail kept the first line of 62")
		}
	})

	t.Run("failed_size_fails_build", func(t *testing.T) {
		fake(t, "FAKE_IDF_FAIL=size")
		_, err := Build(testctx.New(t), BuildOptions{Project: project(t), Target: "esp32s3", Variant: "int"})
		var te *ToolError
		if !errors.As(err, &te) || te.Step != "size" {
			t.Fatalf("error %v, want size step failure", err)
		}
	})

	t.Run("missing_idf_py_and_idf_path", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		t.Setenv("IDF_PATH", "")
		_, err := Build(testctx.New(t), BuildOptions{Project: project(t), Target: "esp32s3", Variant: "int"})
		if !errors.Is(err, ErrNoIDF) || !strings.Contains(err.Error(), "IDF_PATH is not set") {
			t.Errorf("error %v, want ErrNoIDF naming IDF_PATH", err)
		}
	})

	t.Run("idf_path_without_idf_py", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		t.Setenv("IDF_PATH", t.TempDir())
		_, err := Build(testctx.New(t), BuildOptions{Project: project(t), Target: "esp32s3", Variant: "int"})
		if !errors.Is(err, ErrNoIDF) || !strings.Contains(err.Error(), "tools/idf.py") {
			t.Errorf("error %v, want ErrNoIDF naming $IDF_PATH/tools/idf.py", err)
		}
	})

	t.Run("bad_options", func(t *testing.T) {
		log := fake(t)
		proj := project(t)
		for _, tc := range []struct {
			o    BuildOptions
			want string
		}{
			{BuildOptions{Project: proj, Target: "esp8266", Variant: "int"}, `target "esp8266"`},
			{BuildOptions{Project: proj, Target: "esp32s3"}, "variant is required"},
			{BuildOptions{Project: proj, Target: "esp32s3", Variant: "nope"}, `variant "nope"`},
			// The project's own variants, sorted, not a fixed list.
			{BuildOptions{Project: proj, Target: "esp32s3", Variant: "nope"}, "(known variants: alloc-ext, both-ext, dyn-buf, int, mbedtls-ext, stack-ext)"},
			{BuildOptions{Project: proj, Target: "esp32s3"}, "variant is required (known variants: alloc-ext, "},
			{BuildOptions{Project: proj, Target: "esp32s3", Variant: "../x"}, "not a file name"},
			{BuildOptions{Project: t.TempDir(), Target: "esp32s3", Variant: "int"}, "not an ESP-IDF project"},
			{BuildOptions{Project: proj, Target: "esp32s3", Variant: "int", ComponentPath: t.TempDir()}, "not an ESP-IDF component"},
			{BuildOptions{Project: proj, Target: "esp32s3", Variant: "int", Behaviour: "lenient"}, `behaviour "lenient"`},
			// The default component is PR 1117 (strict): a fallback label needs a fallback checkout.
			{BuildOptions{Project: proj, Target: "esp32s3", Variant: "int", Behaviour: "fallback"}, `with --component-path, or use --behaviour strict`},
			{BuildOptions{Project: proj, Target: "esp32s3", Variant: "int", PeerCA: "/nonexistent/ca.pem"}, "peer CA"},
		} {
			_, err := Build(testctx.New(t), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%+v: error %v, want %q", tc.o, err, tc.want)
			}
		}
		if c := calls(t, log); len(c) != 0 {
			t.Errorf("idf.py ran %d times for invalid options", len(c))
		}
	})

	t.Run("cancel_kills_idf_py_and_its_children", func(t *testing.T) {
		fake(t, "FAKE_IDF_SLEEP=1")
		proj := project(t)
		ctx, cancel := context.WithCancel(testctx.New(t))
		done := make(chan error, 1)
		go func() {
			_, err := Build(ctx, BuildOptions{Project: proj, Target: "esp32s3", Variant: "int"})
			done <- err
		}()
		pidFile := filepath.Join(proj, "build", "esp32s3", "int", "child.pid")
		var pid int
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if b, err := os.ReadFile(pidFile); err == nil && len(b) > 0 {
				if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					break
				}
			}
		}
		if pid == 0 {
			t.Fatal("fake build never started its child")
		}
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Build did not return after cancel")
		}
		// The child was in idf.py's process group: it must be gone (or a zombie
		// reaped by init shortly).
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("child %d of idf.py still running after cancel", pid)
				_ = syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
	})
}

func TestUserPeerCAIsWhereServeWritesIt(t *testing.T) {
	if got, want := userPeerCA(), filepath.Join(peer.DefaultCertDir(), peer.CAFileName); got != want {
		t.Errorf("userPeerCA() = %q, peer server writes %q", got, want)
	}
}

func TestFlash(t *testing.T) {
	built := func(t *testing.T, proj string) {
		t.Helper()
		if _, err := Build(testctx.New(t), BuildOptions{Project: proj, Target: "esp32s3", Variant: "int"}); err != nil {
			t.Fatal(err)
		}
	}
	port := filepath.Join(t.TempDir(), "ttyUSB0")
	if err := os.WriteFile(port, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("flashes_with_port_and_baud", func(t *testing.T) {
		log := fake(t)
		proj := project(t)
		built(t, proj)
		if err := Flash(testctx.New(t), FlashOptions{Project: proj, Target: "esp32s3", Variant: "int", Port: port, Baud: 921600}); err != nil {
			t.Fatal(err)
		}
		c := calls(t, log)
		last := c[len(c)-1]
		if got := last[len(last)-5:]; !slices.Equal(got, []string{"-p", port, "-b", "921600", "flash"}) {
			t.Errorf("flash call ends %q", got)
		}
		if want := []string{"-C", proj, "-B", filepath.Join(proj, "build", "esp32s3", "int")}; !slices.Equal(last[:4], want) {
			t.Errorf("flash call %q does not start with %q", last, want)
		}
		if slices.Contains(last, "-D") {
			t.Errorf("flash call %q passes -D values: idf.py could reconfigure into another image", last)
		}
	})

	t.Run("passes_an_rfc2217_url_through", func(t *testing.T) {
		log := fake(t)
		proj := project(t)
		built(t, proj)
		url := "rfc2217://lab-host:4001"
		if err := Flash(testctx.New(t), FlashOptions{Project: proj, Target: "esp32s3", Variant: "int", Port: url}); err != nil {
			t.Fatal(err)
		}
		c := calls(t, log)
		if got := c[len(c)-1]; !slices.Equal(got[len(got)-3:], []string{"-p", url, "flash"}) {
			t.Errorf("flash call %q does not pass the URL to idf.py", got)
		}
	})

	t.Run("port_in_use", func(t *testing.T) {
		fake(t)
		proj := project(t)
		built(t, proj)
		t.Setenv("FAKE_IDF_FAIL", "flash-busy")
		err := Flash(testctx.New(t), FlashOptions{Project: proj, Target: "esp32s3", Variant: "int", Port: port})
		if !errors.Is(err, ErrPortBusy) || !strings.Contains(err.Error(), "Device or resource busy") {
			t.Errorf("error %v, want ErrPortBusy with the tool's output", err)
		}
	})

	t.Run("missing_port", func(t *testing.T) {
		fake(t)
		proj := project(t)
		built(t, proj)
		err := Flash(testctx.New(t), FlashOptions{Project: proj, Target: "esp32s3", Variant: "int", Port: "/dev/does-not-exist-wsbench"})
		if !errors.Is(err, ErrNoPort) {
			t.Errorf("error %v, want ErrNoPort", err)
		}
	})

	t.Run("not_built", func(t *testing.T) {
		log := fake(t)
		err := Flash(testctx.New(t), FlashOptions{Project: project(t), Target: "esp32s3", Variant: "int", Port: port})
		if err == nil || !strings.Contains(err.Error(), "not built yet") {
			t.Errorf("error %v, want not built yet", err)
		}
		if len(calls(t, log)) != 0 {
			t.Error("idf.py ran for an unbuilt variant")
		}
	})

	t.Run("no_port_given", func(t *testing.T) {
		fake(t)
		err := Flash(testctx.New(t), FlashOptions{Project: project(t), Target: "esp32s3", Variant: "int"})
		if err == nil || !strings.Contains(err.Error(), "--port") {
			t.Errorf("error %v", err)
		}
	})
}
