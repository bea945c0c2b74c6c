package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/wsbench/wsbench/analysis"
)

func newExportCmd() *cobra.Command {
	var benchfmt bool
	var out string
	cmd := &cobra.Command{
		Use:   "export --benchfmt RUN",
		Short: "Write a run's figures in Go benchmark format for benchstat",
		Long: `Analyse the run directory RUN (or read a summary.json) and write its
figures in the Go benchmark format, one line per cell with custom units
(internal-free-B, ws-stack-hwm-B, psram-used-B, ...), so that

  wsbench export --benchfmt base > base.txt
  wsbench export --benchfmt pr > pr.txt
  benchstat base.txt pr.txt

compares two runs with benchstat itself.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !benchfmt {
				return errors.New("export: choose a format (--benchfmt)")
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
	cmd.Flags().BoolVar(&benchfmt, "benchfmt", false, "Go benchmark format (golang.org/x/perf/benchfmt)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return cmd
}
