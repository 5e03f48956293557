//go:build !linux && !darwin

package agent

// peerCredOf: without a way to learn who connected, every connection is
// refused (and Listen refuses to start, see socket_other.go).
func peerCredOf(int) (peerCred, error) {
	return peerCred{UID: -1, PID: -1}, ErrUnsupported
}
