package atomicfile

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// openUnnamed opens a new file without a name in dir (O_TMPFILE). It is
// not O_EXCL: such a file could never be linked.
func openUnnamed(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_RDWR|unix.O_TMPFILE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, &os.PathError{Op: "open unnamed file in", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// linkUnnamed gives f, a file of openUnnamed's, the name path. Linking by
// the descriptor itself (AT_EMPTY_PATH) takes a capability an ordinary
// user lacks; through /proc's link to the descriptor it takes none.
// Where /proc is not mounted it fails, and the caller writes the usual way.
func linkUnnamed(f *os.File, path string) error {
	var lerr error
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	if err := sc.Control(func(fd uintptr) {
		lerr = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(int(fd)), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
	}); err != nil {
		return err
	}
	if lerr != nil {
		return &os.LinkError{Op: "link", Old: "(spare file)", New: path, Err: lerr}
	}
	return nil
}
