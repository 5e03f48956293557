package atomicfile

import (
	"os"
	"syscall"
)

// DataSync makes f's data durable, and its size, without its times
// (fdatasync): a write in place over data already there changes no size
// and no block map, so the file's metadata need not be written again.
func DataSync(f *os.File) error {
	flushes.Add(1)
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := sc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}
