//go:build !unix

package cli

import (
	"os"
)

// forwardSignals does nothing where processes cannot be signalled (Windows:
// a console's Ctrl-C reaches the child directly).
func forwardSignals() (attach func(*os.Process), stop func()) {
	return func(*os.Process) {}, func() {}
}

// killedBy never applies: Windows processes end with an exit code.
func killedBy(*os.ProcessState) (int, bool) { return 0, false }
