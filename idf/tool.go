package idf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Errors a caller may test with errors.Is.
var (
	// ErrNoIDF: idf.py is neither on PATH nor under $IDF_PATH/tools.
	ErrNoIDF = errors.New("idf.py not found")
	// ErrPortBusy: the serial port is held by another process (a monitor, a collector).
	ErrPortBusy = errors.New("serial port busy")
	// ErrNoPort: the serial port does not exist.
	ErrNoPort = errors.New("serial port not found")
)

// TailLines is how many lines of a failed tool's output an error carries.
const TailLines = 40

// ToolError is a failed idf.py run: which step, how it was called, how it
// ended, and the last lines it printed.
type ToolError struct {
	Step string   // "set-target", "build", "size", "flash"
	Args []string // idf.py arguments
	Err  error    // the exit error or the start error
	Tail string   // last TailLines lines of stdout+stderr
}

func (e *ToolError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "idf.py %s failed: %v", e.Step, e.Err)
	if e.Tail != "" {
		fmt.Fprintf(&b, "\n--- last lines of idf.py output ---\n%s", strings.TrimRight(e.Tail, "\n"))
	}
	return b.String()
}

func (e *ToolError) Unwrap() error { return e.Err }

// Tool says how to run idf.py.
type Tool struct {
	// IDFPy is the idf.py to run; empty finds it on PATH, then under $IDF_PATH/tools.
	IDFPy string
	// Env is added to the environment of idf.py (KEY=VALUE).
	Env []string
	// Output, when set, receives idf.py's output as it runs (the CLI passes stderr).
	Output io.Writer
}

// Locate returns the path of idf.py, or an error wrapping ErrNoIDF that
// says how to install or find it.
func (t Tool) Locate() (string, error) { return t.locate() }

// locate returns the path of idf.py.
func (t Tool) locate() (string, error) {
	if t.IDFPy != "" {
		p, err := exec.LookPath(t.IDFPy)
		if err != nil {
			return "", fmt.Errorf("%w: %s: %v", ErrNoIDF, t.IDFPy, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("idf.py"); err == nil {
		return p, nil
	}
	idfPath := os.Getenv("IDF_PATH")
	if idfPath == "" {
		return "", fmt.Errorf("%w on PATH and IDF_PATH is not set: install ESP-IDF v5.3 or newer and run `. $IDF_PATH/export.sh` (or pass --idf-py)", ErrNoIDF)
	}
	p := filepath.Join(idfPath, "tools", "idf.py")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w on PATH nor at %s (IDF_PATH=%s): run `. $IDF_PATH/export.sh`", ErrNoIDF, p, idfPath)
	}
	return p, nil
}

// tailBuffer keeps the last n lines written to it.
type tailBuffer struct {
	mu    sync.Mutex
	n     int
	lines [][]byte
	part  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			t.part = append(t.part, rest...)
			// A tool that never ends a line must not grow the buffer without bound.
			if len(t.part) > 64<<10 {
				t.part = append(t.part[:0], t.part[len(t.part)-(16<<10):]...)
			}
			break
		}
		line := append(t.part, rest[:i+1]...)
		t.part = nil
		t.lines = append(t.lines, line)
		if len(t.lines) > t.n {
			t.lines = t.lines[len(t.lines)-t.n:]
		}
		rest = rest[i+1:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, l := range t.lines {
		b.Write(l)
	}
	b.Write(t.part)
	return b.String()
}

// run runs idf.py with args in dir and returns its tail. The child runs in a
// process group of its own: cancelling ctx terminates idf.py and the
// cmake/ninja/esptool processes it started.
func (t Tool) run(ctx context.Context, step, dir string, args []string) (string, error) {
	idfpy, err := t.locate()
	if err != nil {
		return "", err
	}
	tail := &tailBuffer{n: TailLines}
	var out io.Writer = tail
	if t.Output != nil {
		out = io.MultiWriter(tail, t.Output)
	}
	cmd := exec.CommandContext(ctx, idfpy, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), t.Env...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = 5 * time.Second
	setProcessGroup(cmd)
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return tail.String(), fmt.Errorf("idf.py %s: %w", step, ctx.Err())
		}
		return tail.String(), &ToolError{Step: step, Args: args, Err: err, Tail: tail.String()}
	}
	return tail.String(), nil
}
