package idf

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Targets are the chips the firmware supports.
func Targets() []string { return []string{"esp32s3", "esp32"} }

// Variants are the placement variants of firmware/variants/<name>.defaults:
// the two esp_websocket_client options off, each on, both on, mbedTLS
// buffers in PSRAM, and mbedTLS dynamic buffers.
// A project built with --project may define others: ProjectVariants.
func Variants() []string {
	return []string{"int", "stack-ext", "alloc-ext", "both-ext", "mbedtls-ext", "dyn-buf"}
}

// ProjectVariants lists the variants project defines: the base names of
// <project>/variants/*.defaults, sorted. Files whose name starts with "."
// are left out (Build refuses such a variant).
func ProjectVariants(project string) ([]string, error) {
	dir := filepath.Join(project, "variants")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("variants of project %s: %w", project, err)
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".defaults")
		if !ok || name == "" || strings.HasPrefix(name, ".") || e.IsDir() {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// knownVariants says which variants project has, for an error about one
// it lacks.
func knownVariants(project string) string {
	have, err := ProjectVariants(project)
	switch {
	case err != nil:
		return err.Error()
	case len(have) == 0:
		return "the project has no variants/*.defaults"
	}
	return "known variants: " + strings.Join(have, ", ")
}

// BuildOptions says what to build.
type BuildOptions struct {
	Tool
	// Project is the ESP-IDF project directory; default "firmware".
	Project string
	// Target is the chip: esp32s3 or esp32.
	Target string
	// Variant names variants/<Variant>.defaults in the project.
	Variant string
	// ComponentPath is a local checkout of esp_websocket_client to build
	// against (e.g. a PR branch); "" for the dependency of
	// firmware/main/idf_component.yml (esp-protocols at PR 1117's merge commit).
	ComponentPath string
	// Behaviour is the placement behaviour of that checkout, "fallback" (PR 980)
	// or "strict" (PR 1117), reported in Hello; "" keeps the Kconfig default
	// (strict, as the default component). It is written as one more
	// SDKCONFIG_DEFAULTS layer. Without ComponentPath only "" and
	// DefaultComponentBehaviour are accepted.
	Behaviour string
	// PeerCA is the PEM CA of the peer server to embed. "" uses
	// <Project>/main/certs/peer_ca.pem when it exists, else the CA that
	// `wsbench serve` generated (<user config dir>/wsbench/certs/ca.pem).
	PeerCA string
	// BuildRoot holds build/<target>/<variant>; default <Project>/build.
	BuildRoot string
	// Clean removes the variant's build directory first.
	Clean bool
	// QEMU builds the image for Espressif's QEMU: the QEMUDefaults layer
	// after the variant's, in build/qemu/<target>/<variant> (idf/qemu.go).
	QEMU bool
}

// DefaultComponentBehaviour is the placement behaviour of the
// esp_websocket_client that firmware/main/idf_component.yml pins (esp-protocols
// at the merge commit of PR 1117: "strict"), and the Kconfig default of
// WSBENCH_BEHAVIOUR. A build without ComponentPath accepts no other.
const DefaultComponentBehaviour = "strict"

// Artifact is a finished build.
type Artifact struct {
	Target        string `json:"target"`
	Variant       string `json:"variant"`
	Project       string `json:"project"`        // absolute project directory
	BuildDir      string `json:"build_dir"`      // absolute build/<target>/<variant>
	SDKConfig     string `json:"sdkconfig"`      // the variant's generated sdkconfig
	SizeJSON      string `json:"size_json"`      // `idf.py size --format json2` output
	ComponentPath string `json:"component_path"` // absolute, "" for the component of main/idf_component.yml
	// IDF and Component name the ESP-IDF version and the esp_websocket_client
	// the sdkconfig check found in the configured build.
	IDF       string `json:"idf,omitempty"`
	Component string `json:"component,omitempty"`
	// ConfigNotes are defaults lines that are fine but worth knowing: an
	// option switched off that this ESP-IDF or component does not have.
	ConfigNotes []string `json:"config_notes,omitempty"`
}

// Paths of a variant's build, relative to nothing: all absolute.
func (o BuildOptions) dirs() (project, buildDir string, err error) {
	project = o.Project
	if project == "" {
		project = "firmware"
	}
	if project, err = filepath.Abs(project); err != nil {
		return "", "", fmt.Errorf("project directory: %w", err)
	}
	root := o.BuildRoot
	if root == "" {
		root = filepath.Join(project, "build")
		if o.QEMU {
			root = filepath.Join(root, QEMUBuildDir)
		}
	}
	if root, err = filepath.Abs(root); err != nil {
		return "", "", fmt.Errorf("build root: %w", err)
	}
	return project, filepath.Join(root, o.Target, o.Variant), nil
}

// defaultsFiles are the SDKCONFIG_DEFAULTS layers, relative to the project:
// base, target, variant. Later files override earlier ones.
func defaultsFiles(target, variant string) []string {
	return []string{"sdkconfig.defaults", "sdkconfig.defaults." + target, "variants/" + variant + ".defaults"}
}

func (o BuildOptions) validate(project string) error {
	if !slices.Contains(Targets(), o.Target) {
		return fmt.Errorf("target %q: want one of %s", o.Target, strings.Join(Targets(), ", "))
	}
	if o.Variant == "" {
		return fmt.Errorf("variant is required (%s)", knownVariants(project))
	}
	if strings.ContainsAny(o.Variant, `/\;`) || strings.HasPrefix(o.Variant, ".") {
		return fmt.Errorf("variant %q: not a file name", o.Variant)
	}
	if _, err := os.Stat(filepath.Join(project, "CMakeLists.txt")); err != nil {
		return fmt.Errorf("project %s: not an ESP-IDF project: %w", project, err)
	}
	files := defaultsFiles(o.Target, o.Variant)
	if o.QEMU {
		files = append(files, QEMUDefaults)
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(project, f)); err != nil {
			if strings.HasPrefix(f, "variants/") {
				return fmt.Errorf("variant %q: %w (%s)", o.Variant, err, knownVariants(project))
			}
			return fmt.Errorf("project %s: %w", project, err)
		}
	}
	switch o.Behaviour {
	case "", "fallback", "strict":
	default:
		return fmt.Errorf("behaviour %q: want fallback or strict", o.Behaviour)
	}
	if o.ComponentPath == "" && o.Behaviour != "" && o.Behaviour != DefaultComponentBehaviour {
		// Hello would report a behaviour the code does not have.
		return fmt.Errorf("behaviour %q: the default esp_websocket_client (firmware/main/idf_component.yml: esp-protocols at PR 1117's merge commit) is %s; "+
			"build a checkout that behaves so with --component-path, or use --behaviour %s",
			o.Behaviour, DefaultComponentBehaviour, DefaultComponentBehaviour)
	}
	if o.PeerCA != "" {
		if _, err := os.Stat(o.PeerCA); err != nil {
			return fmt.Errorf("peer CA: %w (run `wsbench serve` once to generate it)", err)
		}
	}
	if o.ComponentPath != "" {
		st, err := os.Stat(o.ComponentPath)
		if err != nil {
			return fmt.Errorf("component path: %w", err)
		}
		if !st.IsDir() {
			return fmt.Errorf("component path %s: not a directory", o.ComponentPath)
		}
		if _, err := os.Stat(filepath.Join(o.ComponentPath, "CMakeLists.txt")); err != nil {
			return fmt.Errorf("component path %s: not an ESP-IDF component (want its CMakeLists.txt, e.g. esp-protocols/components/esp_websocket_client): %w", o.ComponentPath, err)
		}
	}
	return nil
}

// buildParams are the resolved (absolute) inputs of one variant's build.
type buildParams struct {
	project, buildDir, target, variant string
	component, peerCA                  string
	qemu                               bool   // add the QEMUDefaults layer
	behaviourFile                      string // extra defaults layer, "" for none
	wifiFile                           string // <project>/wifi.defaults when present
}

// WiFiDefaults is an optional, untracked defaults layer in the project with
// CONFIG_WSBENCH_WIFI_SSID / CONFIG_WSBENCH_WIFI_PASSWORD. Matrix runs reset
// the board before every cell, and credentials sent with the "wifi" command
// live in RAM only, so unattended runs take them from here.
const WiFiDefaults = "wifi.defaults"

// layers are the SDKCONFIG_DEFAULTS entries: relative to the project, the
// behaviour layer absolute.
func (b buildParams) layers() []string {
	l := defaultsFiles(b.target, b.variant)
	if b.qemu {
		l = append(l, QEMUDefaults)
	}
	if b.behaviourFile != "" {
		l = append(l, b.behaviourFile)
	}
	if b.wifiFile != "" {
		l = append(l, b.wifiFile)
	}
	return l
}

// commonArgs are the idf.py options every step of a variant shares.
func (b buildParams) commonArgs() []string {
	args := []string{"-C", b.project, "-B", b.buildDir,
		"-D", "SDKCONFIG=" + filepath.Join(b.buildDir, "sdkconfig"),
		"-D", "SDKCONFIG_DEFAULTS=" + strings.Join(b.layers(), ";")}
	// Always given, empty when unset: CMake keeps cache values from the
	// previous configure, and a build without --component-path must not
	// silently reuse an earlier checkout (nor an earlier CA).
	args = append(args, "-D", "WSBENCH_WS_COMPONENT_PATH="+b.component, "-D", "WSBENCH_PEER_CA="+b.peerCA)
	return args
}

// resolve validates o and makes every path absolute. It writes nothing.
func (o BuildOptions) resolve() (buildParams, error) {
	project, buildDir, err := o.dirs()
	if err != nil {
		return buildParams{}, err
	}
	if err := o.validate(project); err != nil {
		return buildParams{}, err
	}
	b := buildParams{project: project, buildDir: buildDir, target: o.Target, variant: o.Variant, qemu: o.QEMU}
	if o.ComponentPath != "" {
		if b.component, err = filepath.Abs(o.ComponentPath); err != nil {
			return b, fmt.Errorf("component path: %w", err)
		}
	}
	if o.PeerCA != "" {
		if b.peerCA, err = filepath.Abs(o.PeerCA); err != nil {
			return b, fmt.Errorf("peer CA: %w", err)
		}
	} else if !fileExists(filepath.Join(project, ProjectPeerCA)) {
		if p := userPeerCA(); p != "" && fileExists(p) {
			b.peerCA = p
		}
	}
	if o.Behaviour != "" {
		// Beside the build directory, never inside it: idf.py set-target runs
		// fullclean, which refuses a non-empty directory without CMakeCache.txt
		// and empties one that has it (deleting a layer kept inside).
		b.behaviourFile = filepath.Clean(buildDir) + ".wsbench-behaviour.defaults"
	}
	if p := filepath.Join(project, WiFiDefaults); fileExists(p) {
		b.wifiFile = p
	}
	return b, nil
}

// ProjectPeerCA is where the firmware looks for the peer CA when the build
// names none (firmware/main/CMakeLists.txt).
const ProjectPeerCA = "main/certs/peer_ca.pem"

// userPeerCA is the CA file `wsbench serve` generates by default: the same
// path as filepath.Join(peer.DefaultCertDir(), peer.CAFileName), kept here so
// that this package does not depend on the peer server (a test checks they agree).
func userPeerCA() string {
	d, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "wsbench", "certs", "ca.pem")
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// behaviourDefaults is the sdkconfig layer that selects a behaviour.
func behaviourDefaults(behaviour string) []byte {
	if behaviour == "strict" {
		return []byte("# written by wsbench build --behaviour strict\nCONFIG_WSBENCH_BEHAVIOUR_STRICT=y\n" +
			"# CONFIG_WSBENCH_BEHAVIOUR_FALLBACK is not set\n")
	}
	return []byte("# written by wsbench build --behaviour fallback\nCONFIG_WSBENCH_BEHAVIOUR_FALLBACK=y\n" +
		"# CONFIG_WSBENCH_BEHAVIOUR_STRICT is not set\n")
}

// sdkconfigTarget reads CONFIG_IDF_TARGET from an sdkconfig, "" when absent.
func sdkconfigTarget(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CONFIG_IDF_TARGET="); ok {
			return strings.Trim(v, `"`), nil
		}
	}
	return "", sc.Err()
}

// staleSDKConfig reports whether a defaults layer changed after the sdkconfig
// was generated. ESP-IDF only applies defaults to options an existing
// sdkconfig lacks, so a changed variant file would otherwise be ignored.
func staleSDKConfig(project, sdkconfig string, layers []string) (bool, error) {
	st, err := os.Stat(sdkconfig)
	if err != nil {
		return false, err
	}
	for _, l := range layers {
		if !filepath.IsAbs(l) {
			l = filepath.Join(project, l)
		}
		lst, err := os.Stat(l)
		if err != nil {
			return false, err
		}
		if lst.ModTime().After(st.ModTime()) {
			return true, nil
		}
	}
	return false, nil
}

// Build builds one variant for one target and stores its size report.
func Build(ctx context.Context, o BuildOptions) (Artifact, error) {
	b, err := o.resolve()
	if err != nil {
		return Artifact{}, fmt.Errorf("build: %w", err)
	}
	if _, err := o.Tool.locate(); err != nil {
		return Artifact{}, fmt.Errorf("build %s/%s: %w", o.Target, o.Variant, err)
	}
	art := Artifact{Target: o.Target, Variant: o.Variant, Project: b.project, BuildDir: b.buildDir,
		SDKConfig: filepath.Join(b.buildDir, "sdkconfig"), SizeJSON: filepath.Join(b.buildDir, "size.json"),
		ComponentPath: b.component}
	fail := func(err error) (Artifact, error) {
		return art, fmt.Errorf("build %s/%s: %w", o.Target, o.Variant, err)
	}
	if o.Clean {
		if err := os.RemoveAll(b.buildDir); err != nil {
			return fail(fmt.Errorf("clean %s: %w", b.buildDir, err))
		}
	}
	if err := os.MkdirAll(b.buildDir, 0o755); err != nil {
		return fail(err)
	}
	if b.behaviourFile != "" {
		want := behaviourDefaults(o.Behaviour)
		if have, err := os.ReadFile(b.behaviourFile); err != nil || !bytes.Equal(have, want) {
			if err := os.WriteFile(b.behaviourFile, want, 0o644); err != nil {
				return fail(err)
			}
		}
	}
	common := b.commonArgs()

	// set-target when the build directory is new or was configured for another chip.
	have, err := sdkconfigTarget(art.SDKConfig)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fail(fmt.Errorf("read %s: %w", art.SDKConfig, err))
	}
	_, cacheErr := os.Stat(filepath.Join(b.buildDir, "CMakeCache.txt"))
	configEnv := filepath.Join(b.buildDir, ConfigEnvFile)
	// Configure (kconfgen writes the sdkconfig), check it, then compile.
	switch {
	case have != o.Target || cacheErr != nil:
		if have != "" && have != o.Target {
			// set-target replaces the sdkconfig; keep nothing of the other chip.
			if err := os.Remove(art.SDKConfig); err != nil {
				return fail(err)
			}
		}
		if _, err := o.Tool.run(ctx, "set-target", b.project, append(slices.Clone(common), "set-target", o.Target)); err != nil {
			return fail(err)
		}
	default:
		stale, err := staleSDKConfig(b.project, art.SDKConfig, withTargetLayers(b.project, b.layers(), o.Target))
		if err != nil {
			return fail(err)
		}
		reconfigure := stale || b.component != "" || !fileExists(configEnv)
		if stale {
			// Regenerate the sdkconfig from the changed defaults.
			if err := os.Remove(art.SDKConfig); err != nil {
				return fail(err)
			}
		}
		// With a local component, also because its version and commit are
		// read at configure time.
		if reconfigure {
			if _, err := o.Tool.run(ctx, "reconfigure", b.project, append(slices.Clone(common), "reconfigure")); err != nil {
				return fail(err)
			}
		}
	}
	res, err := CheckSDKConfig(SDKCheck{Project: b.project, Layers: b.layers(), Target: o.Target,
		SDKConfig: art.SDKConfig, ConfigEnv: configEnv})
	if err != nil {
		return fail(err)
	}
	art.IDF, art.Component, art.ConfigNotes = res.IDF, res.Component, res.Notes
	if o.Output != nil {
		fmt.Fprintf(o.Output, "wsbench: sdkconfig check passed: every defaults line took effect (%s, %s)\n", res.IDF, res.Component)
		for _, n := range res.Notes {
			fmt.Fprintf(o.Output, "wsbench: note: %s\n", n)
		}
	}
	if _, err := o.Tool.run(ctx, "build", b.project, append(slices.Clone(common), "build")); err != nil {
		return fail(err)
	}
	if err := writeSize(ctx, o.Tool, b.project, art.SizeJSON, common); err != nil {
		return fail(err)
	}
	return art, nil
}

// writeSize runs `idf.py size --format json2` into path and checks the result
// is a size summary.
func writeSize(ctx context.Context, t Tool, project, path string, common []string) error {
	_ = os.Remove(path)
	args := append(slices.Clone(common), "size", "--format", "json2", "--output-file", path)
	if _, err := t.run(ctx, "size", project, args); err != nil {
		return err
	}
	if _, err := ReadSize(path); err != nil {
		return fmt.Errorf("idf.py size: %w", err)
	}
	return nil
}
