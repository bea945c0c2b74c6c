package idf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FlashOptions says which built variant to flash to which board.
type FlashOptions struct {
	Tool
	// Project, Target, Variant and BuildRoot name the build directory as in
	// BuildOptions.
	Project   string
	Target    string
	Variant   string
	BuildRoot string
	// ComponentPath is ignored: Flash writes what the build directory was
	// configured and built with, and passes no -D values, so idf.py cannot
	// reconfigure it into a different image on the way.
	ComponentPath string
	// Port is the board's serial port, e.g. /dev/ttyUSB0 or /dev/ttyACM0.
	Port string
	// Baud is the flashing baud rate; 0 leaves esptool's default (460800).
	Baud int
}

// portBusyText are esptool/pyserial messages for a port someone else holds.
var portBusyText = []string{
	"Device or resource busy",
	"port is busy",
	"Resource temporarily unavailable",
	"Could not exclusively lock port",
}

// Flash writes the variant's image (bootloader, partition table, app) to the
// board on Port. The variant must have been built.
func Flash(ctx context.Context, o FlashOptions) error {
	bo := BuildOptions{Tool: o.Tool, Project: o.Project, Target: o.Target, Variant: o.Variant, BuildRoot: o.BuildRoot}
	project, buildDir, err := bo.dirs()
	if err != nil {
		return fmt.Errorf("flash: %w", err)
	}
	if err := bo.validate(project); err != nil {
		return fmt.Errorf("flash: %w", err)
	}
	if o.Port == "" {
		return errors.New("flash: a serial port is required (--port)")
	}
	if o.Baud < 0 {
		return fmt.Errorf("flash: baud %d: must be positive", o.Baud)
	}
	// A network port (rfc2217://host:port, as esptool and idf.py accept it)
	// is passed through as it is; a device path must exist.
	if !strings.Contains(o.Port, "://") {
		if _, err := os.Stat(o.Port); err != nil {
			return fmt.Errorf("flash %s: %w: %v", o.Port, ErrNoPort, err)
		}
	}
	if _, err := os.Stat(filepath.Join(buildDir, "flasher_args.json")); err != nil {
		return fmt.Errorf("flash %s/%s: not built yet (no %s/flasher_args.json): run `wsbench build --target %s --variant %s` first",
			o.Target, o.Variant, buildDir, o.Target, o.Variant)
	}
	args := []string{"-C", project, "-B", buildDir, "-p", o.Port}
	if o.Baud > 0 {
		args = append(args, "-b", strconv.Itoa(o.Baud))
	}
	args = append(args, "flash")
	if _, err := o.Tool.run(ctx, "flash", project, args); err != nil {
		var te *ToolError
		if errors.As(err, &te) {
			for _, s := range portBusyText {
				if strings.Contains(te.Tail, s) {
					return fmt.Errorf("flash %s: %w (close any monitor, `wsbench run` or other program using it): %w", o.Port, ErrPortBusy, err)
				}
			}
		}
		return fmt.Errorf("flash %s/%s to %s: %w", o.Target, o.Variant, o.Port, err)
	}
	return nil
}
