package agent

import (
	"fmt"
	"net"
	"syscall"
)

// peerCred is who is on the other end of a connection, as the kernel
// says: nothing the client sends can change it.
type peerCred struct {
	UID, PID int
	// ViaSSH: the peer process is an OpenSSH client, which is what a
	// connection forwarded with ssh -R looks like from here.
	ViaSSH bool
}

// peerOf asks the kernel for the credentials of c's peer.
func peerOf(c net.Conn) (peerCred, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return peerCred{UID: -1, PID: -1}, fmt.Errorf("%w: not a unix socket connection", ErrForbidden)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return peerCred{UID: -1, PID: -1}, err
	}
	var cred peerCred
	var credErr error
	if err := raw.Control(func(fd uintptr) { cred, credErr = peerCredOf(int(fd)) }); err != nil {
		return peerCred{UID: -1, PID: -1}, err
	}
	if credErr != nil {
		return peerCred{UID: -1, PID: -1}, fmt.Errorf("read the peer's credentials: %w", credErr)
	}
	return cred, nil
}
