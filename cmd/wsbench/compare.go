package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/charts"
	"github.com/wsbench/wsbench/rundir"
)

func newCompareCmd() *cobra.Command {
	var htmlOut, mdOut, junitOut string
	var failOn []string
	var alpha float64
	cmd := &cobra.Command{
		Use:   "compare BASE PR",
		Short: "Compare two runs (e.g. main and a PR branch) and gate on thresholds",
		Long: `Compare two runs cell group by cell group: old and new medians, delta %,
the Mann-Whitney U p-value as benchstat computes it ("~" when not
significant), and a verdict per variant. BASE and PR are run directories
(analysed afresh) or summary.json files.

The Markdown table (fit for a pull-request comment) is printed on stdout;
--md, --html and --junit also write it, an HTML page with overlays of both
runs, and JUnit XML.

--fail-on METRIC:LIMIT (repeatable, or comma-separated) makes wsbench exit
with status 1 when a gate fails:
  internal_free_steady:-1KB     steady free internal RAM may not drop by more than 1 KiB
  internal_free_steady:-2%      ... nor by more than 2%
  per_session_internal_cost:+512B
  leak_per_cycle:significant    no significant leak, and no significantly worse leak
A change past a limit fails only when it is significant, or when there are
too few repetitions to test it (then the change alone decides).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			th := analysis.DefaultThresholds()
			if cmd.Flags().Changed("alpha") {
				if !(alpha > 0 && alpha < 1) {
					return fmt.Errorf("--alpha %v: want a significance level between 0 and 1, e.g. 0.05", alpha)
				}
				th.Alpha = alpha
			}
			for _, f := range failOn {
				for _, part := range strings.Split(f, ",") {
					if strings.TrimSpace(part) == "" {
						continue
					}
					g, err := analysis.ParseGate(part)
					if err != nil {
						return err
					}
					th.Gates = append(th.Gates, g)
				}
			}
			ctx := cmd.Context()
			base, baseDir, err := loadSummary(ctx, args[0])
			if err != nil {
				return err
			}
			pr, prDir, err := loadSummary(ctx, args[1])
			if err != nil {
				return err
			}
			c := analysis.Compare(base, pr, th)
			if c.Base == "" || c.Base == c.PR {
				c.Base, c.PR = args[0], args[1] // name the runs by what the user typed
			}
			var md bytes.Buffer
			if err := analysis.WriteMarkdown(&md, c); err != nil {
				return err
			}
			if _, err := cmd.OutOrStdout().Write(md.Bytes()); err != nil {
				return err
			}
			if mdOut != "" {
				if err := os.WriteFile(mdOut, md.Bytes(), 0o644); err != nil {
					return fmt.Errorf("compare: %w", err)
				}
			}
			if junitOut != "" {
				var b bytes.Buffer
				if err := analysis.WriteJUnit(&b, c); err != nil {
					return err
				}
				if err := os.WriteFile(junitOut, b.Bytes(), 0o644); err != nil {
					return fmt.Errorf("compare: %w", err)
				}
			}
			if htmlOut != "" {
				if err := charts.WriteComparison(ctx, htmlOut, baseDir, prDir, base, pr, c, charts.Options{Log: cmd.ErrOrStderr()}); err != nil {
					return err
				}
			}
			if c.Failed() {
				return &exitError{code: 1, err: fmt.Errorf("%d gate failure(s):\n  %s", len(c.Failures), strings.Join(c.Failures, "\n  "))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&htmlOut, "html", "", "write an HTML comparison page to this file")
	cmd.Flags().StringVar(&mdOut, "md", "", "write the Markdown table to this file")
	cmd.Flags().StringVar(&junitOut, "junit", "", "write JUnit XML to this file")
	cmd.Flags().StringSliceVar(&failOn, "fail-on", nil, "gate METRIC:LIMIT, e.g. internal_free_steady:-1KB, internal_free_steady:-2%, leak_per_cycle:significant")
	cmd.Flags().Float64Var(&alpha, "alpha", 0, "significance level (default 0.05)")
	return cmd
}

// loadSummary returns the summary of a run directory (analysed afresh) or
// of a summary.json file, and the run directory ("" for a file).
func loadSummary(ctx context.Context, arg string) (*analysis.Summary, string, error) {
	fi, err := os.Stat(arg)
	if err != nil {
		return nil, "", err
	}
	if !fi.IsDir() {
		s, err := analysis.ReadSummary(arg)
		return s, "", err
	}
	if _, err := os.Stat(filepath.Join(arg, rundir.CellsDir)); errors.Is(err, fs.ErrNotExist) {
		s, err := analysis.ReadSummary(arg)
		return s, "", err
	}
	s, err := analysis.AnalyzeRun(ctx, arg)
	return s, arg, err
}
