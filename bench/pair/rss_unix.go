//go:build unix

package main

import (
	"os"
	"syscall"
)

// peakRSS is the child's peak resident set in KiB, from its rusage (Linux
// reports KiB; macOS reports bytes).
func peakRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if isDarwin {
		return int64(ru.Maxrss) / 1024
	}
	return int64(ru.Maxrss)
}
