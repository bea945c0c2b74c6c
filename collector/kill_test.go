package collector

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/rundir"
)

// TestHelperCaptureProcess is not a test: it is the capture process that
// TestKilledCaptureLeavesReadableFiles starts and kills.
func TestHelperCaptureProcess(t *testing.T) {
	dir, port := os.Getenv("WSBENCH_HELPER_DIR"), os.Getenv("WSBENCH_HELPER_PORT")
	if dir == "" {
		t.Skip("helper process only")
	}
	c, err := Start(context.Background(), SerialOpener(port, 115200), Options{Dir: dir, FlushInterval: 20 * time.Millisecond, BlockTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "started"), nil, 0o644)
	// Until killed; the parent kills it within seconds, and Pdeathsig if
	// the parent dies. The limit keeps an orphan from running for ever.
	select {
	case <-c.Done():
	case <-time.After(2 * time.Minute):
		t.Fatal("helper capture process not killed within 2 minutes")
	}
}

func TestKilledCaptureLeavesReadableFiles(t *testing.T) {
	data, _ := boardSession(t)
	master, slave := newPTY(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCaptureProcess$")
	cmd.Env = append(os.Environ(), "WSBENCH_HELPER_DIR="+dir, "WSBENCH_HELPER_PORT="+slave)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with this test binary
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed once the helper is reaped
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	// waitExit kills the helper and waits, bounded, until it is reaped.
	waitExit := sync.OnceFunc(func() {
		cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Errorf("capture process %d not reaped 30 s after SIGKILL", cmd.Process.Pid)
		}
	})
	t.Cleanup(waitExit) // on every path
	waitFile := func(cond func() bool, what string) {
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			select {
			case <-exited:
				t.Fatalf("capture process exited (%v) while waiting for %s", waitErr, what)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFile(func() bool { _, err := os.Stat(filepath.Join(dir, "started")); return err == nil }, "the capture to start")
	writeSlowly(t, master, data, 512)
	rawPath := filepath.Join(dir, rundir.RawFile)
	waitFile(func() bool { st, err := os.Stat(rawPath); return err == nil && st.Size() == int64(len(data)) }, "raw.bin")
	time.Sleep(200 * time.Millisecond) // several flush intervals
	waitExit()

	raw, _ := os.ReadFile(rawPath)
	if !bytes.Equal(raw, data) {
		t.Fatalf("raw.bin holds %d bytes, the board sent %d", len(raw), len(data))
	}
	// records.msgp reads cleanly to its end, and is what decoding raw.bin
	// gives, up to what the killed process had not yet finished (nothing
	// here: every line was complete).
	f, err := os.Open(filepath.Join(dir, rundir.RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := record.NewReader(f, rundir.RecordsFile)
	var live []record.Record
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("records.msgp after kill: %v", err)
		}
		live = append(live, r)
	}
	var again []record.Record
	if _, err := DecodeRaw(rawPath, func(r record.Record, _ []byte) { again = append(again, r) }); err != nil {
		t.Fatal(err)
	}
	if len(live) == 0 || len(live) > len(again) {
		t.Fatalf("live run wrote %d records, decode gives %d", len(live), len(again))
	}
	for i := range live {
		if summary(live[i]) != summary(again[i]) || live[i].HostNS != again[i].HostNS || live[i].Offset != again[i].Offset {
			t.Fatalf("record %d: live %s, decode %s", i, summary(live[i]), summary(again[i]))
		}
	}
	if len(live) != len(again) {
		t.Errorf("the killed capture had written %d of %d records", len(live), len(again))
	}
}
