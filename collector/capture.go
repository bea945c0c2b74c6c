package collector

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

// Options configure a capture.
type Options struct {
	// Dir is the capture directory. It is created if needed and must not
	// already hold a raw.bin.
	Dir string
	// Source describes what is captured (port and baud), for capture.json.
	Source string
	// OnRecord, when set, receives every record in order, from a delivery
	// goroutine of its own and outside the capture's locks: it may call
	// Send (not Stop or Close). Reading never waits for it: while it
	// blocks, records queue in memory. The capture ends (Done, Wait, Stop)
	// only after it has returned for the last record.
	OnRecord func(record.Record)
	// FlushInterval is how often buffered files are flushed (default 1 s).
	FlushInterval time.Duration
	// MaxBackoff caps the wait between attempts to reopen a lost port
	// (default 5 s; the first wait is 100 ms, doubling).
	MaxBackoff time.Duration
	// BlockTimeout is how long a multi-line console block (watchdog,
	// panic) may wait for more lines before it is emitted (default 1 s).
	BlockTimeout time.Duration
	// NoSync skips fsync of raw.bin: for captures whose source is already
	// on disk (a file replayed, a test), where a crash loses nothing.
	NoSync bool
	// Secrets are replaced by '*' in the byte stream before anything is
	// written (see redact.go); Send adds the secret arguments it sends.
	Secrets []string
}

// Info is the content of capture.json.
type Info struct {
	Source  string    `json:"source"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
	Stats   Stats     `json:"stats"`
	// Redacted counts the occurrences of a secret replaced in the stream
	// (redact.go): raw.bin differs from the bytes received there only.
	Redacted int64  `json:"redacted,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Capture reads a port into a capture directory: raw.bin (every byte, written
// before it is decoded), raw.idx (host time of each read, and the events
// that replay needs), records.msgp, console.log and, at the end,
// capture.json.
type Capture struct {
	opt    Options
	open   Opener
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	port    *ownedPort // nil while the port is lost
	pl      *pipeline
	raw     *os.File
	idxF    *os.File
	idx     *bufio.Writer
	recF    *os.File
	rec     *record.Writer
	conF    *os.File
	con     *bufio.Writer
	queue   []record.Record
	wake    chan struct{} // a record was queued
	ending  bool          // no more records will be queued
	closing bool          // finish has begun: files are closing
	drained chan struct{} // the delivery goroutine has delivered the last record
	werr    error         // first error writing an output file
	err     error         // why the capture ended, if it failed
	started time.Time
	ended   time.Time
	tsBuf   []byte
	red     redactor
}

// ownedPort closes its port once, whoever asks first.
type ownedPort struct {
	Port
	once sync.Once
	err  error
}

func (o *ownedPort) Close() error {
	o.once.Do(func() { o.err = o.Port.Close() })
	return o.err
}

// Start opens the port and starts capturing into opt.Dir until ctx is
// cancelled, Stop is called, or a file source ends. It fails if the port
// cannot be opened the first time or the directory cannot be written.
func Start(ctx context.Context, open Opener, opt Options) (*Capture, error) {
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 5 * time.Second
	}
	if opt.BlockTimeout <= 0 {
		opt.BlockTimeout = time.Second
	}
	if opt.Dir == "" {
		return nil, errors.New("capture: no output directory")
	}
	rawPath := filepath.Join(opt.Dir, rundir.RawFile)
	if _, err := os.Stat(rawPath); err == nil {
		return nil, fmt.Errorf("capture: %s already exists; use a new directory", rawPath)
	}
	p, err := open(ctx)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		p.Close()
		return nil, fmt.Errorf("capture: %w", err)
	}
	c := &Capture{opt: opt, open: open, done: make(chan struct{}), port: &ownedPort{Port: p}, started: time.Now(),
		wake: make(chan struct{}, 1), drained: make(chan struct{})}
	files := []struct {
		f    **os.File
		name string
	}{{&c.raw, rundir.RawFile}, {&c.idxF, rundir.IndexFile}, {&c.recF, rundir.RecordsFile}, {&c.conF, rundir.ConsoleFile}}
	for _, f := range files {
		*f.f, err = os.OpenFile(filepath.Join(opt.Dir, f.name), os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_EXCL, 0o644)
		if err != nil {
			c.closeFiles()
			p.Close()
			return nil, fmt.Errorf("capture: %w", err)
		}
	}
	for _, sec := range opt.Secrets {
		c.red.add(sec)
	}
	c.idx = bufio.NewWriterSize(c.idxF, 32<<10)
	c.rec = record.NewWriter(c.recF)
	c.con = bufio.NewWriterSize(c.conF, 32<<10)
	c.pl = newPipeline(c.emit)
	ctx, c.cancel = context.WithCancel(ctx)
	go c.deliver()
	go c.maintain()
	go c.run(ctx)
	go func() {
		// Unblock a Read that does not time out.
		select {
		case <-ctx.Done():
			c.mu.Lock()
			if c.port != nil {
				c.port.Close()
			}
			c.mu.Unlock()
		case <-c.done:
		}
	}()
	return c, nil
}

// Done is closed when the capture has ended and every file is closed.
func (c *Capture) Done() <-chan struct{} { return c.done }

// Wait waits for the capture to end and returns its counters and the error
// that ended it, if any (cancellation is not an error).
func (c *Capture) Wait() (Stats, error) {
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pl.Stats(), c.err
}

// Stop ends the capture, flushing everything, and waits for it.
func (c *Capture) Stop() (Stats, error) {
	c.cancel()
	return c.Wait()
}

// Close ends the capture like Stop and returns the error that ended it.
func (c *Capture) Close() error {
	_, err := c.Stop()
	return err
}

// Stats returns the counters so far.
func (c *Capture) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pl.Stats()
}

// Send writes cmd to the board as one line. It fails while the port is lost.
// The command is recorded (a "command" note, with secrets redacted).
func (c *Capture) Send(cmd wire.Command) error {
	line := cmd.String()
	if len(line) > wire.MaxCommandLine {
		return fmt.Errorf("send %s: line of %d bytes exceeds %d", cmd.Name, len(line), wire.MaxCommandLine)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
		return fmt.Errorf("send %s: capture has ended", cmd.Name)
	default:
	}
	if c.port == nil {
		return fmt.Errorf("send %s: port lost, reopening", cmd.Name)
	}
	// Before the board can echo it: from here on the secret is redacted
	// from the stream.
	for _, a := range cmd.Args {
		if secretArg(a.Key) {
			c.red.add(a.Value)
		}
	}
	// The write holds c.mu (the "tx" event must sit at this point of the
	// stream), so every Port must bound it: a UART drains at its baud rate,
	// socket ports have a write deadline, rfc2217 ports opened by
	// matrix.PortOpener a WriteTimeout. A stuck write would stall the
	// capture and Stop.
	if _, err := c.port.Write([]byte(line + "\n")); err != nil {
		return fmt.Errorf("send %s: %w", cmd.Name, err)
	}
	c.eventLocked(evSent, redact(cmd), time.Now().UnixNano())
	return nil
}

// AddSecret registers a secret to redact from everything the capture
// writes from now on (redact.go).
func (c *Capture) AddSecret(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.red.add(s)
}

// redact formats cmd for the record with secret values replaced.
func redact(cmd wire.Command) string {
	r := wire.Command{Name: cmd.Name}
	for _, a := range cmd.Args {
		if secretArg(a.Key) {
			a.Value = "REDACTED"
		}
		r.Args = append(r.Args, a)
	}
	return r.String()
}

// eventLocked records an event in raw.idx and applies it.
func (c *Capture) eventLocked(kind, text string, ns int64) {
	off := c.pl.offset()
	if _, err := fmt.Fprintf(c.idx, "%d %d %s %s\n", off, ns, kind, strconv.Quote(text)); err != nil && c.werr == nil {
		c.werr = fmt.Errorf("write %s: %w", rundir.IndexFile, err)
	}
	if err := c.pl.event(kind, text, ns); err != nil && c.werr == nil {
		c.werr = err
	}
}

// emit writes one record (called by the pipeline with c.mu held).
func (c *Capture) emit(r record.Record, payload []byte) {
	if err := WriteRecord(c.rec, r, payload); err != nil && c.werr == nil {
		c.werr = fmt.Errorf("write %s: %w", rundir.RecordsFile, err)
	}
	switch b := r.Body.(type) {
	case *record.Console:
		c.logLine(r.HostNS, "", b.Text)
	case *record.Note:
		c.logLine(r.HostNS, "[wsbench] "+b.Kind+": ", b.Text)
	}
	if c.opt.OnRecord != nil {
		c.queue = append(c.queue, r)
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// logLine appends "timestamp prefix text" to console.log.
func (c *Capture) logLine(ns int64, prefix, text string) {
	c.tsBuf = time.Unix(0, ns).UTC().AppendFormat(c.tsBuf[:0], "2006-01-02T15:04:05.000000000Z07:00")
	c.tsBuf = append(c.tsBuf, ' ')
	c.tsBuf = append(c.tsBuf, prefix...)
	c.tsBuf = append(c.tsBuf, text...)
	c.tsBuf = append(c.tsBuf, '\n')
	if _, err := c.con.Write(c.tsBuf); err != nil && c.werr == nil {
		c.werr = fmt.Errorf("write %s: %w", rundir.ConsoleFile, err)
	}
}

// deliver hands queued records to OnRecord, in order, outside the lock.
func (c *Capture) deliver() {
	defer close(c.drained)
	for {
		c.mu.Lock()
		q, ending := c.queue, c.ending
		c.queue = nil
		c.mu.Unlock()
		for _, r := range q {
			c.opt.OnRecord(r)
		}
		if len(q) > 0 {
			continue
		}
		if ending {
			return
		}
		<-c.wake
	}
}

func (c *Capture) run(ctx context.Context) {
	buf := make([]byte, 64<<10)
	var runErr error
	for ctx.Err() == nil {
		c.mu.Lock()
		port := c.port
		c.mu.Unlock()
		if port == nil {
			if !c.reopen(ctx) {
				break
			}
			continue
		}
		n, err := port.Read(buf)
		now := time.Now()
		if n > 0 {
			c.mu.Lock()
			werr := c.chunkLocked(buf[:n], now.UnixNano())
			c.mu.Unlock()
			if werr != nil {
				runErr = werr
				break
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, io.EOF) {
				break // a file source ended
			}
			c.mu.Lock()
			// What was held back cannot continue across a lost port.
			if held := c.red.flush(); len(held) > 0 {
				if werr := c.writeLocked(held, now.UnixNano()); werr != nil && c.werr == nil {
					c.werr = werr
				}
			}
			c.eventLocked(evLost, err.Error(), now.UnixNano())
			c.port = nil
			c.mu.Unlock()
			port.Close()
		}
		c.mu.Lock()
		werr := c.werr
		c.mu.Unlock()
		if werr != nil {
			runErr = werr
			break
		}
	}
	c.finish(runErr)
}

// maintain flushes the files every FlushInterval and emits a console block
// that has waited BlockTimeout for more lines, whether or not reads return.
func (c *Capture) maintain() {
	tick := time.NewTicker(min(c.opt.FlushInterval, c.opt.BlockTimeout, 50*time.Millisecond))
	defer tick.Stop()
	lastFlush := time.Now()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
		}
		now := time.Now()
		c.mu.Lock()
		if c.closing {
			c.mu.Unlock()
			return
		}
		if open, last := c.pl.cls.Pending(); open && now.UnixNano()-last >= int64(c.opt.BlockTimeout) {
			c.eventLocked(evExpire, "", now.UnixNano())
		}
		if now.Sub(lastFlush) >= c.opt.FlushInterval {
			lastFlush = now
			if err := c.flushLocked(true); err != nil && c.werr == nil {
				c.werr = err
			}
		}
		failed := c.werr != nil
		c.mu.Unlock()
		if failed {
			c.cancel() // run sees the write error and ends the capture
		}
	}
}

// chunkLocked stores one read: raw bytes first, then the index line, then
// decoding. Secrets are redacted first (redact.go); the end of a read that
// could begin a secret waits for the next read.
func (c *Capture) chunkLocked(b []byte, ns int64) error {
	if c.red.active() {
		if b = c.red.process(b); len(b) == 0 {
			return nil
		}
	}
	return c.writeLocked(b, ns)
}

// writeLocked stores bytes that are ready: raw.bin, raw.idx, then decoding.
func (c *Capture) writeLocked(b []byte, ns int64) error {
	off := c.pl.offset()
	if _, err := c.raw.Write(b); err != nil {
		return fmt.Errorf("write %s at byte %d: %w", rundir.RawFile, off, err)
	}
	if _, err := fmt.Fprintf(c.idx, "%d %d\n", off, ns); err != nil {
		return fmt.Errorf("write %s: %w", rundir.IndexFile, err)
	}
	c.pl.feed(b, ns)
	return nil
}

// reopen tries to open the port again with exponential backoff until it
// succeeds (true) or ctx ends (false).
func (c *Capture) reopen(ctx context.Context) bool {
	wait := 100 * time.Millisecond
	var lastErr error
	for attempt := 1; ; attempt++ {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		p, err := c.open(ctx)
		if err == nil {
			c.mu.Lock()
			c.port = &ownedPort{Port: p}
			text := fmt.Sprintf("reopened at attempt %d", attempt)
			if lastErr != nil {
				text += fmt.Sprintf(" (last failure: %v)", lastErr)
			}
			c.eventLocked(evReopened, text, time.Now().UnixNano())
			c.mu.Unlock()
			if ctx.Err() != nil {
				p.Close()
			}
			return true
		}
		lastErr = err
		wait = min(wait*2, c.opt.MaxBackoff)
	}
}

// flushLocked pushes buffered output to the files; with sync, raw.bin is
// also synced to stable storage.
func (c *Capture) flushLocked(sync bool) error {
	var errs []error
	if err := c.idx.Flush(); err != nil {
		errs = append(errs, fmt.Errorf("write %s: %w", rundir.IndexFile, err))
	}
	if err := c.rec.Flush(); err != nil {
		errs = append(errs, fmt.Errorf("write %s: %w", rundir.RecordsFile, err))
	}
	if err := c.con.Flush(); err != nil {
		errs = append(errs, fmt.Errorf("write %s: %w", rundir.ConsoleFile, err))
	}
	if sync && !c.opt.NoSync {
		if err := c.raw.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("sync %s: %w", rundir.RawFile, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Capture) finish(runErr error) {
	c.mu.Lock()
	c.closing = true
	if held := c.red.flush(); len(held) > 0 {
		if err := c.writeLocked(held, time.Now().UnixNano()); err != nil && runErr == nil {
			runErr = err
		}
	}
	c.pl.close()
	if err := c.flushLocked(true); err != nil && runErr == nil {
		runErr = err
	}
	if c.werr != nil && runErr == nil {
		runErr = c.werr
	}
	if err := c.closeFiles(); err != nil && runErr == nil {
		runErr = err
	}
	if c.port != nil {
		c.port.Close()
	}
	c.ended = time.Now()
	info := Info{Source: c.opt.Source, Started: c.started, Ended: c.ended, Stats: c.pl.Stats(), Redacted: c.red.count}
	if runErr != nil {
		info.Error = runErr.Error()
	}
	if err := rundir.WriteJSON(filepath.Join(c.opt.Dir, rundir.CaptureFile), info); err != nil && runErr == nil {
		runErr = err
	}
	c.err = runErr
	c.ending = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.drained
	close(c.done)
}

func (c *Capture) closeFiles() error {
	var errs []error
	for _, f := range []*os.File{c.raw, c.idxF, c.recF, c.conF} {
		if f != nil {
			if err := f.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
