package analysis

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/wsbench/wsbench/analysis/stats"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// Mark is something to flag on a timeline.
type Mark struct {
	T    float64 // timeline seconds of the last sample before the mark
	Kind string  // reset, watchdog, panic, stack_overflow
	Text string  // board-supplied detail (task name, reset reason): untrusted
}

// Timeline is a cell's internal free RAM over the board's clock, for
// display: every sample up to 2*timelineKeep, LTTB-downsampled beyond.
type Timeline struct {
	// T is seconds of board time (Sample.t_us) since the first sample; when
	// the board's clock restarts (a reset) the axis continues from the last
	// sample before it.
	T            []float64
	InternalFree []float64 // bytes
	Marks        []Mark
}

// timelineKeep bounds a timeline's memory: past twice this many points it
// is downsampled (LTTB) to this many, so a capture of any length needs at
// most 2*timelineKeep*16 bytes. Display needs far fewer points.
const timelineKeep = 1 << 17

func (tl *Timeline) compact() {
	idx := stats.LTTB(tl.T, tl.InternalFree, timelineKeep)
	for i, k := range idx {
		tl.T[i], tl.InternalFree[i] = tl.T[k], tl.InternalFree[k]
	}
	tl.T, tl.InternalFree = tl.T[:len(idx)], tl.InternalFree[:len(idx)]
}

// addWatchdog adds a watchdog mark unless the last mark is the same trigger
// reported the other way (console report and event at the same sample).
func (tl *Timeline) addWatchdog(m Mark) {
	if n := len(tl.Marks); n > 0 && tl.Marks[n-1].Kind == "watchdog" && tl.Marks[n-1].T == m.T {
		tl.Marks[n-1].Text += "; " + m.Text
		return
	}
	tl.Marks = append(tl.Marks, m)
}

// ReadTimeline reads the internal free RAM series and the resets and
// watchdog triggers of one cell directory. The board's clock is used (a
// virtual board runs faster than the host clock, and the host stamps bytes
// when they are read, not when they were measured). A stream cut short
// returns what came before the cut and no error.
func ReadTimeline(ctx context.Context, cellDir string) (*Timeline, error) {
	path := filepath.Join(cellDir, rundir.RecordsFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	defer f.Close()
	rd := record.NewReader(f, path)
	tl := &Timeline{}
	var s wire.Sample
	var segStart, lastUS uint64 // board time of this boot's first sample and of the last sample
	var offset, t float64
	first := true
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
		if env.Type == record.TypeSample {
			s = wire.Sample{}
			if wire.DecodeInto(&s, env.Body) != nil {
				continue
			}
			switch {
			case first:
				segStart, first = s.TimeUS, false
			case s.TimeUS < lastUS:
				// The clock went back: a new boot continues the axis.
				offset, segStart = t, s.TimeUS
			}
			lastUS = s.TimeUS
			t = offset + float64(s.TimeUS-segStart)/1e6
			tl.T = append(tl.T, t)
			tl.InternalFree = append(tl.InternalFree, float64(s.InternalFree))
			if len(tl.T) >= 2*timelineKeep {
				tl.compact()
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
			if !first { // the boot before the run is not a reset of the run
				tl.Marks = append(tl.Marks, Mark{T: t, Kind: "reset", Text: b.Class})
			}
		case *record.Watchdog:
			tl.addWatchdog(Mark{T: t, Kind: "watchdog", Text: fmt.Sprint(b.Starving)})
		case *record.Panic:
			tl.Marks = append(tl.Marks, Mark{T: t, Kind: "panic", Text: b.Cause})
		case *record.StackOverflow:
			tl.Marks = append(tl.Marks, Mark{T: t, Kind: "stack_overflow", Text: b.Task})
		case *wire.Event:
			if b.Kind == wire.EventWatchdogWarning {
				tl.addWatchdog(Mark{T: t, Kind: "watchdog", Text: b.Name})
			}
		}
	}
	return tl, nil
}
