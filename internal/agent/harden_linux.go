package agent

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Harden protects the agent's memory as far as Linux allows and says what
// it did, for status: not dumpable (no core file, no ptrace or
// /proc/PID/mem by the same user), and every page locked in RAM so the
// vault key never reaches swap. Locking everything is only attempted when
// the process may lock unlimited memory (CAP_IPC_LOCK or an infinite
// RLIMIT_MEMLOCK): with a small limit, MCL_FUTURE would make the Go
// runtime's own allocations fail later. MCL_ONFAULT locks pages as they
// are touched: without it the kernel would fill every arena the Go
// runtime reserves (about 150 MB resident instead of 14).
func Harden() string {
	desc := "not dumpable"
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		desc = "dumpable (prctl failed: " + err.Error() + ")"
	}
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	var lim unix.Rlimit
	_ = unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim)
	if lim.Cur != unix.RLIM_INFINITY && !hasCap(unix.CAP_IPC_LOCK) {
		return desc + fmt.Sprintf(", memory not locked (RLIMIT_MEMLOCK is %d bytes; allow unlimited, e.g. LimitMEMLOCK=infinity, to keep the key out of swap)", lim.Cur)
	}
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE | unix.MCL_ONFAULT); err != nil {
		return desc + ", memory not locked (mlockall: " + err.Error() + ")"
	}
	return desc + ", memory locked (no swap)"
}

func hasCap(c int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[c/32].Effective&(1<<(uint(c)%32)) != 0
}
