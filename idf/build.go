package idf

import (
	"bufio"
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
func Variants() []string {
	return []string{"int", "stack-ext", "alloc-ext", "both-ext", "mbedtls-ext", "dyn-buf"}
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
	// against instead of the registry release (e.g. a PR branch); "" for the registry.
	ComponentPath string
	// BuildRoot holds build/<target>/<variant>; default <Project>/build.
	BuildRoot string
	// Clean removes the variant's build directory first.
	Clean bool
}

// Artifact is a finished build.
type Artifact struct {
	Target        string `json:"target"`
	Variant       string `json:"variant"`
	Project       string `json:"project"`        // absolute project directory
	BuildDir      string `json:"build_dir"`      // absolute build/<target>/<variant>
	SDKConfig     string `json:"sdkconfig"`      // the variant's generated sdkconfig
	SizeJSON      string `json:"size_json"`      // `idf.py size --format json2` output
	ComponentPath string `json:"component_path"` // absolute, "" for the registry release
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
		return fmt.Errorf("variant is required (one of %s)", strings.Join(Variants(), ", "))
	}
	if strings.ContainsAny(o.Variant, `/\;`) || strings.HasPrefix(o.Variant, ".") {
		return fmt.Errorf("variant %q: not a file name", o.Variant)
	}
	if _, err := os.Stat(filepath.Join(project, "CMakeLists.txt")); err != nil {
		return fmt.Errorf("project %s: not an ESP-IDF project: %w", project, err)
	}
	for _, f := range defaultsFiles(o.Target, o.Variant) {
		if _, err := os.Stat(filepath.Join(project, f)); err != nil {
			if strings.HasPrefix(f, "variants/") {
				return fmt.Errorf("variant %q: %w (known variants: %s)", o.Variant, err, strings.Join(Variants(), ", "))
			}
			return fmt.Errorf("project %s: %w", project, err)
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

// commonArgs are the idf.py options every step of a variant shares.
func commonArgs(project, buildDir, target, variant, component string) []string {
	args := []string{"-C", project, "-B", buildDir,
		"-D", "SDKCONFIG=" + filepath.Join(buildDir, "sdkconfig"),
		"-D", "SDKCONFIG_DEFAULTS=" + strings.Join(defaultsFiles(target, variant), ";")}
	if component != "" {
		args = append(args, "-D", "WSBENCH_WS_COMPONENT_PATH="+component)
	}
	return args
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
		lst, err := os.Stat(filepath.Join(project, l))
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
	project, buildDir, err := o.dirs()
	if err != nil {
		return Artifact{}, err
	}
	if err := o.validate(project); err != nil {
		return Artifact{}, fmt.Errorf("build: %w", err)
	}
	component := ""
	if o.ComponentPath != "" {
		if component, err = filepath.Abs(o.ComponentPath); err != nil {
			return Artifact{}, fmt.Errorf("component path: %w", err)
		}
	}
	if _, err := o.Tool.locate(); err != nil {
		return Artifact{}, fmt.Errorf("build %s/%s: %w", o.Target, o.Variant, err)
	}
	art := Artifact{Target: o.Target, Variant: o.Variant, Project: project, BuildDir: buildDir,
		SDKConfig: filepath.Join(buildDir, "sdkconfig"), SizeJSON: filepath.Join(buildDir, "size.json"),
		ComponentPath: component}
	if o.Clean {
		if err := os.RemoveAll(buildDir); err != nil {
			return art, fmt.Errorf("clean %s: %w", buildDir, err)
		}
	}
	if err := os.MkdirAll(buildDir, 0o755); err != nil {
		return art, fmt.Errorf("create %s: %w", buildDir, err)
	}
	common := commonArgs(project, buildDir, o.Target, o.Variant, component)

	// set-target when the build directory is new or was configured for another chip.
	have, err := sdkconfigTarget(art.SDKConfig)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return art, fmt.Errorf("read %s: %w", art.SDKConfig, err)
	}
	_, cacheErr := os.Stat(filepath.Join(buildDir, "CMakeCache.txt"))
	if have != o.Target || cacheErr != nil {
		if have != "" && have != o.Target {
			// set-target replaces the sdkconfig; keep nothing of the other chip.
			if err := os.Remove(art.SDKConfig); err != nil {
				return art, fmt.Errorf("remove %s: %w", art.SDKConfig, err)
			}
		}
		if _, err := o.Tool.run(ctx, "set-target", project, append(slices.Clone(common), "set-target", o.Target)); err != nil {
			return art, fmt.Errorf("build %s/%s: %w", o.Target, o.Variant, err)
		}
	} else if stale, err := staleSDKConfig(project, art.SDKConfig, defaultsFiles(o.Target, o.Variant)); err != nil {
		return art, fmt.Errorf("build %s/%s: %w", o.Target, o.Variant, err)
	} else if stale {
		// Regenerate from the defaults on the next configure.
		if err := os.Remove(art.SDKConfig); err != nil {
			return art, fmt.Errorf("remove stale %s: %w", art.SDKConfig, err)
		}
		common = append(common, "reconfigure")
	}

	if _, err := o.Tool.run(ctx, "build", project, append(slices.Clone(common), "build")); err != nil {
		return art, fmt.Errorf("build %s/%s: %w", o.Target, o.Variant, err)
	}
	if err := writeSize(ctx, o.Tool, project, art.SizeJSON, commonArgs(project, buildDir, o.Target, o.Variant, component)); err != nil {
		return art, fmt.Errorf("build %s/%s: %w", o.Target, o.Variant, err)
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
