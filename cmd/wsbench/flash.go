package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/wsbench/wsbench/idf"
)

func newFlashCmd() *cobra.Command {
	var o idf.FlashOptions
	cmd := &cobra.Command{
		Use:   "flash --target esp32s3|esp32 --variant NAME --port PORT",
		Short: "Flash a built firmware variant to a board with idf.py",
		Long: `Flash a variant built with 'wsbench build' to the board on --port.

It writes exactly what build/<target>/<variant> was configured and built with.

The port must not be held by another program (a serial monitor, 'wsbench run');
a busy port is reported as such with the tail of esptool's output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Output = cmd.ErrOrStderr()
			if err := idf.Flash(cmd.Context(), o); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "flashed %s/%s to %s\n", o.Target, o.Variant, o.Port)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Target, "target", "esp32s3", "chip: "+strings.Join(idf.Targets(), " or "))
	f.StringVar(&o.Variant, "variant", "", "firmware variant (variants/<name>.defaults)")
	f.StringVar(&o.Port, "port", "", "serial port of the board, e.g. /dev/ttyUSB0")
	f.IntVar(&o.Baud, "baud", 0, "flashing baud rate (default: esptool's)")
	f.StringVar(&o.Project, "project", "firmware", "ESP-IDF project directory")
	f.StringVar(&o.BuildRoot, "build-root", "", "directory for build/<target>/<variant> (default <project>/build)")
	f.StringVar(&o.IDFPy, "idf-py", "", "idf.py to run (default: from PATH, then $IDF_PATH/tools)")
	_ = cmd.MarkFlagRequired("variant")
	_ = cmd.MarkFlagRequired("port")
	return cmd
}
