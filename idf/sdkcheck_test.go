package idf

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture is a configured build of the test Kconfig trees in
// testdata/kconfig: an ESP-IDF (idf-v5.3: SPIRAM_ALLOW_STACK_EXTERNAL_MEMORY
// in esp_psram; idf-v5.4: FREERTOS_TASK_CREATE_ALLOW_EXT_MEM in freertos and
// the rename) and one esp_websocket_client (ws-1.8.0: neither placement
// option; ws-pr980: the stack option depends on FREERTOS_TASK_CREATE_ALLOW_EXT_MEM
// only; ws-cedd7c9: on it or SPIRAM_ALLOW_STACK_EXTERNAL_MEMORY). The trees
// restate the names and dependencies of the real Kconfig files; they are not
// copies.
type fixture struct {
	idf        string // idf-v5.3 or idf-v5.4
	idfVersion string // config.env IDF_VERSION
	ws         string // ws-1.8.0, ws-pr980, ws-cedd7c9
	layers     map[string]string
	order      []string
	sdkconfig  string // as kconfgen writes it for these layers
}

// write lays the fixture out as ESP-IDF would: project with layers, build
// directory with config.env and sdkconfig. It returns the check to run.
func (f fixture) write(t *testing.T) SDKCheck {
	t.Helper()
	td, err := filepath.Abs("testdata/kconfig")
	if err != nil {
		t.Fatal(err)
	}
	idf := filepath.Join(td, f.idf)
	var kconfigs, renames []string
	for _, c := range []string{"esp_psram", "esp_system", "freertos"} {
		kconfigs = append(kconfigs, filepath.Join(idf, "components", c, "Kconfig"))
		if p := filepath.Join(idf, "components", c, "sdkconfig.rename"); fileExists(p) {
			renames = append(renames, p)
		}
	}
	kconfigs = append(kconfigs, filepath.Join(td, f.ws, "esp_websocket_client", "Kconfig"))
	env := map[string]string{
		"COMPONENT_KCONFIGS":                       strings.Join(kconfigs, ";"),
		"COMPONENT_KCONFIGS_PROJBUILD":             filepath.Join(td, "app", "main", "Kconfig.projbuild"),
		"COMPONENT_SDKCONFIG_RENAMES":              strings.Join(renames, ";"),
		"IDF_TARGET":                               "esp32s3",
		"IDF_TOOLCHAIN":                            "gcc",
		"IDF_VERSION":                              f.idfVersion,
		"IDF_ENV_FPGA":                             "",
		"IDF_PATH":                                 idf,
		"COMPONENT_KCONFIGS_SOURCE_FILE":           "/nonexistent/kconfigs.in",
		"COMPONENT_KCONFIGS_PROJBUILD_SOURCE_FILE": "/nonexistent/kconfigs_projbuild.in",
	}
	project := t.TempDir()
	build := filepath.Join(project, "build")
	for name, body := range f.layers {
		p := filepath.Join(project, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(build, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(env, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(build, ConfigEnvFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(build, "sdkconfig"), []byte(f.sdkconfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return SDKCheck{Project: project, Layers: f.order, Target: "esp32s3",
		SDKConfig: filepath.Join(build, "sdkconfig"), ConfigEnv: filepath.Join(build, ConfigEnvFile)}
}

// The base layer as firmware/sdkconfig.defaults writes the PSRAM settings.
const baseDefaults = `# PSRAM
CONFIG_SPIRAM=y
CONFIG_SPIRAM_USE_MALLOC=y
CONFIG_SPIRAM_MALLOC_ALWAYSINTERNAL=16384
CONFIG_SPIRAM_ALLOW_STACK_EXTERNAL_MEMORY=y
CONFIG_SPIRAM_MODE_QUAD=y
# CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM is not set
# CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM is not set
CONFIG_ESP_TASK_WDT_EN=y
CONFIG_ESP_TASK_WDT_TIMEOUT_S=5
`

const targetDefaults = "CONFIG_SPIRAM_MODE_OCT=y\n"

const stackExt = `CONFIG_WSBENCH_VARIANT="stack-ext"
CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM=y
# CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM is not set
`

const bothExt = `CONFIG_WSBENCH_VARIANT="both-ext"
CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM=y
CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM=y
`

// sdkconfigHead is what kconfgen writes for the base and target layers on
// either fixture ESP-IDF (the FreeRTOS and PSRAM lines differ by version and
// are added per case).
const sdkconfigHead = `#
# Automatically generated file. DO NOT EDIT.
# Espressif IoT Development Framework (ESP-IDF) Project Configuration
#
CONFIG_IDF_TARGET="esp32s3"
CONFIG_IDF_TARGET_ESP32S3=y
# CONFIG_APP_BUILD_TYPE_PURE_RAM_APP is not set
CONFIG_FREERTOS_SUPPORT_STATIC_ALLOCATION=y
# CONFIG_FREERTOS_ENABLE_STATIC_TASK_CLEAN_UP is not set
CONFIG_SPIRAM=y
# CONFIG_SPIRAM_MODE_QUAD is not set
CONFIG_SPIRAM_MODE_OCT=y
# CONFIG_SPIRAM_USE_MEMMAP is not set
# CONFIG_SPIRAM_USE_CAPS_ALLOC is not set
CONFIG_SPIRAM_USE_MALLOC=y
CONFIG_SPIRAM_MALLOC_ALWAYSINTERNAL=16384
CONFIG_ESP_TASK_WDT_EN=y
CONFIG_ESP_TASK_WDT_TIMEOUT_S=5
# CONFIG_ESP_WS_CLIENT_ENABLE_DYNAMIC_BUFFER is not set
`

func layers(variant, body string, extra ...string) (map[string]string, []string) {
	m := map[string]string{"sdkconfig.defaults": baseDefaults, "sdkconfig.defaults.esp32s3": targetDefaults,
		"variants/" + variant + ".defaults": body}
	order := []string{"sdkconfig.defaults", "sdkconfig.defaults.esp32s3", "variants/" + variant + ".defaults"}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
		order = append(order, extra[i])
	}
	return m, order
}

func TestCheckSDKConfig(t *testing.T) {
	type want struct {
		problems []string // substrings, one per expected problem, in order
		notes    []string
	}
	cases := []struct {
		name string
		f    func() fixture
		want want
	}{
		{
			// Issue 11, case 2: the registry release has neither option;
			// kconfgen warns "unknown kconfig symbol" and builds the int image.
			name: "registry_1.8.0_lacks_the_options",
			f: func() fixture {
				l, o := layers("stack-ext", stackExt)
				return fixture{idf: "idf-v5.4", idfVersion: "5.4.4", ws: "ws-1.8.0", layers: l, order: o,
					sdkconfig: sdkconfigHead + "CONFIG_FREERTOS_TASK_CREATE_ALLOW_EXT_MEM=y\nCONFIG_WSBENCH_VARIANT=\"stack-ext\"\n" +
						"# Deprecated options for backward compatibility\nCONFIG_SPIRAM_ALLOW_STACK_EXTERNAL_MEMORY=y\n# End of deprecated options\n"}
			},
			want: want{
				problems: []string{`variants/stack-ext.defaults:2: CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM=y: no option CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM in any Kconfig of ESP-IDF v5.4.4 or esp_websocket_client 1.8.0 from `},
				// The base layer's line for the same option gives way to the variant's.
				notes: []string{"variants/stack-ext.defaults:3: # CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM is not set: no option CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM in ESP-IDF v5.4.4 or esp_websocket_client 1.8.0 from …; it is off, as asked"},
			},
		},
		{
			// Issue 11, case 3: PR 980's stack option depends on
			// FREERTOS_TASK_CREATE_ALLOW_EXT_MEM only, which v5.3.x lacks.
			name: "pr980_stack_option_on_v5.3",
			f: func() fixture {
				l, o := layers("both-ext", bothExt)
				return fixture{idf: "idf-v5.3", idfVersion: "5.3.5", ws: "ws-pr980", layers: l, order: o,
					sdkconfig: sdkconfigHead + "CONFIG_SPIRAM_ALLOW_STACK_EXTERNAL_MEMORY=y\nCONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM=y\nCONFIG_WSBENCH_VARIANT=\"both-ext\"\n"}
			},
			want: want{problems: []string{
				"variants/both-ext.defaults:2: CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM=y: sdkconfig has n (absent): it depends on " +
					"SPIRAM && (SPIRAM_USE_CAPS_ALLOC || SPIRAM_USE_MALLOC) && FREERTOS_SUPPORT_STATIC_ALLOCATION && FREERTOS_TASK_CREATE_ALLOW_EXT_MEM (…" +
					"ws-pr980/esp_websocket_client/Kconfig:12), which is off: FREERTOS_TASK_CREATE_ALLOW_EXT_MEM is not defined in ESP-IDF v5.3.5 or esp_websocket_client 1.8.0",
			}},
		},
		{
			// Issue 11, case 3 (the defaults file): the v5.4 name is unknown on v5.3.x.
			name: "v5.4_option_name_on_v5.3",
			f: func() fixture {
				l, o := layers("stack-ext", stackExt)
				l["sdkconfig.defaults"] += "CONFIG_FREERTOS_TASK_CREATE_ALLOW_EXT_MEM=y\n"
				return fixture{idf: "idf-v5.3", idfVersion: "5.3.5", ws: "ws-cedd7c9", layers: l, order: o,
					sdkconfig: sdkconfigHead + "CONFIG_SPIRAM_ALLOW_STACK_EXTERNAL_MEMORY=y\nCONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM=y\n# CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM is not set\nCONFIG_WSBENCH_VARIANT=\"stack-ext\"\n"}
			},
			want: want{problems: []string{"sdkconfig.defaults:11: CONFIG_FREERTOS_TASK_CREATE_ALLOW_EXT_MEM=y: no option CONFIG_FREERTOS_TASK_CREATE_ALLOW_EXT_MEM in any Kconfig of ESP-IDF v5.3.5"}},
		},
		{
			// The old name, renamed by freertos/sdkconfig.rename on v5.4,
			// takes effect; PR 1117's stack option accepts it.
			name: "renamed_option_takes_effect_on_v5.4",
			f: func() fixture {
				l, o := layers("both-ext", bothExt)
				return fixture{idf: "idf-v5.4", idfVersion: "5.4.4", ws: "ws-cedd7c9", layers: l, order: o,
					sdkconfig: sdkconfigHead + "CONFIG_FREERTOS_TASK_CREATE_ALLOW_EXT_MEM=y\nCONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM=y\nCONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM=y\nCONFIG_WSBENCH_VARIANT=\"both-ext\"\n"}
			},
		},
		{
			name: "pr1117_stack_option_on_v5.3",
			f: func() fixture {
				l, o := layers("stack-ext", stackExt)
				return fixture{idf: "idf-v5.3", idfVersion: "5.3.5", ws: "ws-cedd7c9", layers: l, order: o,
					sdkconfig: sdkconfigHead + "CONFIG_SPIRAM_ALLOW_STACK_EXTERNAL_MEMORY=y\nCONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM=y\n# CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM is not set\nCONFIG_WSBENCH_VARIANT=\"stack-ext\"\n"}
			},
		},
		{
			// A later layer switches PSRAM off: both options lose a dependency,
			// and so do the PSRAM settings of the base layer.
			name: "dependency_switched_off_by_a_later_layer",
			f: func() fixture {
				l, o := layers("both-ext", bothExt, "board.defaults", "# CONFIG_SPIRAM is not set\n")
				return fixture{idf: "idf-v5.4", idfVersion: "5.4.4", ws: "ws-cedd7c9", layers: l, order: o,
					sdkconfig: "CONFIG_IDF_TARGET=\"esp32s3\"\nCONFIG_FREERTOS_SUPPORT_STATIC_ALLOCATION=y\n# CONFIG_SPIRAM is not set\nCONFIG_ESP_TASK_WDT_EN=y\nCONFIG_ESP_TASK_WDT_TIMEOUT_S=5\nCONFIG_WSBENCH_VARIANT=\"both-ext\"\n"}
			},
			want: want{problems: []string{
				"sdkconfig.defaults:3: CONFIG_SPIRAM_USE_MALLOC=y: sdkconfig has n (absent): it depends on !APP_BUILD_TYPE_PURE_RAM_APP && SPIRAM (…), which is off: SPIRAM is not set",
				"sdkconfig.defaults:4: CONFIG_SPIRAM_MALLOC_ALWAYSINTERNAL=16384: sdkconfig has absent: it depends on !APP_BUILD_TYPE_PURE_RAM_APP && SPIRAM && SPIRAM_USE_MALLOC (…), which is off: SPIRAM is not set, SPIRAM_USE_MALLOC is not set",
				"sdkconfig.defaults:5: CONFIG_SPIRAM_ALLOW_STACK_EXTERNAL_MEMORY=y: (renamed to CONFIG_FREERTOS_TASK_CREATE_ALLOW_EXT_MEM by …freertos/sdkconfig.rename) sdkconfig has n (absent): it depends on SPIRAM && FREERTOS_SUPPORT_STATIC_ALLOCATION (…), which is off: SPIRAM is not set",
				"sdkconfig.defaults.esp32s3:1: CONFIG_SPIRAM_MODE_OCT=y: sdkconfig has n (absent): it depends on !APP_BUILD_TYPE_PURE_RAM_APP && SPIRAM (",
				"variants/both-ext.defaults:2: CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM=y: sdkconfig has n (absent): it depends on SPIRAM && (SPIRAM_USE_CAPS_ALLOC || SPIRAM_USE_MALLOC) && FREERTOS_SUPPORT_STATIC_ALLOCATION && (FREERTOS_TASK_CREATE_ALLOW_EXT_MEM || SPIRAM_ALLOW_STACK_EXTERNAL_MEMORY) (",
				"variants/both-ext.defaults:3: CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM=y: sdkconfig has n (absent): it depends on SPIRAM && (SPIRAM_USE_CAPS_ALLOC || SPIRAM_USE_MALLOC) (",
			}},
		},
		{
			name: "inverted_rename",
			f: func() fixture {
				// Only this layer: the base one sets the timeout, whose
				// dependency this switches off.
				l := map[string]string{"variants/int.defaults": "CONFIG_TASK_WDT_DISABLED=y\n"}
				o := []string{"variants/int.defaults"}
				return fixture{idf: "idf-v5.4", idfVersion: "5.4.4", ws: "ws-cedd7c9", layers: l, order: o,
					sdkconfig: strings.Replace(sdkconfigHead, "CONFIG_ESP_TASK_WDT_EN=y\nCONFIG_ESP_TASK_WDT_TIMEOUT_S=5\n", "# CONFIG_ESP_TASK_WDT_EN is not set\n", 1) +
						"CONFIG_FREERTOS_TASK_CREATE_ALLOW_EXT_MEM=y\n# CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM is not set\n# CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM is not set\n"}
			},
		},
		{
			name: "inverted_rename_not_applied",
			f: func() fixture {
				l, o := layers("int", "CONFIG_TASK_WDT_DISABLED=y\n")
				return fixture{idf: "idf-v5.4", idfVersion: "5.4.4", ws: "ws-cedd7c9", layers: l, order: o,
					sdkconfig: sdkconfigHead + "CONFIG_FREERTOS_TASK_CREATE_ALLOW_EXT_MEM=y\n"}
			},
			want: want{problems: []string{"variants/int.defaults:1: CONFIG_TASK_WDT_DISABLED=y: (renamed to CONFIG_ESP_TASK_WDT_EN by "}},
		},
		{
			name: "selected_range_promptless_and_help_text",
			f: func() fixture {
				l, o := layers("int", "# CONFIG_FREERTOS_SUPPORT_STATIC_ALLOCATION is not set\nCONFIG_ESP_TASK_WDT_TIMEOUT_S=90\nCONFIG_NOT_A_SYMBOL=y\nCONFIG_SPIRAM_MALLOC_ALWAYSINTERNAL=4096\n")
				return fixture{idf: "idf-v5.4", idfVersion: "5.4.4", ws: "ws-cedd7c9", layers: l, order: o,
					sdkconfig: sdkconfigHead + "CONFIG_FREERTOS_TASK_CREATE_ALLOW_EXT_MEM=y\n"}
			},
			want: want{problems: []string{
				"variants/int.defaults:1: # CONFIG_FREERTOS_SUPPORT_STATIC_ALLOCATION is not set: sdkconfig has y: it is selected by CONFIG_SPIRAM_USE_MALLOC",
				"variants/int.defaults:2: CONFIG_ESP_TASK_WDT_TIMEOUT_S=90: sdkconfig has 5: 90 is outside the option's range 1..60",
				"variants/int.defaults:3: CONFIG_NOT_A_SYMBOL=y: no option CONFIG_NOT_A_SYMBOL in any Kconfig",
				"variants/int.defaults:4: CONFIG_SPIRAM_MALLOC_ALWAYSINTERNAL=4096: sdkconfig has 16384 (changed by hand",
			}},
		},
		{
			name: "promptless_option_set_by_defaults",
			f: func() fixture {
				l, o := layers("int", "CONFIG_IDF_TARGET_ESP32=y\n")
				return fixture{idf: "idf-v5.4", idfVersion: "5.4.4", ws: "ws-cedd7c9", layers: l, order: o,
					sdkconfig: sdkconfigHead + "CONFIG_FREERTOS_TASK_CREATE_ALLOW_EXT_MEM=y\n"}
			},
			want: want{problems: []string{"variants/int.defaults:1: CONFIG_IDF_TARGET_ESP32=y: sdkconfig has n (absent): the option has no prompt"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.f().write(t)
			res, err := CheckSDKConfig(c)
			var se *SDKConfigError
			if len(tc.want.problems) == 0 {
				if err != nil {
					t.Fatalf("want no problem, got:\n%v", err)
				}
			} else {
				if !errors.As(err, &se) {
					t.Fatalf("error %v, want *SDKConfigError", err)
				}
				t.Logf("message:\n%v", err)
				if len(se.Problems) != len(tc.want.problems) {
					t.Errorf("%d problems, want %d", len(se.Problems), len(tc.want.problems))
				}
				for i, w := range tc.want.problems {
					if i < len(se.Problems) && !containsParts(se.Problems[i].String(), w) {
						t.Errorf("problem %d:\n%s\nwant it to contain:\n%s", i, se.Problems[i], w)
					}
				}
			}
			for _, n := range tc.want.notes {
				found := false
				for _, have := range res.Notes {
					found = found || containsParts(have, n)
				}
				if !found {
					t.Errorf("notes %q lack %q", res.Notes, n)
				}
			}
		})
	}
}

// containsParts reports whether s contains the parts of want separated by
// "…", in order.
func containsParts(s, want string) bool {
	for _, part := range strings.Split(want, "…") {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return true
}

func TestCheckSDKConfigMessageNamesVersions(t *testing.T) {
	l, o := layers("stack-ext", stackExt)
	c := fixture{idf: "idf-v5.3", idfVersion: "5.3.5", ws: "ws-pr980", layers: l, order: o,
		sdkconfig: sdkconfigHead + "CONFIG_SPIRAM_ALLOW_STACK_EXTERNAL_MEMORY=y\n"}.write(t)
	_, err := CheckSDKConfig(c)
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"ESP-IDF v5.3.5", "esp_websocket_client 1.8.0 from ", "FREERTOS_TASK_CREATE_ALLOW_EXT_MEM is not defined in ESP-IDF v5.3.5 or esp_websocket_client 1.8.0",
		filepath.Join("ws-pr980", "esp_websocket_client")} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message lacks %q:\n%v", w, err)
		}
	}
}

func TestCheckSDKConfigBadInputs(t *testing.T) {
	l, o := layers("int", "")
	good := fixture{idf: "idf-v5.4", idfVersion: "5.4.4", ws: "ws-cedd7c9", layers: l, order: o, sdkconfig: sdkconfigHead}
	t.Run("missing_config_env", func(t *testing.T) {
		c := good.write(t)
		c.ConfigEnv = filepath.Join(t.TempDir(), "config.env")
		if _, err := CheckSDKConfig(c); err == nil || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("error %v, want not-exist", err)
		}
	})
	t.Run("config_env_not_json", func(t *testing.T) {
		c := good.write(t)
		if err := os.WriteFile(c.ConfigEnv, []byte("COMPONENT_KCONFIGS=x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := CheckSDKConfig(c); err == nil || !strings.Contains(err.Error(), "config.env") {
			t.Errorf("error %v, want one naming config.env", err)
		}
	})
	t.Run("missing_layer", func(t *testing.T) {
		c := good.write(t)
		c.Layers = append(c.Layers, "variants/nope.defaults")
		if _, err := CheckSDKConfig(c); err == nil || !strings.Contains(err.Error(), "nope.defaults") {
			t.Errorf("error %v, want one naming the layer", err)
		}
	})
	t.Run("broken_kconfig", func(t *testing.T) {
		c := good.write(t)
		bad := filepath.Join(t.TempDir(), "Kconfig")
		if err := os.WriteFile(bad, []byte("menu \"x\"\n  config A\n    bool \"a\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		env, err := readConfigEnv(c.ConfigEnv)
		if err != nil {
			t.Fatal(err)
		}
		env.raw["COMPONENT_KCONFIGS"] += ";" + bad
		b, _ := json.Marshal(env.raw)
		if err := os.WriteFile(c.ConfigEnv, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := CheckSDKConfig(c); err == nil || !strings.Contains(err.Error(), "menu opened at "+bad+":1 is not closed") {
			t.Errorf("error %v, want an unclosed menu at %s:1", err, bad)
		}
	})
}

func TestParseKExpr(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"A", "A"},
		{"A && B || C", "(A && B) || C"},
		{"A && (B || C)", "A && (B || C)"},
		{"!(A || B) && !C", "!(A || B) && !C"},
		{`IDF_TARGET="esp32"`, `IDF_TARGET = "esp32"`},
		{`"$(X)" = "y" || 1`, `"$(X)" = "y" || 1`},
		{"(!(BT_ENABLED||NIMBLE_ENABLED)&&(!IDF_TARGET_ESP32))", "!(BT_ENABLED || NIMBLE_ENABLED) && !IDF_TARGET_ESP32"},
		{"A >= 10 && B != n", "A >= 10 && B != n"},
	} {
		e, err := parseKExpr(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if e.String() != tc.out {
			t.Errorf("%q parsed as %q, want %q", tc.in, e.String(), tc.out)
		}
	}
	for _, bad := range []string{"", "A &&", "(A", "A B", `"x`, "A = ", "&& A", "A @ B"} {
		if _, err := parseKExpr(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestKExprTruth(t *testing.T) {
	p := &kconfigParser{tree: &kTree{syms: map[string]*kSymbol{}}}
	dir := t.TempDir()
	kc := filepath.Join(dir, "Kconfig")
	if err := os.WriteFile(kc, []byte("config A\n  bool \"a\"\nconfig B\n  bool \"b\"\nconfig N\n  int \"n\"\nconfig S\n  string \"s\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.parseFile(kc, nil); err != nil {
		t.Fatal(err)
	}
	vals := kValues{"A": "y", "B": "n", "N": "12", "S": "esp32"}
	for _, tc := range []struct {
		expr string
		want int
	}{
		{"A", 2}, {"B", 0}, {"!B", 2}, {"A && B", 0}, {"A || B", 2}, {"UNDEFINED", 0}, {"!UNDEFINED", 2},
		{"N > 10", 2}, {"N >= 0x10", 0}, {`S = "esp32"`, 2}, {`S != "esp32"`, 0}, {"N", 0}, {"y", 2}, {"n", 0},
	} {
		e, err := parseKExpr(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.tree.truth(e, vals); got != tc.want {
			t.Errorf("%s = %d, want %d", tc.expr, got, tc.want)
		}
	}
}

func FuzzParseKExpr(f *testing.F) {
	for _, s := range []string{"A && (B || !C)", `IDF_TARGET="esp32"`, "(!(BT||N)&&(!T))", "A >= 0x10", `"$(X)" = "y"`, "((((A))))", "!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseKExpr(s)
		if err != nil {
			return
		}
		// What parses must print to something that parses to the same string.
		e2, err := parseKExpr(e.String())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, e.String(), err)
		}
		if e2.String() != e.String() {
			t.Fatalf("%q: %q reparsed as %q", s, e.String(), e2.String())
		}
		tree := &kTree{syms: map[string]*kSymbol{}}
		_ = tree.truth(e, kValues{})
		_ = tree.whyFalse(e, kValues{}, func(n string) string { return n })
	})
}

func FuzzKconfigFile(f *testing.F) {
	for _, p := range []string{"testdata/kconfig/idf-v5.4/components/freertos/Kconfig", "testdata/kconfig/idf-v5.4/components/esp_psram/esp32s3/Kconfig.spiram",
		"testdata/kconfig/idf-v5.3/components/esp_system/Kconfig", "testdata/kconfig/ws-cedd7c9/esp_websocket_client/Kconfig"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "Kconfig")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		// Sources must stay inside the fuzz file: no environment, no lists.
		p := &kconfigParser{tree: &kTree{syms: map[string]*kSymbol{}}, env: map[string]string{"IDF_PATH": "/nonexistent"}}
		_ = p.parseFile(path, nil)
	})
}
