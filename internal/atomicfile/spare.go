package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
)

// Spare is a file made ahead of a write that will create a new file in
// the same directory: a file with no name yet, which Place fills and
// names. Creating a file is the dear part of such a write (an inode
// allocated and journalled: 0.1 to 0.9 ms on the machines measured,
// where giving a file its name took 40 us), so a caller that knows a new
// file is coming, and has time to wait in (a sign-in, while userinfo is
// on its way), makes the Spare then. A Spare never named leaves
// nothing behind: its file goes when it is closed, or with the process.
type Spare struct {
	f   *os.File
	dir string
}

// ErrSpareUsed is Place on a Spare already placed or closed.
var ErrSpareUsed = errors.New("spare file already used")

// NewSpare makes a Spare in dir, with mode 0600. Where the system has no
// files without a name (only Linux has them) it is errors.ErrUnsupported,
// and the caller creates its file the usual way.
func NewSpare(dir string) (*Spare, error) {
	f, err := openUnnamed(dir)
	if err != nil {
		return nil, err
	}
	// The mode given at creation is cut by the umask; 0600 it must be.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	return &Spare{f: f, dir: filepath.Clean(dir)}, nil
}

// Place writes data to the spare and gives it the name path, which must
// be in the spare's directory and must not exist: if it does, Place is an
// error matching fs.ErrExist and path is untouched. Readers see path only
// once it holds all of data, as after a rename. With flush it is durable
// when Place returns (the file's fsync before the name is written, the
// directory's after), like Write. The spare is used up either way.
func (s *Spare) Place(path string, data []byte, flush bool) error {
	if s == nil || s.f == nil {
		return ErrSpareUsed
	}
	defer s.Close()
	if filepath.Dir(filepath.Clean(path)) != s.dir {
		return errors.New("a spare file is placed only in its own directory")
	}
	if _, err := s.f.Write(data); err != nil {
		return err
	}
	if flush {
		flushes.Add(1)
		if err := s.f.Sync(); err != nil {
			return err
		}
	}
	if err := linkUnnamed(s.f, path); err != nil {
		return err
	}
	if !flush {
		return nil
	}
	return SyncDir(s.dir)
}

// Close gives the spare up unplaced; its file goes with it.
func (s *Spare) Close() error {
	if s == nil || s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
