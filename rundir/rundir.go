// Package rundir is the layout of wsbench's output on disk: a run directory
// holds a manifest, one directory per cell (each a capture directory), and
// the analysis outputs. It names files and reads and writes the small JSON
// documents; it never decodes captures and never computes figures.
//
//	results/<run-id>/
//	  manifest.json            what ran: tool version, host, command line, matrix, peer
//	  summary.json, report.html
//	  cells/<cell-id>/
//	    cell.json              the cell: board, variant, scenario, status and reason
//	    raw.bin                serial bytes exactly as read, appended before decoding
//	    raw.idx                host time of each read: "offset host_ns" lines
//	    records.msgp           decoded records (package record)
//	    console.log            console lines with host timestamps
//	    capture.json           collector counters
//	  firmware/<target>__<variant>__<behaviour>.size.json   static memory of each flashed image
//	  attempts/<cell-id>-<time>/  an earlier, interrupted attempt at a cell, kept as it was
package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/wsbench/wsbench/wire"
)

// File names inside a run or capture directory.
const (
	ManifestFile = "manifest.json"
	SummaryFile  = "summary.json"
	ReportFile   = "report.html"
	CellsDir     = "cells"
	// AttemptsDir keeps the cell directories of earlier attempts at cells
	// that ran again (after an interruption): attempts/<cell-id>-<time>/.
	AttemptsDir = "attempts"
	CellFile    = "cell.json"
	RawFile     = "raw.bin"
	IndexFile   = "raw.idx"
	RecordsFile = "records.msgp"
	ConsoleFile = "console.log"
	CaptureFile = "capture.json"
	PeerFile    = "peer.json"
	// EmulatorFile is an emulated board's emulator's own output (QEMU's
	// stdout and stderr, not the guest's console) in its cell directory.
	EmulatorFile = "emulator.log"
	// FirmwareDir holds the static memory report (`idf.py size --format
	// json2`) of every image a run flashed: <target>__<variant>__<behaviour>.size.json.
	FirmwareDir = "firmware"
)

// SizeFile is the name of the static memory report of one image.
func SizeFile(target, variant, behaviour string) string {
	return target + "__" + variant + "__" + behaviour + ".size.json"
}

// Cell statuses.
const (
	StatusPending     = "pending"
	StatusRunning     = "running"
	StatusOK          = "ok"
	StatusFailed      = "failed"      // the cell could not produce data; Reason says why
	StatusInterrupted = "interrupted" // stopped by the user; resumable
)

// Manifest describes a run.
type Manifest struct {
	RunID       string          `json:"run_id"`
	Tool        string          `json:"tool"` // "wsbench"
	ToolVersion string          `json:"tool_version"`
	GoVersion   string          `json:"go_version"`
	Host        string          `json:"host"`
	CommandLine []string        `json:"command_line"`
	Started     time.Time       `json:"started"`
	Ended       time.Time       `json:"ended,omitzero"`
	Matrix      json.RawMessage `json:"matrix,omitempty"` // the matrix as run
	MatrixHash  string          `json:"matrix_hash,omitempty"`
	Peer        *PeerInfo       `json:"peer,omitempty"`
	Shard       string          `json:"shard,omitempty"`       // "i/n" when the run is a shard
	MergedFrom  []string        `json:"merged_from,omitempty"` // run ids of the shards a merged run came from
	Cells       int             `json:"cells"`
}

// PeerInfo describes the peer server a run used. It never holds a key.
type PeerInfo struct {
	WSURL           string `json:"ws_url"`
	HTTPSURL        string `json:"https_url"`
	CAFile          string `json:"ca_file,omitempty"`
	CertSHA256      string `json:"cert_sha256"` // fingerprint of the server certificate (DER)
	CertKeyType     string `json:"cert_key_type"`
	TLSMinVersion   string `json:"tls_min_version,omitempty"`
	ServerTLSVerMax string `json:"tls_max_version,omitempty"`
}

// Cell is one cell of a matrix: one board running one variant and one
// scenario once.
type Cell struct {
	ID         string         `json:"id"`
	Board      string         `json:"board"`   // board name in the matrix
	Profile    string         `json:"profile"` // virtual profile or chip of a real board
	Port       string         `json:"port,omitempty"`
	Variant    string         `json:"variant"`
	Behaviour  string         `json:"behaviour"` // fallback or strict
	Branch     string         `json:"branch,omitempty"`
	Options    wire.Options   `json:"options"`
	Scenario   string         `json:"scenario"`
	Label      string         `json:"label,omitempty"` // scenario entry name in the matrix, e.g. "handler-inline"
	N          int            `json:"n"`
	Rep        int            `json:"rep"`
	Params     wire.RunParams `json:"params"`
	Faults     map[string]int `json:"faults,omitempty"` // virtual board faults switched on
	Status     string         `json:"status"`
	Reason     string         `json:"reason,omitempty"`
	Started    time.Time      `json:"started,omitzero"`
	Ended      time.Time      `json:"ended,omitzero"`
	Attempts   int            `json:"attempts,omitempty"`
	HelloMatch bool           `json:"hello_match"`
}

// CellDir is the directory of cell id in run directory run.
func CellDir(run, id string) string { return filepath.Join(run, CellsDir, id) }

// WriteJSON writes v as indented JSON to path with WriteFile (mode 0644).
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return WriteFile(path, append(b, '\n'), 0o644)
}

// WriteFile writes data to path atomically: a temporary file in the same
// directory, created with perm (so a key is never readable by others, even
// for a moment), synced, then renamed over path. A killed process leaves
// either the old file or the new one, never half of it.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	fail := func(err error) error {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ReadJSON reads path into v; errors name the file.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%s: byte %d: %w", path, se.Offset, err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: byte %d: %w", path, te.Offset, err)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ReadManifest reads the manifest of run directory run.
func ReadManifest(run string) (Manifest, error) {
	var m Manifest
	err := ReadJSON(filepath.Join(run, ManifestFile), &m)
	return m, err
}

// ReadCells reads every cell.json below run, sorted by cell id. A cell.json
// that cannot be read is an error (see ScanCells for the lenient reading).
func ReadCells(run string) ([]Cell, error) {
	cells, bad, err := ScanCells(run)
	if err != nil {
		return nil, err
	}
	if len(bad) > 0 {
		return nil, bad[0]
	}
	return cells, nil
}

// ScanCells reads every cell.json below run, sorted by cell id, and returns
// the cell.json files it could not read (truncated by a crash, edited by
// hand) as errors beside the cells it could: one damaged cell must not make
// a whole run unreadable. Directories without a cell.json are skipped.
func ScanCells(run string) ([]Cell, []error, error) {
	entries, err := os.ReadDir(filepath.Join(run, CellsDir))
	if err != nil {
		return nil, nil, fmt.Errorf("read cells of %s: %w", run, err)
	}
	var cells []Cell
	var bad []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		var c Cell
		p := filepath.Join(run, CellsDir, e.Name(), CellFile)
		if err := ReadJSON(p, &c); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			bad = append(bad, err)
			continue
		}
		cells = append(cells, c)
	}
	sort.Slice(cells, func(i, j int) bool { return cells[i].ID < cells[j].ID })
	return cells, bad, nil
}
