package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"github.com/wsbench/wsbench/internal/termsafe"
	"github.com/wsbench/wsbench/rundir"
)

// lineProgress prints one line per finished cell: for logs and CI, where
// output is not a terminal.
type lineProgress struct {
	w     io.Writer
	mu    sync.Mutex
	total int
	done  int
	start time.Time
}

func (p *lineProgress) Start(total, done int) {
	p.total, p.done, p.start = total, done, time.Now()
	fmt.Fprintf(p.w, "running %d cells (%d already done)\n", total-done, done)
}

func (p *lineProgress) CellDone(c rundir.Cell, elapsed time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	line := fmt.Sprintf("[%*d/%d] %-6s %s (%.1fs)", len(fmt.Sprint(p.total)), p.done, p.total, c.Status, c.ID, elapsed.Seconds())
	if c.Reason != "" {
		line += ": " + termsafe.String(c.Reason)
	}
	fmt.Fprintln(p.w, line)
}

func (p *lineProgress) Finish() {
	fmt.Fprintf(p.w, "%d/%d cells in %.1fs\n", p.done, p.total, time.Since(p.start).Seconds())
}

// barProgress draws a progress bar with cell counts and an ETA on a terminal.
type barProgress struct {
	w      io.Writer
	p      *mpb.Progress
	bar    *mpb.Bar
	mu     sync.Mutex
	failed int
}

func (b *barProgress) Start(total, done int) {
	b.p = mpb.New(mpb.WithOutput(b.w), mpb.WithWidth(40))
	b.bar = b.p.AddBar(int64(total),
		mpb.PrependDecorators(decor.Name("cells "), decor.CountersNoUnit("%d/%d"),
			decor.Any(func(decor.Statistics) string {
				b.mu.Lock()
				defer b.mu.Unlock()
				if b.failed == 0 {
					return ""
				}
				return fmt.Sprintf(" (%d failed)", b.failed)
			})),
		mpb.AppendDecorators(decor.Elapsed(decor.ET_STYLE_GO), decor.Name(" ETA "),
			decor.AverageETA(decor.ET_STYLE_GO)),
	)
	b.bar.SetCurrent(int64(done))
}

func (b *barProgress) CellDone(c rundir.Cell, elapsed time.Duration) {
	if c.Status == rundir.StatusFailed {
		b.mu.Lock()
		b.failed++
		b.mu.Unlock()
		b.p.Write([]byte(fmt.Sprintf("failed %s: %s\n", c.ID, c.Reason)))
	}
	b.bar.EwmaIncrement(elapsed)
}

func (b *barProgress) Finish() {
	if !b.bar.Completed() {
		b.bar.Abort(false)
	}
	b.p.Wait()
}
