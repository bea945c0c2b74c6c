package matrix

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/rundir"
)

// Same seed, same bytes: a virtual board's capture does not depend on the
// wall clock (issue 13, "Seen" 6: sample counts differed by 1-6 in 15 of 90
// cells between two runs of the default matrix, because the wall time of
// the real TLS handshakes went into virtual time).
func TestVirtualCaptureIsReproducible(t *testing.T) {
	f, err := Parse("det.yaml", []byte(`
seed: 11
boards:
  - name: v
    virtual: esp32s3-n8r8
    count: 2
variants:
  - name: int
  - name: both-ext
    stack_in_ext_ram: true
    alloc_in_ext_ram: true
scenarios:
  - scenario: sweep
    n: [0, 2, 4]
    baseline: 500ms
    window: 2s
  - scenario: churn
    n: [1]
    cycles: 3
    baseline: 500ms
    window: 1s
  - scenario: handler
    handler: inline
    baseline: 500ms
    window: 2s
repetitions: 1
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testctx.New(t)
	_, trust, urls := startPeer(t) // one peer: the URLs in the run command are the same
	run := func(dir string) *Result {
		res, err := Run(ctx, f, Options{RunDir: dir, Peer: urls, NewDevice: Devices(trust, HardwareOptions{}),
			StartCapture: CollectorCapture, Manifest: rundir.Manifest{RunID: "det", MatrixHash: "x"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Cells {
			if c.Status != rundir.StatusOK {
				t.Fatalf("%s: %s %s", c.ID, c.Status, c.Reason)
			}
		}
		return res
	}
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	ra := run(a)
	run(b)
	total := 0
	for _, c := range ra.Cells {
		for _, name := range []string{rundir.RawFile} { // records.msgp and raw.idx hold host times
			x, err := os.ReadFile(filepath.Join(rundir.CellDir(a, c.ID), name))
			if err != nil {
				t.Fatal(err)
			}
			y, err := os.ReadFile(filepath.Join(rundir.CellDir(b, c.ID), name))
			if err != nil {
				t.Fatal(err)
			}
			if name == rundir.RawFile {
				total += len(x)
				if !bytes.Equal(x, y) {
					i := 0
					for i < min(len(x), len(y)) && x[i] == y[i] {
						i++
					}
					t.Errorf("%s: %s differs from byte %d (%d and %d bytes)", c.ID, name, i, len(x), len(y))
				}
			}
		}
	}
	t.Logf("%d cells, %d bytes of raw.bin each run, identical", len(ra.Cells), total)
}
