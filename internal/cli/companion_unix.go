//go:build unix

package cli

import (
	"os"
	"syscall"
)

// runProgram replaces this process with path: it returns only if the exec
// failed.
func runProgram(path string, argv []string) error {
	return syscall.Exec(path, argv, os.Environ())
}
