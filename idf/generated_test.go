package idf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckGeneratedSDKConfigs runs the sdkconfig check on configurations
// generated from real ESP-IDF Kconfig trees by scripts/kconfig_gen.py (see
// scripts/firmware-hostcheck.sh): WSBENCH_GENERATED_SDKCONFIGS names a
// directory of <name>/{sdkconfig,config.env,layers.txt}. Every defaults line
// of every configuration must take effect. Skipped without the directory.
func TestCheckGeneratedSDKConfigs(t *testing.T) {
	root := os.Getenv("WSBENCH_GENERATED_SDKCONFIGS")
	if root == "" {
		t.Skip("WSBENCH_GENERATED_SDKCONFIGS not set")
	}
	lists, err := filepath.Glob(filepath.Join(root, "*", "layers.txt"))
	if err != nil || len(lists) == 0 {
		t.Fatalf("no */layers.txt in %s (%v)", root, err)
	}
	for _, l := range lists {
		dir := filepath.Dir(l)
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(f) < 3 {
			t.Fatalf("%s: want project, target and layers", l)
		}
		res, err := CheckSDKConfig(SDKCheck{Project: f[0], Target: f[1], Layers: f[2:],
			SDKConfig: filepath.Join(dir, "sdkconfig"), ConfigEnv: filepath.Join(dir, ConfigEnvFile)})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(dir), err)
			continue
		}
		t.Logf("%s: every line took effect (%s); notes: %q", filepath.Base(dir), res.IDF, res.Notes)
	}
}
