//go:build !linux

package main

import "os/exec"

func prDieWithTest(*exec.Cmd) {}
