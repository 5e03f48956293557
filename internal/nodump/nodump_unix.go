//go:build unix && !linux

package nodump

import "syscall"

func apply() error {
	return syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{Cur: 0, Max: 0})
}
