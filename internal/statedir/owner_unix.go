//go:build unix

package statedir

import (
	"io/fs"
	"syscall"
)

// NoFollow is the open flag that makes opening a symlink fail: lock and
// state files are opened with it, so a link planted in their place is
// refused rather than followed.
const NoFollow = syscall.O_NOFOLLOW

func owner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
