package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/wsbench/wsbench/analysis"
)

func newExportCmd() *cobra.Command {
	var benchfmt bool
	var out string
	cmd := &cobra.Command{
		Use:   "export [--benchfmt] RUN",
		Short: "Write a run's figures in Go benchmark format for benchstat",
		Long: `Analyse the run directory RUN (or read a summary.json) and write its
figures in the Go benchmark format, one line per cell with custom units
(internal-free-B, ws-stack-hwm-B, psram-used-B, ...), so that

  wsbench export base > base.txt
  wsbench export pr > pr.txt
  benchstat base.txt pr.txt

compares two runs with benchstat itself. The Go benchmark format is the only
format (--benchfmt says so explicitly). A failed cell is a line with
"1 failed-cells" and no figures, its reason a comment above the results;
fits across N are left out (one value per variant has no interval: see
summary.json or wsbench compare).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !benchfmt {
				return fmt.Errorf("export: --benchfmt=false leaves no format: the Go benchmark format is the only one")
			}
			s, _, err := loadSummary(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return fmt.Errorf("export: %w", err)
				}
				defer f.Close()
				w = f
			}
			bw := bufio.NewWriter(w)
			if err := analysis.WriteBenchfmt(bw, s); err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			if f, ok := w.(*os.File); ok && out != "" {
				return f.Close()
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&benchfmt, "benchfmt", true, "Go benchmark format (golang.org/x/perf/benchfmt), the only format and the default")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return cmd
}
