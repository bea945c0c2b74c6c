//go:build unix

package qemu

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts QEMU in a process group of its own, so that
// stopping it reaches anything it started (slirp helpers, a wrapper script).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func terminate(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }

func kill(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
