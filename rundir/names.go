package rundir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Limits of the names that become paths (see docs/limits.md).
const (
	// MaxNameLen is the longest matrix, board, variant and scenario name.
	// A cell id joins three of them (board__variant__scenario__nN__rR) and
	// an attempt directory adds a time stamp, which stays well under the
	// 255-byte limit of a file name on every common file system.
	MaxNameLen = 48
	// MaxRunIDLen is the longest run id: a UTC time stamp, a matrix name
	// and a collision counter fit with room to spare.
	MaxRunIDLen = 96
	// MaxCellIDLen is the longest cell id (three names and two numbers).
	MaxCellIDLen = 3*MaxNameLen + 32
)

// CheckName checks a name that becomes a path component (a matrix, run,
// board, variant, scenario or cell name): 1 to max bytes of
// [A-Za-z0-9._-], starting with a letter or digit, so it can be neither
// "." nor ".." nor hold a separator. field names the name in the error, as
// the user wrote it ("name", "boards[2].name", "--run-id"). It is the one
// check every such name passes before it reaches the file system.
func CheckName(field, name string, max int) error {
	if name == "" {
		return fmt.Errorf("%s: empty: want 1-%d characters of [A-Za-z0-9._-]", field, max)
	}
	if len(name) > max {
		return fmt.Errorf("%s: %d bytes long: want at most %d characters of [A-Za-z0-9._-]", field, len(name), max)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i > 0 {
			ok = ok || c == '.' || c == '_' || c == '-'
		}
		if !ok {
			what := fmt.Sprintf("character %q at byte %d", name[i:i+1], i)
			if i == 0 {
				what = fmt.Sprintf("starts with %q", name[:1])
			}
			return fmt.Errorf("%s: %s: %s: want 1-%d characters of [A-Za-z0-9._-], starting with a letter or digit", field, quoteShort(name), what, max)
		}
	}
	return nil
}

// quoteShort quotes s, cut to 64 bytes so a huge name does not become a
// huge error.
func quoteShort(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%q... (%d bytes)", s[:64], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// Inside returns dir joined below root, cleaned, after proving that it lies
// inside root: a run directory named by a matrix or a flag can never land
// outside --results. Symbolic links already in root's path are resolved
// for the check; root itself need not exist.
func Inside(root, name string) (string, error) {
	if name == "" || filepath.IsAbs(name) {
		return "", fmt.Errorf("run directory %q: must be a name below %s", name, root)
	}
	dir := filepath.Join(root, name)
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("results directory %s: %w", root, err)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("run directory %s: %w", dir, err)
	}
	rel, err := filepath.Rel(absRoot, absDir)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("run directory %s is not inside the results directory %s", dir, root)
	}
	// A name that is a symbolic link to elsewhere would also escape.
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return "", fmt.Errorf("run directory %s is a symbolic link: it could point outside %s", dir, root)
	}
	return dir, nil
}

// RemoveStaleTemps removes the temporary files that WriteFile (and
// `wsbench decode --rebuild`) leave behind when the process is killed
// between creating and renaming them: ".<name>.<digits>" next to one of the
// run directory's own files (cell.json, manifest.json, records.msgp, ...),
// anywhere below run (cells/, attempts/, the run itself). Nothing else is
// touched: captured bytes are never deleted. It returns the paths removed.
func RemoveStaleTemps(run string) ([]string, error) {
	known := map[string]bool{ManifestFile: true, SummaryFile: true, ReportFile: true, CellFile: true,
		RecordsFile: true, CaptureFile: true, PeerFile: true}
	var removed []string
	err := filepath.WalkDir(run, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		if isStaleTemp(d.Name(), known) {
			if err := os.Remove(p); err != nil {
				return err
			}
			removed = append(removed, p)
		}
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("remove temporary files in %s: %w", run, err)
	}
	return removed, nil
}

// isStaleTemp reports whether name is ".<known>.<digits>", os.CreateTemp's
// name for a temporary file of a known file.
func isStaleTemp(name string, known map[string]bool) bool {
	if !strings.HasPrefix(name, ".") {
		return false
	}
	dot := strings.LastIndexByte(name, '.')
	if dot <= 1 || dot == len(name)-1 || !known[name[1:dot]] {
		return false
	}
	for _, c := range name[dot+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
