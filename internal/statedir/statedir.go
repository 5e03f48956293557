// Package statedir decides whether authcli may trust its state directory
// (AUTHCLI_STATE_DIR): the accounts store, the lock files and the file
// vault live there, and whoever can write to it can delete a lock (two
// refreshes at once spend one rotating refresh token twice, and the
// provider revokes the family), swap a file for a symlink, or replace the
// accounts store. Like ssh with ~/.ssh, authcli refuses a directory that
// is not the user's own.
package statedir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// ErrUntrusted means the state directory, or a directory in it, is owned
// by another user, writable by group or others, or a symlink inside it.
var ErrUntrusted = errors.New("the state directory is not safe to use")

// maxEntries bounds how many entries Check looks at: the directory holds a
// handful of files (accounts.json, the vault, locks/); a huge one is
// checked no further than this and refused.
const maxEntries = 4096

// Check verifies dir and every directory in it (one level: authcli makes
// no deeper ones) are owned by this user and not writable by group or
// others, and that nothing in it is a symlink to a directory elsewhere. A
// dir that does not exist yet is fine: authcli creates it 0700. dir itself
// may be a symlink (a state directory moved to another disk); what it
// points to is checked.
func Check(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // ACLs, not modes; the profile directory is private
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("check the state directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrUntrusted, dir)
	}
	if err := checkOwn(dir, fi); err != nil {
		return err
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("check the state directory: %w", err)
	}
	defer f.Close()
	entries, err := f.ReadDir(maxEntries + 1)
	if err != nil && len(entries) == 0 && !errors.Is(err, io.EOF) {
		return fmt.Errorf("check the state directory: %w", err)
	}
	if len(entries) > maxEntries {
		return fmt.Errorf("%w: %s holds more than %d entries", ErrUntrusted, dir, maxEntries)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			// A link anywhere else lets its owner decide what authcli
			// opens; authcli itself never makes one.
			return fmt.Errorf("%w: %s is a symbolic link; authcli keeps only its own files there (remove it)", ErrUntrusted, path)
		case e.IsDir():
			info, err := e.Info()
			if err != nil {
				return fmt.Errorf("check the state directory: %w", err)
			}
			if err := checkOwn(path, info); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkOwn refuses a directory another user owns or may write to.
func checkOwn(path string, fi fs.FileInfo) error {
	if uid, ok := owner(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("%w: %s belongs to another user (uid %d, you are %d); use a directory of your own", ErrUntrusted, path, uid, os.Geteuid())
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by other users (mode %04o); fix it with: chmod 700 %s", ErrUntrusted, path, perm, path)
	}
	return nil
}
