package charts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// EnvECharts names a file that overrides the search for echarts.min.js.
const EnvECharts = "WSBENCH_ECHARTS"

// echartsRel is where npm installs the library below a package root.
var echartsRel = filepath.Join("node_modules", "echarts", "dist", "echarts.min.js")

// searchRoots are the directories searched upward: the working directory
// and the module root this package was built from.
func searchRoots() []string {
	var roots []string
	if wd, err := os.Getwd(); err == nil {
		roots = append(roots, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		roots = append(roots, filepath.Dir(filepath.Dir(file)))
	}
	return roots
}

// findUp returns the first dir/rel found from each root upward.
func findUp(roots []string, rel string) (string, bool) {
	for _, root := range roots {
		for dir := root; ; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, rel)
			if _, err := os.Stat(p); err == nil {
				return p, true
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", false
}

// ErrNoECharts says the echarts library could not be found or installed.
var ErrNoECharts = errors.New("echarts.min.js not found")

// EChartsJS returns the echarts library to inline in a report: the file
// named by $WSBENCH_ECHARTS, or node_modules/echarts/dist/echarts.min.js
// found upward from the working directory or the module root. When it is
// missing and npm is on PATH, it runs `npm ci --no-audit --no-fund` in the
// directory holding package-lock.json, saying so on log, and looks again.
func EChartsJS(ctx context.Context, log io.Writer) ([]byte, error) {
	if p := os.Getenv(EnvECharts); p != "" {
		return readJS(p)
	}
	return echartsFrom(ctx, log, searchRoots())
}

// echartsFrom looks for the library upward from roots and installs it with
// npm ci where the first package-lock.json is when it is missing.
func echartsFrom(ctx context.Context, log io.Writer, roots []string) ([]byte, error) {
	if p, ok := findUp(roots, echartsRel); ok {
		return readJS(p)
	}
	lock, ok := findUp(roots, "package-lock.json")
	if !ok {
		return nil, fmt.Errorf("%w below %v and no package-lock.json to install it from (set %s)", ErrNoECharts, roots, EnvECharts)
	}
	dir := filepath.Dir(lock)
	npm, err := exec.LookPath("npm")
	if err != nil {
		return nil, fmt.Errorf("%w: run `npm ci` in %s (npm is not on PATH), or set %s", ErrNoECharts, dir, EnvECharts)
	}
	fmt.Fprintf(log, "wsbench: echarts is not installed; running npm ci --no-audit --no-fund in %s\n", dir)
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: npm ci in %s: %v", ErrNoECharts, dir, err)
	}
	p := filepath.Join(dir, echartsRel)
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("%w: npm ci in %s did not install %s", ErrNoECharts, dir, echartsRel)
	}
	return readJS(p)
}

func readJS(p string) ([]byte, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read echarts: %w", err)
	}
	if len(b) < 1000 {
		return nil, fmt.Errorf("read echarts: %s holds %d bytes, not the library", p, len(b))
	}
	// Inlined in a <script> element, the text must not close it.
	if bytes.Contains(bytes.ToLower(b), []byte("</script")) || bytes.Contains(b, []byte("<!--")) {
		return nil, fmt.Errorf("read echarts: %s contains </script or <!-- and cannot be inlined", p)
	}
	return b, nil
}
