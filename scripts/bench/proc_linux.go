package main

import (
	"os/exec"
	"syscall"
)

// setChildAttrs makes the kernel send the server SIGTERM if the bench dies
// without cleaning up (killed with SIGKILL, say), so no server is left
// running.
func setChildAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
