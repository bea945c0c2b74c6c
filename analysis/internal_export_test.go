package analysis

import (
	"context"
	"io"

	"github.com/wsbench/wsbench/rundir"
)

// AnalyzeRecords lets the external tests analyse a cell's record stream
// held in memory, as AnalyzeCell does with the records file of cellDir.
func AnalyzeRecords(ctx context.Context, r io.Reader, cellDir string, cell rundir.Cell) (CellResult, error) {
	return analyzeRecords(ctx, r, cellDir, newCellResult(cell))
}
