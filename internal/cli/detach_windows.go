//go:build windows

package cli

import "syscall"

func detachAttr() *syscall.SysProcAttr { return nil }

// canDetach is false on Windows, which cannot hand the child the lock's
// handle as a descriptor: refreshes run in the calling process there, and
// a signal still cannot interrupt a grant once it has begun.
const canDetach = false
