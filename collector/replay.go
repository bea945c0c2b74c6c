package collector

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
)

// IndexPath is the raw.idx that belongs to a raw capture file: raw.idx in
// the same directory for raw.bin, otherwise the name with .idx for .bin.
func IndexPath(rawPath string) string {
	if filepath.Base(rawPath) == rundir.RawFile {
		return filepath.Join(filepath.Dir(rawPath), rundir.IndexFile)
	}
	return strings.TrimSuffix(rawPath, ".bin") + ".idx"
}

// Replayed is what DecodeRaw found besides the records.
type Replayed struct {
	Stats Stats
	// Warnings say where the result may differ from the live run: no
	// raw.idx (host times are 0), or raw.bin bytes beyond the last index
	// line (a killed capture).
	Warnings []string
}

// DecodeRaw decodes a saved raw capture again, cutting it into the chunks and
// host times that raw.idx recorded and replaying the recorded events, so
// that fn receives exactly the records the live capture wrote (payload is
// the frame payload for frame records, nil otherwise). Errors name the file
// and line or byte offset.
func DecodeRaw(rawPath string, fn func(r record.Record, payload []byte)) (Replayed, error) {
	var out Replayed
	raw, err := os.Open(rawPath)
	if err != nil {
		return out, err
	}
	defer raw.Close()
	st, err := raw.Stat()
	if err != nil {
		return out, err
	}
	size := st.Size()
	p := newPipeline(emitFunc(fn))
	rr := bufio.NewReaderSize(raw, 64<<10)
	buf := make([]byte, 64<<10)
	var fed int64
	// feedTo feeds raw bytes up to offset end as chunks read at host time ns.
	feedTo := func(end, ns int64) error {
		for fed < end {
			n := int(min(end-fed, int64(len(buf))))
			if _, err := io.ReadFull(rr, buf[:n]); err != nil {
				return fmt.Errorf("%s: byte %d: %w", rawPath, fed, err)
			}
			p.feed(buf[:n], ns)
			fed += int64(n)
		}
		return nil
	}

	idxPath := IndexPath(rawPath)
	idx, err := os.Open(idxPath)
	if errors.Is(err, os.ErrNotExist) {
		out.Warnings = append(out.Warnings, fmt.Sprintf("no %s: host times are 0", idxPath))
		if err := feedTo(size, 0); err != nil {
			return out, err
		}
		p.close()
		out.Stats = p.Stats()
		return out, nil
	}
	if err != nil {
		return out, err
	}
	defer idx.Close()

	var chunkNS int64 // host time of the chunk that starts at fed
	pending := false  // a read line was seen whose end is not yet known
	sc := bufio.NewScanner(idx)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		off, ns, kind, text, err := parseIndexLine(sc.Text())
		if err != nil {
			return out, fmt.Errorf("%s: line %d: %w", idxPath, line, err)
		}
		if off < fed || off > size {
			return out, fmt.Errorf("%s: line %d: offset %d outside %d..%d (%s has %d bytes)", idxPath, line, off, fed, size, rawPath, size)
		}
		if pending {
			if err := feedTo(off, chunkNS); err != nil {
				return out, err
			}
			pending = false
		} else if off != fed {
			return out, fmt.Errorf("%s: line %d: offset %d, but the bytes from %d are not indexed", idxPath, line, off, fed)
		}
		if kind == "" {
			chunkNS, pending = ns, true
			continue
		}
		if err := p.event(kind, text, ns); err != nil {
			return out, fmt.Errorf("%s: line %d: %w", idxPath, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("%s: line %d: %w", idxPath, line+1, err)
	}
	if !pending && fed < size {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%s: bytes %d..%d are not indexed (capture killed?): given the last host time", rawPath, fed, size))
	}
	if pending || fed < size {
		if err := feedTo(size, chunkNS); err != nil {
			return out, err
		}
	}
	p.close()
	out.Stats = p.Stats()
	return out, nil
}

// parseIndexLine reads "offset host_ns" or "offset host_ns kind "text"".
func parseIndexLine(s string) (off, ns int64, kind, text string, err error) {
	f := strings.SplitN(s, " ", 4)
	if len(f) != 2 && len(f) != 4 {
		return 0, 0, "", "", fmt.Errorf("want \"offset host_ns\" or \"offset host_ns event text\", got %q", clipText(s))
	}
	if off, err = strconv.ParseInt(f[0], 10, 64); err != nil || off < 0 {
		return 0, 0, "", "", fmt.Errorf("bad offset %q", clipText(f[0]))
	}
	if ns, err = strconv.ParseInt(f[1], 10, 64); err != nil {
		return 0, 0, "", "", fmt.Errorf("bad host time %q", clipText(f[1]))
	}
	if len(f) == 2 {
		return off, ns, "", "", nil
	}
	kind = f[2]
	if text, err = strconv.Unquote(f[3]); err != nil {
		return 0, 0, "", "", fmt.Errorf("event %s: bad text %s", kind, clipText(f[3]))
	}
	return off, ns, kind, text, nil
}

func clipText(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// WriteRecord appends r to w as a capture writes it: frame records keep
// their payload byte for byte.
func WriteRecord(w *record.Writer, r record.Record, payload []byte) error {
	if payload != nil {
		env := record.Envelope{Type: r.Type, HostNS: r.HostNS, Offset: r.Offset, Segment: r.Segment, Body: payload}
		return w.WriteEnvelope(&env)
	}
	return w.Write(r)
}
