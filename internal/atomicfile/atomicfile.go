// Package atomicfile replaces files so that a crash at any moment leaves
// either the old or the new content, never a torn file: authcli's state
// files (the accounts store, the file vault) are written only through it.
//
// Every write is atomic: a process killed at any point leaves the old
// content or the new, since the kernel already holds what it wrote.
// Flushed writes (Write, WriteLocked, WriteTail) are also durable when they
// return, against a crash of the machine; the Unflushed ones leave that
// to the kernel's writeback, for what a machine crash may undo because
// redoing it costs a sign-in and nothing else.
package atomicfile

import (
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"

	"github.com/authcli/authcli/internal/statedir"
)

// flushes counts the fsyncs and fdatasyncs this process asked for.
var flushes atomic.Int64

// Flushes is how many times this process has flushed a file or directory
// to disk through this package: what a test counts to hold a write to
// the durability it promises.
func Flushes() int64 { return flushes.Load() }

// Write replaces path with data. It writes a temp file in path's directory,
// named by pattern (os.CreateTemp syntax, so a caller can find and clean up
// leftovers of a writer that died), with mode 0600, syncs it, renames it over
// path and syncs the directory so the rename itself survives a crash. On
// failure the temp file is removed and path is untouched.
func Write(path, pattern string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), pattern)
	if err != nil {
		return err
	}
	return replace(f, path, data)
}

// WriteLocked is Write through a temp file of a fixed name, tmp (a base
// name, in path's directory), for a writer holding a lock that every
// writer of path takes. A temp file a writer left behind when it died is
// then reused rather than found by listing the directory, so the write
// costs the same however many files the directory holds. tmp is opened
// without following a symlink.
func WriteLocked(path, tmp string, data []byte) error {
	return writeLocked(path, tmp, data, true)
}

// WriteLockedUnflushed is WriteLocked without its two syncs: after a crash
// of the machine (not of the process) path may hold the old content, or
// be empty if it was new.
func WriteLockedUnflushed(path, tmp string, data []byte) error {
	return writeLocked(path, tmp, data, false)
}

func writeLocked(path, tmp string, data []byte, flush bool) error {
	f, err := os.OpenFile(filepath.Join(filepath.Dir(path), tmp), os.O_RDWR|os.O_CREATE|os.O_TRUNC|statedir.NoFollow, 0o600)
	if err != nil {
		return err
	}
	return replaceWith(f, path, data, flush)
}

// replace writes data to the new temp file f, makes it durable and renames
// it onto path; on failure f is removed.
func replace(f *os.File, path string, data []byte) error {
	return replaceWith(f, path, data, true)
}

// replaceWith is replace, durable only with flush.
func replaceWith(f *os.File, path string, data []byte, flush bool) (err error) {
	dir := filepath.Dir(path)
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
	if flush {
		flushes.Add(1)
		if err = f.Sync(); err != nil {
			return err
		}
	}
	closed = true
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	if !flush {
		return nil
	}
	return SyncDir(dir)
}

// SyncDir makes a rename or removal in dir durable. Windows cannot open a
// directory for fsync; there it is as durable as it gets.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	flushes.Add(1)
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// WriteTail writes data at offset at of path, a file written in place
// only (an append log), drops what lay beyond data's end (the rest of an
// earlier write a crash tore), and makes it durable: an fdatasync, and
// the directory's fsync when the file is new (size < 0: there was none).
// A symlink in path's place is refused.
func WriteTail(path string, at, size int64, data []byte) error {
	return writeTail(path, at, size, data, true)
}

// WriteTailUnflushed is WriteTail without its syncs: after a crash of the
// machine the file may end before data, or hold it in part (a log's
// reader drops a torn last entry).
func WriteTailUnflushed(path string, at, size int64, data []byte) error {
	return writeTail(path, at, size, data, false)
}

func writeTail(path string, at, size int64, data []byte, flush bool) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|statedir.NoFollow, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(data, at); err != nil {
		return err
	}
	if end := at + int64(len(data)); size > end {
		if err := f.Truncate(end); err != nil {
			return err
		}
	}
	if !flush {
		return nil
	}
	if err := DataSync(f); err != nil {
		return err
	}
	if size < 0 {
		return SyncDir(filepath.Dir(path))
	}
	return nil
}
