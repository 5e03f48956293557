package vault

import (
	"os"
	"syscall"
)

// datasync makes f's data durable without its times: a slot written in
// place changes no size and no block map, so the file's metadata need not
// be written again.
func datasync(f *os.File) error {
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
