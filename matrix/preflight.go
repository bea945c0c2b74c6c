package matrix

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/wsbench/wsbench/idf"
	"github.com/wsbench/wsbench/rundir"
)

// placeholder matches a value an example matrix leaves to be filled in,
// such as "@PORT@".
var placeholder = regexp.MustCompile(`^@[A-Za-z0-9_]+@$`)

// CheckHardware checks, before a run starts anything, what every real
// board needs: a port that is not an example's placeholder, and idf.py to
// build its firmware (unless flash: false), for a chip on a port as for
// QEMU. Every board that is built (port or qemu, unless flash: false)
// needs each variant it runs to be <project>/variants/<name>.defaults in
// the firmware project ("" is "firmware", as for idf.Build). A missing tool or variant is one
// error now rather than one failed cell per cell later; every problem
// is in the one joined error.
func CheckHardware(f *File, tool idf.Tool, project string) error {
	var errs []error
	chips, emulated := false, false
	for _, b := range f.Boards {
		if b.Port != "" && placeholder.MatchString(b.Port) {
			errs = append(errs, fmt.Errorf("board %q: port %q is a placeholder: set it to the board's serial port (e.g. /dev/ttyACM0, auto, rfc2217://lab-host:4001)", b.Name, b.Port))
		}
		if b.built() {
			chips = chips || b.Port != ""
			emulated = emulated || b.QEMU != ""
		}
	}
	var built []string
	if chips {
		built = append(built, "real boards are built and flashed")
	}
	if emulated {
		built = append(built, "qemu boards' images are built")
	}
	if len(built) > 0 {
		if _, err := tool.Locate(); err != nil {
			errs = append(errs, fmt.Errorf("%s with idf.py: %w", strings.Join(built, " and "), err))
		}
	}
	errs = append(errs, checkVariantFiles(f, project)...)
	return errors.Join(errs...)
}

// checkVariantFiles checks that every variant a built board runs has its
// defaults file in project. Variant names are safe file names: the matrix
// check passed each through rundir.CheckName.
func checkVariantFiles(f *File, project string) []error {
	var built []string
	for _, b := range f.Boards {
		if b.built() {
			built = append(built, b.Name)
		}
	}
	if len(built) == 0 {
		return nil
	}
	if project == "" {
		project = "firmware"
	}
	have, err := idf.ProjectVariants(project)
	if err != nil {
		return []error{fmt.Errorf("%s built from the firmware project's variants/<variant>.defaults: %w", boardsAre(built), err)}
	}
	var errs []error
	for _, v := range f.Variants {
		if slices.Contains(have, v.Name) {
			continue
		}
		if err := rundir.CheckName("variant", v.Name, rundir.MaxNameLen); err != nil {
			// Parse refuses such a name; a File built in code may have one.
			errs = append(errs, err)
			continue
		}
		var on []string
		for _, b := range built {
			if runsOn(f, v.Name, b) {
				on = append(on, b)
			}
		}
		if len(on) == 0 {
			continue
		}
		errs = append(errs, fmt.Errorf("variant %q: %s built from %q, which does not exist (the project has %s)",
			v.Name, boardsAre(on), filepath.Join(project, "variants", v.Name+".defaults"), listNames(have)))
	}
	return errs
}

// runsOn says whether some scenario runs variant v on board b (a
// scenario without variants or boards runs all of them). A File without
// scenarios runs everything.
func runsOn(f *File, v, b string) bool {
	if len(f.Scenarios) == 0 {
		return true
	}
	for _, s := range f.Scenarios {
		if (len(s.Variants) == 0 || slices.Contains(s.Variants, v)) && (len(s.Boards) == 0 || slices.Contains(s.Boards, b)) {
			return true
		}
	}
	return false
}

// boardsAre is `board "a" is` or `boards "a", "b" are`.
func boardsAre(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return "board " + q[0] + " is"
	}
	return "boards " + strings.Join(q, ", ") + " are"
}

// listNames lists a project's variants: file names on disk, so any name a
// matrix could not use is quoted.
func listNames(names []string) string {
	if len(names) == 0 {
		return "no variants/*.defaults"
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n
		if rundir.CheckName("", n, rundir.MaxNameLen) != nil {
			out[i] = fmt.Sprintf("%q", n)
		}
	}
	return strings.Join(out, ", ")
}

// built reports whether wsbench builds b's firmware with idf.py: a chip on
// a port or a QEMU board, unless flash: false.
func (b Board) built() bool {
	return (b.Port != "" || b.QEMU != "") && (b.Flash == nil || *b.Flash)
}
