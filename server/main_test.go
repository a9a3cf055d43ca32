package main

import (
	"os"
	"testing"
)

// TestMain removes the server binary the process tests built (procs_test.go).
func TestMain(m *testing.M) {
	code := m.Run()
	if prBinDir != "" {
		os.RemoveAll(prBinDir)
	}
	os.Exit(code)
}
