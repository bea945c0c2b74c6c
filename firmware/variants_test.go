package firmware_test

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/idf"
	"github.com/wsbench/wsbench/matrix"
	"github.com/wsbench/wsbench/wire"
)

// readDefaults reads an sdkconfig defaults file into m: "CONFIG_X=v" sets X
// to v (quotes removed), "# CONFIG_X is not set" sets X to "n".
func readDefaults(t *testing.T, path string, m map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if name, ok := strings.CutPrefix(line, "# CONFIG_"); ok && strings.HasSuffix(name, " is not set") {
			m[strings.TrimSuffix(name, " is not set")] = "n"
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		kv, ok := strings.CutPrefix(line, "CONFIG_")
		k, v, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 {
			t.Fatalf("%s:%d: not an sdkconfig line: %q", path, n, line)
		}
		m[k] = strings.Trim(v, `"`)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// optionsOf derives what Hello reports from an effective configuration, as
// main/wsbench_hello.c does from the sdkconfig macros (component options
// assumed present).
func optionsOf(t *testing.T, c map[string]string) wire.Options {
	t.Helper()
	on := func(k string) bool { return c[k] == "y" }
	num := func(k string) uint32 {
		v, err := strconv.ParseUint(c[k], 10, 32)
		if err != nil {
			t.Fatalf("CONFIG_%s=%q: %v", k, c[k], err)
		}
		return uint32(v)
	}
	o := wire.Options{
		WSTaskStackInExtRAM:   on("ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM"),
		WSAllocInExtRAM:       on("ESP_WS_CLIENT_ALLOC_IN_EXT_RAM"),
		WSTaskStack:           4096, // Kconfig default of WSBENCH_WS_TASK_STACK
		WSBufferSize:          1024, // Kconfig default of WSBENCH_WS_BUFFER_SIZE
		WSDynamicBuffer:       on("ESP_WS_CLIENT_ENABLE_DYNAMIC_BUFFER"),
		MbedTLSAlloc:          "internal",
		MbedTLSInContentLen:   num("MBEDTLS_SSL_IN_CONTENT_LEN"),
		MbedTLSOutContentLen:  num("MBEDTLS_SSL_OUT_CONTENT_LEN"),
		MbedTLSDynamicBuffer:  on("MBEDTLS_DYNAMIC_BUFFER"),
		MbedTLSKeepPeerCert:   on("MBEDTLS_SSL_KEEP_PEER_CERTIFICATE"),
		SPIRAMUse:             "malloc",
		SPIRAMAlwaysInternal:  num("SPIRAM_MALLOC_ALWAYSINTERNAL"),
		SPIRAMReserveInternal: num("SPIRAM_MALLOC_RESERVE_INTERNAL"),
		TaskWDTTimeoutS:       uint8(num("ESP_TASK_WDT_TIMEOUT_S")),
		TaskWDTPanic:          on("ESP_TASK_WDT_PANIC"),
	}
	if on("MBEDTLS_EXTERNAL_MEM_ALLOC") {
		o.MbedTLSAlloc = "external"
	}
	if !on("SPIRAM_USE_MALLOC") {
		t.Fatal("SPIRAM_USE_MALLOC is not set")
	}
	return o
}

// TestVariantFiles checks the variant files against idf.Variants and against
// what the matrix expects of a variant of the same name (matrix.CheckHello
// refuses a board whose Hello disagrees, so a mismatch would make every
// hardware cell fail).
func TestVariantFiles(t *testing.T) {
	files, err := filepath.Glob("variants/*.defaults")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".defaults"))
	}
	want := idf.Variants()
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("variant files %q, idf.Variants() %q", names, want)
	}

	def, err := matrix.Default()
	if err != nil {
		t.Fatal(err)
	}
	expect := map[string]matrix.Variant{
		"mbedtls-ext": {Name: "mbedtls-ext", MbedTLSAlloc: "external"},
		"dyn-buf":     {Name: "dyn-buf", MbedTLSDynamicBuffer: true},
	}
	for _, v := range def.Variants {
		expect[v.Name] = v
	}
	for _, target := range idf.Targets() {
		for _, name := range names {
			t.Run(target+"/"+name, func(t *testing.T) {
				c := map[string]string{}
				for _, f := range []string{"sdkconfig.defaults", "sdkconfig.defaults." + target, "variants/" + name + ".defaults"} {
					readDefaults(t, f, c)
				}
				if c["WSBENCH_VARIANT"] != name {
					t.Errorf("CONFIG_WSBENCH_VARIANT=%q, want %q", c["WSBENCH_VARIANT"], name)
				}
				mv, ok := expect[name]
				if !ok {
					t.Fatalf("no matrix expectation for variant %q", name)
				}
				if got, want := optionsOf(t, c), mv.Options(); got != want {
					t.Errorf("Hello options\n got %+v\nwant %+v (matrix variant %q)", got, want, mv.Name)
				}
			})
		}
	}
}

// The QEMU layer (idf.QEMUDefaults, added after the variant's) switches the
// network to open_eth, AES/SHA to software and PSRAM to quad, and leaves
// every option Hello reports as the variant set it: variants built for QEMU
// differ from each other only in placement, and pass CheckHello.
func TestQEMUDefaultsLayer(t *testing.T) {
	// ESP-IDF loads <layer>.<target> after each layer.
	qemuLayers := func(target string) []string {
		l := []string{idf.QEMUDefaults}
		if _, err := os.Stat(idf.QEMUDefaults + "." + target); err == nil {
			l = append(l, idf.QEMUDefaults+"."+target)
		}
		return l
	}
	for target, wants := range map[string]map[string]string{
		"esp32s3": {"WSBENCH_NET_OPENETH": "y", "WSBENCH_NET_WIFI": "n", "ETH_USE_OPENETH": "y",
			"MBEDTLS_HARDWARE_AES": "n", "MBEDTLS_HARDWARE_SHA": "n", "SPIRAM_MODE_QUAD": "y", "SPIRAM_MODE_OCT": "n"},
		"esp32": {"WSBENCH_NET_OPENETH": "y", "WSBENCH_NET_WIFI": "n", "ETH_USE_OPENETH": "y",
			"MBEDTLS_HARDWARE_AES": "n", "MBEDTLS_HARDWARE_SHA": "n", "SPIRAM_MODE_QUAD": ""},
	} {
		q := map[string]string{}
		for _, f := range qemuLayers(target) {
			readDefaults(t, f, q)
		}
		for k, want := range wants {
			if q[k] != want {
				t.Errorf("%s QEMU layers: CONFIG_%s=%q, want %q", target, k, q[k], want)
			}
		}
	}
	for _, target := range idf.Targets() {
		for _, name := range idf.Variants() {
			chip, emu := map[string]string{}, map[string]string{}
			for _, f := range []string{"sdkconfig.defaults", "sdkconfig.defaults." + target, "variants/" + name + ".defaults"} {
				readDefaults(t, f, chip)
				readDefaults(t, f, emu)
			}
			for _, f := range qemuLayers(target) {
				readDefaults(t, f, emu)
			}
			if got, want := optionsOf(t, emu), optionsOf(t, chip); got != want {
				t.Errorf("%s/%s: the QEMU layer changes what Hello reports\n got %+v\nwant %+v", target, name, got, want)
			}
		}
	}
}
