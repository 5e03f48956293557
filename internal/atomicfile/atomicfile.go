// Package atomicfile replaces files so that a crash at any moment leaves
// either the old or the new content, never a torn file: authcli's state
// files (the accounts store, the file vault) are written only through it.
package atomicfile

import (
	"os"
	"path/filepath"
	"runtime"
)

// Write replaces path with data. It writes a temp file in path's directory,
// named by pattern (os.CreateTemp syntax, so a caller can find and clean up
// leftovers of a writer that died), with mode 0600, syncs it, renames it over
// path and syncs the directory so the rename itself survives a crash. On
// failure the temp file is removed and path is untouched.
func Write(path, pattern string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return err
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = f.Close()
			}
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	closed = true
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir makes a rename or removal in dir durable. Windows cannot open a
// directory for fsync; there it is as durable as it gets.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
