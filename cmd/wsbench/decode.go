package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wsbench/wsbench/collector"
	"github.com/wsbench/wsbench/internal/termsafe"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
)

func newDecodeCmd() *cobra.Command {
	var asJSON, rebuild bool
	cmd := &cobra.Command{
		Use:   "decode FILE",
		Short: "Print the records of a raw capture (raw.bin) or a record stream (records.msgp)",
		Long: `Print the records of FILE, one per line.

FILE is a raw capture (raw.bin: decoded again exactly as the live capture
decoded it, with host times from raw.idx beside it) or a record stream
(records.msgp). Which one is told by the name (.bin, .msgp) or, failing
that, by the content.

--json prints one JSON object per line with a "type" field (hello, sample,
event, run_start, run_end, heap_detail, owners, reply, console, watchdog,
panic, stack_overflow, brownout, reset, note) and the common fields host_ns,
offset and segment.

--rebuild DIR (or DIR/raw.bin) writes DIR/records.msgp again from
DIR/raw.bin (and raw.idx), for a capture directory or a cell whose
records.msgp was cut or damaged; an old file that differs is kept as
records.msgp.damaged-<time>, an intact one is left as it is. Then
'wsbench report' analyses the cell again.

Anything else (summary.json, cell.json, a matrix) is refused: decode reads
captures only.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if rebuild {
				return rebuildRecords(cmd.OutOrStdout(), args[0])
			}
			return runDecode(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON lines")
	cmd.Flags().BoolVar(&rebuild, "rebuild", false, "rebuild DIR/records.msgp from DIR/raw.bin")
	return cmd
}

func runDecode(stdout, stderr io.Writer, path string, asJSON bool) error {
	if err := refuseNonCapture(path); err != nil {
		return err
	}
	isRecords, err := isRecordStream(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(stdout, 64<<10)
	defer w.Flush()
	var printErr error
	print := func(r record.Record) {
		if printErr != nil {
			return
		}
		if asJSON {
			b, err := json.Marshal(r)
			if err != nil {
				printErr = fmt.Errorf("%s: record at byte %d: %w", path, r.Offset, err)
				return
			}
			w.Write(termsafe.JSON(b))
			w.WriteByte('\n')
			return
		}
		w.WriteString(collector.Format(r))
		w.WriteByte('\n')
	}
	if isRecords {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		rd := record.NewReader(f, path)
		for printErr == nil {
			r, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				w.Flush()
				return err
			}
			print(r)
		}
		return printErr
	}
	res, err := collector.DecodeRaw(path, func(r record.Record, _ []byte) { print(r) })
	w.Flush()
	for _, warn := range res.Warnings {
		fmt.Fprintln(stderr, "wsbench decode: warning:", termsafe.String(warn))
	}
	if st := res.Stats; st.CRCErrors+st.BadHeaders+st.DecodeErrors+st.Truncated > 0 {
		fmt.Fprintf(stderr, "wsbench decode: warning: %s: damaged frames: %d CRC errors, %d bad headers, %d decode errors, %d truncated (%d resyncs); their bytes are printed as console text\n",
			path, st.CRCErrors, st.BadHeaders, st.DecodeErrors, st.Truncated, st.Resyncs)
	}
	if err != nil {
		return err
	}
	return printErr
}

// refuseNonCapture rejects a directory and the JSON and YAML files of a
// run, which decode would otherwise print as console text.
func refuseNonCapture(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	hint := fmt.Sprintf("decode reads a capture: %s or %s", rundir.RawFile, rundir.RecordsFile)
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory: %s, e.g. %s", path, hint, filepath.Join(path, rundir.RawFile))
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json", ".yaml", ".yml", ".html", ".md", ".xml":
		return fmt.Errorf("%s is not a capture (%s file): %s, e.g. results/RUN/cells/CELL/%s", path, filepath.Ext(path), hint, rundir.RawFile)
	}
	if strings.HasSuffix(path, ".bin") || strings.HasSuffix(path, ".msgp") || fi.Size() > 16<<20 {
		return nil
	}
	// Another name: refuse a file that is one JSON document, which no
	// board sends.
	b, err := os.ReadFile(path)
	if t := bytes.TrimSpace(b); err == nil && len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t) {
		return fmt.Errorf("%s is JSON, not a capture: %s", path, hint)
	}
	return nil
}

// isRecordStream tells a records.msgp from a raw capture: by name, else by
// whether the file starts like a record envelope (a 5-element array whose
// first element is a known record type) and its first record reads.
func isRecordStream(path string) (bool, error) {
	switch {
	case strings.HasSuffix(path, ".msgp"):
		return true, nil
	case strings.HasSuffix(path, ".bin"):
		return false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, 2)
	if n, _ := io.ReadFull(f, head); n < 2 || head[0] != 0x95 || head[1] == 0 || head[1] > 0x7f {
		return false, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	_, err = record.NewReader(f, path).Next()
	return err == nil, nil
}

// rebuildRecords decodes dir/raw.bin again into a new dir/records.msgp,
// keeping the old one beside it: raw bytes are the capture, records are
// derived from them and can always be derived again.
func rebuildRecords(w io.Writer, dir string) error {
	// The raw capture or the records file itself names its directory.
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		switch filepath.Base(dir) {
		case rundir.RawFile, rundir.RecordsFile:
			dir = filepath.Dir(dir)
		default:
			return fmt.Errorf("rebuild %s: give the capture directory (it holds %s) or its %s", dir, rundir.RawFile, rundir.RawFile)
		}
	}
	raw := filepath.Join(dir, rundir.RawFile)
	if _, err := os.Stat(raw); err != nil {
		return fmt.Errorf("rebuild %s: no raw capture to rebuild from: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+rundir.RecordsFile+".*")
	if err != nil {
		return fmt.Errorf("rebuild %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	rw := record.NewWriter(tmp)
	n := 0
	var werr error
	rep, err := collector.DecodeRaw(raw, func(r record.Record, payload []byte) {
		if werr == nil {
			werr = collector.WriteRecord(rw, r, payload)
			n++
		}
	})
	if err == nil {
		err = werr
	}
	if err == nil {
		err = rw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("rebuild %s: %w", dir, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("rebuild %s: %w", dir, err)
	}
	old := filepath.Join(dir, rundir.RecordsFile)
	if same, err := sameContent(old, tmp.Name()); err == nil && same {
		fmt.Fprintf(w, "%s is intact: it is what %s decodes to, byte for byte; nothing to do\n", old, raw)
		return nil
	}
	if _, err := os.Stat(old); err == nil {
		kept := old + ".damaged-" + time.Now().UTC().Format("20060102T150405")
		if err := os.Rename(old, kept); err != nil {
			return fmt.Errorf("rebuild %s: %w", dir, err)
		}
		fmt.Fprintf(w, "kept the old records as %s\n", kept)
	}
	if err := os.Rename(tmp.Name(), old); err != nil {
		return fmt.Errorf("rebuild %s: %w", dir, err)
	}
	for _, warn := range rep.Warnings {
		fmt.Fprintln(w, "warning:", termsafe.String(warn))
	}
	fmt.Fprintf(w, "wrote %d records to %s\n", n, old)
	return nil
}

// sameContent reports whether two files hold the same bytes.
func sameContent(a, b string) (bool, error) {
	x, err := os.ReadFile(a)
	if err != nil {
		return false, err
	}
	y, err := os.ReadFile(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(x, y), nil
}
