//go:build unix

package idf

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts cmd in a process group of its own and makes
// cancellation signal the whole group: idf.py runs cmake, ninja and esptool
// as children, and killing only idf.py would leave them running.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		// SIGTERM first; WaitDelay then closes the pipes and Go kills idf.py itself.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
}
