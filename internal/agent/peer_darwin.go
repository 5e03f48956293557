package agent

import "golang.org/x/sys/unix"

// peerCredOf reads LOCAL_PEERCRED (what getpeereid uses): the effective uid
// of the process that connected. macOS gives no cheap way to name the
// peer's executable, so forwarded connections are recognised only by the
// forwarding socket there.
func peerCredOf(fd int) (peerCred, error) {
	x, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return peerCred{UID: -1, PID: -1}, err
	}
	pid, err := unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID)
	if err != nil {
		pid = -1
	}
	return peerCred{UID: int(x.Uid), PID: pid}, nil
}
