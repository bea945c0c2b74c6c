package analysis

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// Mark is something to flag on a timeline.
type Mark struct {
	T    float64 // seconds since the cell's first record (host clock)
	Kind string  // reset, watchdog, panic, stack_overflow
	Text string  // board-supplied detail (task name, reset reason): untrusted
}

// Timeline is a cell's internal free RAM over host time, every sample, for
// display. Unlike AnalyzeCell it holds the whole series (16 bytes a sample).
type Timeline struct {
	T            []float64 // seconds since the cell's first record
	InternalFree []float64 // bytes
	Marks        []Mark
}

// ReadTimeline reads the internal free RAM series and the resets and
// watchdog triggers of one cell directory. Host time is used because a
// board's clock restarts at every reset. A stream cut short returns what
// came before the cut and no error.
func ReadTimeline(ctx context.Context, cellDir string) (*Timeline, error) {
	path := filepath.Join(cellDir, rundir.RecordsFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	defer f.Close()
	rd := record.NewReader(f, path)
	tl := &Timeline{}
	var t0 int64
	first := true
	var s wire.Sample
	for i := 0; ; i++ {
		if i&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		env, _, err := rd.NextEnvelope()
		if err == io.EOF {
			break
		}
		if err != nil {
			break // cut short: keep what came before
		}
		if first {
			t0, first = env.HostNS, false
		}
		t := float64(env.HostNS-t0) / 1e9
		if env.Type == record.TypeSample {
			s = wire.Sample{}
			if wire.DecodeInto(&s, env.Body) == nil {
				tl.T = append(tl.T, t)
				tl.InternalFree = append(tl.InternalFree, float64(s.InternalFree))
			}
			continue
		}
		switch env.Type {
		case record.TypeReset, record.TypeWatchdog, record.TypePanic, record.TypeStackOverflow, record.TypeEvent:
		default:
			continue
		}
		rec, err := record.Decode(*env)
		if err != nil {
			continue
		}
		switch b := rec.Body.(type) {
		case *record.Reset:
			if len(tl.T) > 0 { // the boot before the run is not a reset of the run
				tl.Marks = append(tl.Marks, Mark{T: t, Kind: "reset", Text: b.Class})
			}
		case *record.Watchdog:
			tl.Marks = append(tl.Marks, Mark{T: t, Kind: "watchdog", Text: fmt.Sprint(b.Starving)})
		case *record.Panic:
			tl.Marks = append(tl.Marks, Mark{T: t, Kind: "panic", Text: b.Cause})
		case *record.StackOverflow:
			tl.Marks = append(tl.Marks, Mark{T: t, Kind: "stack_overflow", Text: b.Task})
		case *wire.Event:
			if b.Kind == wire.EventWatchdogWarning {
				tl.Marks = append(tl.Marks, Mark{T: t, Kind: "watchdog", Text: b.Name})
			}
		}
	}
	return tl, nil
}
