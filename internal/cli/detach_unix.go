//go:build unix

package cli

import "syscall"

// detachAttr puts the refresh child in a session of its own: no terminal
// signal and no kill of the caller's process group reaches it.
func detachAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// canDetach: passing the held lock to a child needs inherited descriptors.
const canDetach = true
