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
	var allowFailed bool
	cmd := &cobra.Command{
		Use:   "compare BASE PR | compare RUN",
		Short: "Compare two runs (e.g. main and a PR branch) and gate on thresholds",
		Long: `Compare two runs cell group by cell group: base and PR medians in one
unit per table, the change absolute and relative, the Mann-Whitney U
p-value as benchstat computes it ("~" when not significant), and a verdict
per variant. Cells that failed are listed with their reasons, counted and
never tested. BASE and PR are run directories (analysed afresh) or
summary.json files.

The Markdown (fit for a pull-request comment and a CI log; its first line
after the title says PASS or FAIL) is printed on stdout; --md, --html and
--junit also write it, an HTML page with overlays of both runs, and JUnit
XML whose failures are exactly the reasons for exit status 1.

` + analysis.GateSyntax + `

Exit status:
  0  PASS: every gate passes and no cell fails in the PR that did not fail
     in the base
  1  FAIL: a gate failed, or cells fail in the PR that did not in the base
     (--allow-failed-cells: reported, not failed), or gates were given and
     no cell group of BASE matches one of PR
  2  usage or input error (bad flag or gate, unreadable run)

With one run, compare judges its variants against its baseline variant
(the matrix's baseline_variant, default int): the verdict lines and a
Markdown table of internal RAM freed per N and the fitted costs, with 95%
intervals and Mann-Whitney p (exit 0; gates apply to two runs).`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return compareVariants(cmd.Context(), cmd.OutOrStdout(), args[0])
			}
			th := analysis.DefaultThresholds()
			if cmd.Flags().Changed("alpha") {
				if !(alpha > 0 && alpha < 1) {
					return fmt.Errorf("--alpha %v: want a significance level between 0 and 1, e.g. 0.05", alpha)
				}
				th.Alpha = alpha
			}
			th.AllowFailedCells = allowFailed
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
				return &exitError{code: 1, err: fmt.Errorf("compare: %s\n  %s", c.Headline(), strings.Join(c.Failures, "\n  "))}
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "wsbench compare:", c.Headline())
			return nil
		},
	}
	cmd.Flags().StringVar(&htmlOut, "html", "", "write an HTML comparison page to this file")
	cmd.Flags().StringVar(&mdOut, "md", "", "write the Markdown table to this file")
	cmd.Flags().StringVar(&junitOut, "junit", "", "write JUnit XML to this file")
	cmd.Flags().StringSliceVar(&failOn, "fail-on", nil, "gate: METRIC:-CHANGE, METRIC:+CHANGE, METRIC:-P%, METRIC:significant, METRIC<FLOOR or METRIC>CEILING, e.g. internal_free_steady:-1KB, ws_stack_hwm<512B")
	cmd.Flags().BoolVar(&allowFailed, "allow-failed-cells", false, "report cells that newly fail in the PR without failing the comparison")
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
		if _, serr := os.Stat(filepath.Join(arg, rundir.SummaryFile)); serr != nil {
			return nil, "", checkRunDir(arg)
		}
		s, err := analysis.ReadSummary(arg)
		return s, "", err
	}
	s, err := analysis.AnalyzeRun(ctx, arg)
	return s, arg, err
}
