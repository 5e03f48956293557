//go:build unix

package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// termWidth is stderr's width in columns, 0 when unknown.
func termWidth(getenv func(string) string) int {
	if ws, err := unix.IoctlGetWinsize(int(os.Stderr.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
		return int(ws.Col)
	}
	return columnsEnv(getenv)
}
