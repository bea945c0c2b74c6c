package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/wsbench/wsbench/matrix"
)

func newMergeCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "merge --out DIR SHARD_DIR...",
		Short: "Combine the run directories of the shards of one matrix (wsbench run --shard i/n) into one run",
		Long: `Combine shards into one run directory.

Every shard must come from the same matrix and the same wsbench version; a
missing shard, a shard given twice, a cell in two shards, or a cell of the
matrix that no shard ran is refused with a message naming it. The shards are
copied, not moved. 'wsbench report' and 'wsbench compare' work on the merged
run as on any other.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			man, err := matrix.Merge(out, args)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "merged %d shards, %d cells, into %s\nnext: wsbench report %s\n", len(man.MergedFrom), man.Cells, out, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the merged run directory to create")
	return cmd
}
