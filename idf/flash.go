package idf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// FlashOptions says which built variant to flash to which board.
type FlashOptions struct {
	Tool
	// Project, Target, Variant, ComponentPath, Behaviour, PeerCA and
	// BuildRoot name the build as in BuildOptions (the same values, so that
	// idf.py does not reconfigure).
	Project       string
	Target        string
	Variant       string
	ComponentPath string
	Behaviour     string
	PeerCA        string
	BuildRoot     string
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
	bo := BuildOptions{Tool: o.Tool, Project: o.Project, Target: o.Target, Variant: o.Variant,
		ComponentPath: o.ComponentPath, Behaviour: o.Behaviour, PeerCA: o.PeerCA, BuildRoot: o.BuildRoot}
	b, err := bo.resolve()
	if err != nil {
		return fmt.Errorf("flash: %w", err)
	}
	if o.Port == "" {
		return errors.New("flash: a serial port is required (--port)")
	}
	if o.Baud < 0 {
		return fmt.Errorf("flash: baud %d: must be positive", o.Baud)
	}
	if _, err := os.Stat(o.Port); err != nil {
		return fmt.Errorf("flash %s: %w: %v", o.Port, ErrNoPort, err)
	}
	if _, err := os.Stat(filepath.Join(b.buildDir, "flasher_args.json")); err != nil {
		return fmt.Errorf("flash %s/%s: not built yet (no %s/flasher_args.json): run `wsbench build --target %s --variant %s` first",
			o.Target, o.Variant, b.buildDir, o.Target, o.Variant)
	}
	args := b.commonArgs()
	args = append(slices.Clone(args), "-p", o.Port)
	if o.Baud > 0 {
		args = append(args, "-b", strconv.Itoa(o.Baud))
	}
	args = append(args, "flash")
	if _, err := o.Tool.run(ctx, "flash", b.project, args); err != nil {
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
