package main

import (
	"os/exec"
	"syscall"
)

// prDieWithTest has the kernel kill a started process when the test binary
// dies (a timeout, a SIGKILL), so that no server outlives its test.
func prDieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
