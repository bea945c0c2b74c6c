package matrix

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/wsbench/wsbench/idf"
)

// placeholder matches a value an example matrix leaves to be filled in,
// such as "@PORT@".
var placeholder = regexp.MustCompile(`^@[A-Za-z0-9_]+@$`)

// CheckHardware checks, before a run starts anything, what every real
// board needs: a port that is not an example's placeholder, and idf.py to
// build and flash its firmware (unless flash: false). A missing tool is one
// error now rather than one failed cell per cell later.
func CheckHardware(f *File, tool idf.Tool) error {
	var errs []error
	build := false
	for _, b := range f.Boards {
		if b.Port == "" {
			continue
		}
		if placeholder.MatchString(b.Port) {
			errs = append(errs, fmt.Errorf("board %q: port %q is a placeholder: set it to the board's serial port (e.g. /dev/ttyACM0, auto, rfc2217://lab-host:4001)", b.Name, b.Port))
		}
		if b.Flash == nil || *b.Flash {
			build = true
		}
	}
	if build {
		if _, err := tool.Locate(); err != nil {
			errs = append(errs, fmt.Errorf("real boards are built and flashed with idf.py: %w", err))
		}
	}
	return errors.Join(errs...)
}
