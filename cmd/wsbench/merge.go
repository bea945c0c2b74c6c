package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/wsbench/wsbench/matrix"
)

func newMergeCmd() *cobra.Command {
	var out string
	var noReport bool
	cmd := &cobra.Command{
		Use:   "merge --out DIR SHARD_DIR...",
		Short: "Combine the run directories of the shards of one matrix (wsbench run --shard i/n) into one run",
		Long: `Combine shards into one run directory.

Every shard must come from the same matrix and the same wsbench version; a
missing shard, a shard given twice, a cell in two shards, or a cell of the
matrix that no shard ran is refused with a message naming it. The shards are
copied, not moved. The merged run gets its summary.json and report.html
(--no-report skips them); 'wsbench compare' works on it as on any other.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			man, err := matrix.Merge(out, args)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "merged %d shards, %d cells, into %s\n", len(man.MergedFrom), man.Cells, out)
			if noReport {
				fmt.Fprintf(cmd.OutOrStdout(), "next: wsbench report %s\n", out)
				return nil
			}
			if _, err := writeRunReport(cmd.Context(), out, cmd.OutOrStdout(), cmd.ErrOrStderr()); err != nil {
				return fmt.Errorf("merged into %s, but its report failed (run wsbench report %s again): %w", out, out, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the merged run directory to create")
	cmd.Flags().BoolVar(&noReport, "no-report", false, "skip summary.json and report.html")
	return cmd
}
