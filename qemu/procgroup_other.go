//go:build !linux

package main

import (
	"os"
	"syscall"
)

// processGroup has no process-group support outside Linux: the runner
// kills QEMU alone.
func processGroup() *syscall.SysProcAttr { return nil }

// killGroup kills the process pid.
func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}
