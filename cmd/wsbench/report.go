package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/charts"
	"github.com/wsbench/wsbench/rundir"
)

func newReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report RUN",
		Short: "Analyse a run directory again: write summary.json and report.html",
		Long: `Analyse every cell of the run directory RUN and write RUN/summary.json
(figures with units, 95% intervals and sample counts) and RUN/report.html
(tables and charts; opens offline).

The echarts library is read from node_modules/echarts/dist/echarts.min.js
(found upward from the working directory or the wsbench source tree, or
named by $WSBENCH_ECHARTS); when it is missing and npm is on PATH, wsbench
runs "npm ci" where package-lock.json is.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := writeRunReport(cmd.Context(), args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
			return err
		},
	}
	return cmd
}

// writeRunReport analyses runDir and writes summary.json and report.html.
// The matrix runner calls it at the end of a run.
func writeRunReport(ctx context.Context, runDir string, stdout, stderr io.Writer) (*analysis.Summary, error) {
	if err := checkRunDir(runDir); err != nil {
		return nil, err
	}
	s, err := analysis.AnalyzeRun(ctx, runDir)
	if err != nil {
		return nil, err
	}
	if err := analysis.WriteSummary(runDir, s); err != nil {
		return s, err
	}
	if err := charts.WriteReportContext(ctx, runDir, s, charts.Options{Log: stderr}); err != nil {
		return s, err
	}
	printRunSummary(stdout, s)
	fmt.Fprintf(stdout, "\nreport:  %s\nsummary: %s\n", filepath.Join(runDir, rundir.ReportFile), filepath.Join(runDir, rundir.SummaryFile))
	return s, nil
}
