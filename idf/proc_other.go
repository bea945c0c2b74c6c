//go:build !unix

package idf

import "os/exec"

// setProcessGroup keeps exec's default cancellation (kill idf.py) where
// process groups are not available.
func setProcessGroup(*exec.Cmd) {}
