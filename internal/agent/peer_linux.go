package agent

import (
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// peerCredOf reads SO_PEERCRED: the uid and pid of the process that
// connected, recorded by the kernel at connect time.
func peerCredOf(fd int) (peerCred, error) {
	u, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return peerCred{UID: -1, PID: -1}, err
	}
	return peerCred{UID: int(u.Uid), PID: int(u.Pid), ViaSSH: isSSHClient(int(u.Pid))}, nil
}

// isSSHClient says whether pid runs OpenSSH's client. A same-user process
// could pretend by naming itself ssh, which only restricts it further; the
// remote end of a forwarding can never make the local ssh look like
// something else.
func isSSHClient(pid int) bool {
	if pid <= 0 {
		return false
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return err == nil && filepath.Base(exe) == "ssh"
}
