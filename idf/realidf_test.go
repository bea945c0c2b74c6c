package idf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFirmwareDefaultsAgainstIDFTrees reads real ESP-IDF Kconfig trees when
// WSBENCH_IDF_TREES names them ("IDF_DIR+WS_COMPONENT_DIR,..." e.g. source
// trees of v5.3.5, v5.4.4 and v5.5.5 with an esp_websocket_client checkout):
// every file must parse, and every option the firmware's defaults layers
// switch on or set must exist (directly or through a rename) for both
// targets. It needs no toolchain, but does not evaluate dependencies (that
// takes the sdkconfig of a real configure step). Skipped without the trees.
func TestFirmwareDefaultsAgainstIDFTrees(t *testing.T) {
	trees := os.Getenv("WSBENCH_IDF_TREES")
	if trees == "" {
		t.Skip("WSBENCH_IDF_TREES not set")
	}
	for _, tr := range strings.Split(trees, ",") {
		idf, ws, _ := strings.Cut(tr, "+")
		for _, target := range Targets() {
			kc, _ := filepath.Glob(filepath.Join(idf, "components", "*", "Kconfig"))
			if ws != "" {
				kc = append(kc, filepath.Join(ws, "Kconfig"))
			}
			pb, _ := filepath.Glob(filepath.Join(idf, "components", "*", "Kconfig.projbuild"))
			pb = append(pb, "../firmware/main/Kconfig.projbuild")
			env := map[string]string{"IDF_PATH": idf, "IDF_TARGET": target, "IDF_ENV_FPGA": "", "IDF_TOOLCHAIN": "gcc"}
			tree, err := parseKconfigTree(filepath.Join(idf, "Kconfig"), env, map[string][]string{
				"COMPONENT_KCONFIGS_SOURCE_FILE": kc, "COMPONENT_KCONFIGS_PROJBUILD_SOURCE_FILE": pb}, nil)
			if err != nil {
				t.Errorf("%s %s: %v", idf, target, err)
				continue
			}
			rn, _ := filepath.Glob(filepath.Join(idf, "components", "*", "sdkconfig.rename"))
			rt, _ := filepath.Glob(filepath.Join(idf, "components", "*", "sdkconfig.rename."+target))
			renames, err := readRenames(append(append([]string{filepath.Join(idf, "sdkconfig.rename")}, rn...), rt...))
			if err != nil {
				t.Fatal(err)
			}
			layers := []string{"sdkconfig.defaults", "sdkconfig.defaults." + target, QEMUDefaults}
			vs, _ := filepath.Glob("../firmware/variants/*.defaults")
			for _, v := range vs {
				layers = append(layers, strings.TrimPrefix(v, "../firmware/"))
			}
			known := 0
			for _, l := range layers {
				rs, err := readConfigLines(filepath.Join("../firmware", l), false)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rs {
					name, _, _ := resolveRename(renames, r.name)
					if s := tree.syms[name]; s != nil && len(s.defs) > 0 {
						known++
						continue
					}
					if r.value == "n" {
						t.Logf("%s %s: %s:%d: %s: not defined (off anyway)", idf, target, l, r.line, r.text)
					} else {
						t.Errorf("%s %s: %s:%d: %s: not defined", idf, target, l, r.line, r.text)
					}
				}
			}
			t.Logf("%s %s: %d symbols from %d files; %d defaults lines name a known option", idf, target, len(tree.syms), len(tree.files), known)
		}
	}
}
