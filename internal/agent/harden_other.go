//go:build !linux && !darwin

package agent

// Harden: the agent does not run here (see PrepareDir), so there is
// nothing to protect.
func Harden() string { return "unprotected: the agent is not supported on this system" }
