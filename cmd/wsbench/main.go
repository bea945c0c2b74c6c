// Command wsbench measures where an ESP32 firmware's RAM goes: it runs
// benchmark matrices on real or virtual boards, captures their heap samples,
// and turns them into reports and A/B verdicts.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/wsbench/wsbench/internal/termsafe"
)

// version is the tool version, set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "wsbench:", safeError(err))
		os.Exit(exitCode(err))
	}
}

// exitError carries a specific exit code (compare --fail-on uses 1 for a
// failed gate; usage and I/O errors use 2).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode is the status for err: an exitError's code (also inside
// errors.Join), else 2.
func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return 2
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "wsbench",
		Short: "Measure where an ESP32 firmware's internal RAM goes under concurrent TLS sessions",
		Long: `Measure where an ESP32 firmware's internal RAM goes under concurrent TLS sessions.

Exit status (every command):
  0    success
  1    the measurement says no: 'run' had failed cells (unless
       --allow-failed-cells), 'compare' failed a gate or found cells that
       newly fail; the output says which, PASS or FAIL first
  2    usage, input or set-up error (bad flag, matrix or gate, unreadable
       file, missing tool)
  130  interrupted ('run --resume' continues)`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Each subcommand lives in its own file and registers here.
	for _, add := range subcommands {
		root.AddCommand(add())
	}
	return root
}

// safeError is err's text for the terminal: an error can quote a file or a
// board (a cell id from a run directory, a line of a matrix), so each of
// its lines passes the sanitiser.
func safeError(err error) string {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = termsafe.String(l)
	}
	return strings.Join(lines, "\n")
}
