package main

import "github.com/spf13/cobra"

// subcommands lists the constructors of wsbench's subcommands, one file each.
var subcommands = []func() *cobra.Command{newBuildCmd, newFlashCmd, newServeCmd, newCollectCmd, newDecodeCmd, newSimCmd, newRunCmd, newMergeCmd, newReportCmd, newCompareCmd, newExportCmd}
