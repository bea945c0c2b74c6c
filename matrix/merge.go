package matrix

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/wsbench/wsbench/rundir"
)

// Merge combines the run directories of the shards of one matrix into dst,
// which must not exist yet. It refuses shards of different matrices or tool
// versions, a shard given twice, a missing shard, a cell in two shards and a
// cell of the matrix that no shard ran, each with a message naming it.
// Cells are copied, never moved: the shards stay as they were.
func Merge(dst string, srcs []string) (rundir.Manifest, error) {
	var out rundir.Manifest
	if len(srcs) == 0 {
		return out, errors.New("merge: no run directories given")
	}
	if _, err := os.Stat(dst); err == nil {
		return out, fmt.Errorf("merge: %s exists; give a new directory", dst)
	}
	mans := make([]rundir.Manifest, len(srcs))
	seenShard := map[int]string{}
	total := 0
	for i, src := range srcs {
		m, err := rundir.ReadManifest(src)
		if err != nil {
			return out, fmt.Errorf("merge: %w", err)
		}
		mans[i] = m
		if i > 0 {
			if m.MatrixHash != mans[0].MatrixHash {
				return out, fmt.Errorf("merge: %s ran a different matrix (hash %s) from %s (hash %s)", src, m.MatrixHash, srcs[0], mans[0].MatrixHash)
			}
			if m.ToolVersion != mans[0].ToolVersion {
				return out, fmt.Errorf("merge: %s was made by wsbench %s, %s by wsbench %s", src, m.ToolVersion, srcs[0], mans[0].ToolVersion)
			}
		}
		if m.Shard == "" {
			if len(srcs) > 1 {
				return out, fmt.Errorf("merge: %s is not a shard (it was run without --shard)", src)
			}
			continue
		}
		idx, n, err := ParseShard(m.Shard)
		if err != nil {
			return out, fmt.Errorf("merge: %s: %w", src, err)
		}
		if total == 0 {
			total = n
		} else if n != total {
			return out, fmt.Errorf("merge: %s is shard %s, but %s split the matrix into %d", src, m.Shard, srcs[0], total)
		}
		if prev, dup := seenShard[idx]; dup {
			return out, fmt.Errorf("merge: shard %d/%d given twice: %s and %s", idx, n, prev, src)
		}
		seenShard[idx] = src
	}
	var missing []string
	for i := 1; i <= total; i++ {
		if _, ok := seenShard[i]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", i, total))
		}
	}
	if len(missing) > 0 {
		return out, fmt.Errorf("merge: missing shard %s", strings.Join(missing, ", "))
	}

	// The matrix as run says which cells must be there.
	f, err := FromManifest(mans[0], filepath.Join(srcs[0], rundir.ManifestFile))
	if err != nil {
		return out, fmt.Errorf("merge: %w", err)
	}
	want := map[string]bool{}
	for _, c := range f.Cells() {
		want[c.ID] = true
	}
	from := map[string]string{}
	for _, src := range srcs {
		cells, err := rundir.ReadCells(src)
		if err != nil {
			return out, fmt.Errorf("merge: %w", err)
		}
		for _, c := range cells {
			if prev, dup := from[c.ID]; dup {
				return out, fmt.Errorf("merge: cell %s is in both %s and %s", c.ID, prev, src)
			}
			if !want[c.ID] {
				return out, fmt.Errorf("merge: cell %s of %s is not in the matrix", c.ID, src)
			}
			if c.Status != rundir.StatusOK && c.Status != rundir.StatusFailed {
				return out, fmt.Errorf("merge: cell %s in %s is %s: finish that shard first (wsbench run --resume %s)", c.ID, src, c.Status, src)
			}
			from[c.ID] = src
		}
	}
	var gaps []string
	for id := range want {
		if _, ok := from[id]; !ok {
			gaps = append(gaps, id)
		}
	}
	if len(gaps) > 0 {
		sort.Strings(gaps)
		count := len(gaps)
		more := ""
		if len(gaps) > 5 {
			more = fmt.Sprintf(" and %d more", len(gaps)-5)
			gaps = gaps[:5]
		}
		return out, fmt.Errorf("merge: %d cells of the matrix are in no shard: %s%s", count, strings.Join(gaps, ", "), more)
	}

	if err := os.MkdirAll(filepath.Join(dst, rundir.CellsDir), 0o755); err != nil {
		return out, fmt.Errorf("merge: %w", err)
	}
	ids := make([]string, 0, len(from))
	for id := range from {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := copyDir(rundir.CellDir(from[id], id), rundir.CellDir(dst, id)); err != nil {
			return out, fmt.Errorf("merge: %w", err)
		}
	}
	out = mans[0]
	out.RunID = filepath.Base(dst)
	out.Shard = ""
	out.Cells = len(ids)
	out.MergedFrom = nil
	for i, m := range mans {
		out.MergedFrom = append(out.MergedFrom, m.RunID)
		if m.Started.Before(out.Started) {
			out.Started = m.Started
		}
		if m.Ended.After(out.Ended) {
			out.Ended = m.Ended
		}
		if p := filepath.Join(srcs[i], rundir.PeerFile); fileExists(p) {
			name := fmt.Sprintf("peer-shard-%s.json", strings.ReplaceAll(m.Shard, "/", "of"))
			if err := copyFile(p, filepath.Join(dst, name)); err != nil {
				return out, fmt.Errorf("merge: %w", err)
			}
		}
	}
	if err := rundir.WriteJSON(filepath.Join(dst, rundir.ManifestFile), out); err != nil {
		return out, fmt.Errorf("merge: %w", err)
	}
	return out, nil
}

// ParseShard reads "i/n" (1 <= i <= n).
func ParseShard(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("shard %q: want i/n with 1 <= i <= n", s)
	}
	return i, n, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := copyDir(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// FromManifest returns the matrix a run recorded in its manifest (name
// appears in errors), with every default already applied.
func FromManifest(m rundir.Manifest, name string) (*File, error) {
	if len(m.Matrix) == 0 {
		return nil, fmt.Errorf("%s records no matrix", name)
	}
	var f File
	if err := json.Unmarshal(m.Matrix, &f); err != nil {
		return nil, fmt.Errorf("matrix in %s: %w", name, err)
	}
	// A run directory may come from elsewhere (a CI artifact): its matrix
	// passes the same checks as a file's, names included.
	if err := f.check(name, nil); err != nil {
		return nil, err
	}
	return &f, nil
}

// jsonOf encodes the matrix as the manifest records it.
func jsonOf(f *File) ([]byte, error) { return json.Marshal(f) }
