package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/wsbench/wsbench/collector"
	"github.com/wsbench/wsbench/matrix"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
)

func newCollectCmd() *cobra.Command {
	var (
		port     string
		baud     int
		out      string
		duration time.Duration
		sends    []string
		reset    bool
		quiet    bool
	)
	cmd := &cobra.Command{
		Use:   "collect --port PORT|auto --out DIR",
		Short: "Capture a board's serial output into a capture directory until Ctrl-C",
		Long: `Capture what a board sends on its serial port into DIR:

  raw.bin       every byte exactly as read, written before anything decodes it
  raw.idx       host time of each read ("offset host_ns"), and events for replay
  records.msgp  decoded records (frames, classified console lines, notes)
  console.log   console lines with host timestamps
  capture.json  counters (frames, CRC errors, resyncs, gaps, segments, ...)
  manifest.json tool version, host, command line, start and end

--port auto picks the one Espressif, CP210x or CH340 USB serial port. A port
that vanishes (USB re-enumeration on reset) is reopened with backoff.
--send sends a line command after the port opens (repeatable, in order),
e.g. --send hello. Ctrl-C or --duration stops cleanly with everything
flushed. Console lines, notes and crash reports are printed as they come
unless --quiet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if port == "" || out == "" {
				return &exitError{2, errors.New("--port and --out are required")}
			}
			if baud <= 0 {
				return &exitError{2, fmt.Errorf("--baud %d: must be positive", baud)}
			}
			var cmds []wire.Command
			for _, s := range sends {
				c, err := wire.ParseCommand(s)
				if err != nil {
					return &exitError{2, fmt.Errorf("--send %q: %w", s, err)}
				}
				cmds = append(cmds, c)
			}
			ctx := cmd.Context()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			return runCollect(ctx, cmd.OutOrStdout(), collectConfig{port: port, baud: baud, out: out, cmds: cmds, reset: reset, quiet: quiet})
		},
	}
	f := cmd.Flags()
	f.StringVar(&port, "port", "", "serial port (/dev/ttyUSB0, /dev/pts/N), auto, rfc2217://host:port, or an emulator's console socket (tcp://host:port, unix:PATH)")
	f.IntVar(&baud, "baud", collector.DefaultBaud, "baud rate")
	f.StringVar(&out, "out", "", "capture directory to create")
	f.DurationVar(&duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	f.StringArrayVar(&sends, "send", nil, "line command to send after opening (repeatable)")
	f.BoolVar(&reset, "reset", false, "reset the board through RTS/EN after opening (real USB bridges only)")
	f.BoolVar(&quiet, "quiet", false, "print only the final counters")
	return cmd
}

type collectConfig struct {
	port  string
	baud  int
	out   string
	cmds  []wire.Command
	reset bool
	quiet bool
}

func runCollect(ctx context.Context, w io.Writer, cfg collectConfig) error {
	host, _ := os.Hostname()
	man := rundir.Manifest{
		RunID: filepath.Base(cfg.out), Tool: "wsbench", ToolVersion: version, GoVersion: runtime.Version(),
		Host: host, CommandLine: os.Args, Started: time.Now().UTC(),
	}
	source := fmt.Sprintf("%s %d baud", cfg.port, cfg.baud)
	var mu sync.Mutex
	onRecord := func(r record.Record) {
		if cfg.quiet || r.Type == record.TypeSample || r.Type == record.TypeHeapDetail {
			return
		}
		mu.Lock()
		fmt.Fprintln(w, collector.Format(r))
		mu.Unlock()
	}
	open := collector.Opener(matrix.PortOpener(cfg.port, cfg.baud)) // a path, auto, or rfc2217://host:port
	if cfg.reset {
		base := open
		first := true
		open = func(ctx context.Context) (collector.Port, error) {
			p, err := base(ctx)
			if err == nil && first {
				first = false
				if ok, rerr := collector.ResetBoard(ctx, p); rerr != nil {
					p.Close()
					return nil, rerr
				} else if !ok {
					fmt.Fprintf(w, "--reset: %s cannot drive RTS; not reset\n", cfg.port)
				}
			}
			return p, err
		}
	}
	c, err := collector.Start(ctx, open, collector.Options{Dir: cfg.out, Source: source, OnRecord: onRecord})
	if err != nil {
		return err
	}
	if err := rundir.WriteJSON(filepath.Join(cfg.out, rundir.ManifestFile), man); err != nil {
		c.Stop()
		return err
	}
	fmt.Fprintf(w, "capturing %s into %s; Ctrl-C stops\n", source, cfg.out)
	for _, cmd := range cfg.cmds {
		if err := c.Send(cmd); err != nil {
			c.Stop()
			return err
		}
	}
	<-ctx.Done()
	st, err := c.Stop()
	man.Ended = time.Now().UTC()
	if werr := rundir.WriteJSON(filepath.Join(cfg.out, rundir.ManifestFile), man); werr != nil && err == nil {
		err = werr
	}
	mu.Lock()
	fmt.Fprintf(w, "%d bytes, %d frames, %d CRC errors, %d resyncs, %d bad headers, %d decode errors, %d dropped samples, %d segments, %d console lines, %d port losses\n",
		st.Bytes, st.Frames, st.CRCErrors, st.Resyncs, st.BadHeaders, st.DecodeErrors, st.SeqGaps, st.Segments, st.Lines, st.PortLost)
	mu.Unlock()
	return err
}
