package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/wsbench/wsbench/rundir"
)

// checkRunDir explains what dir is when it is not a run directory of
// 'wsbench run': a capture of 'wsbench collect' or a cell directory holds
// raw.bin and records.msgp but no cells/, and analysis would only say that
// cells/ does not exist.
func checkRunDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, rundir.CellsDir)); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	for _, f := range []string{rundir.RecordsFile, rundir.RawFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return fmt.Errorf("%s is one board's capture (it holds %s, no %s/), not a run directory: report and compare analyse runs of 'wsbench run' (a matrix file, virtual or real boards: see examples/matrix-hardware.yaml); print this capture's records with 'wsbench decode %s' (add --json for scripts)",
				dir, f, rundir.CellsDir, filepath.Join(dir, f))
		}
	}
	return fmt.Errorf("%s is not a run directory: it has no %s/ (give results/RUN, made by 'wsbench run')", dir, rundir.CellsDir)
}
