package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// newSpare is a Spare in dir, or the test is skipped where the system
// has none.
func newSpare(t *testing.T, dir string) *Spare {
	t.Helper()
	s, err := NewSpare(dir)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("no spare files on %s", runtime.GOOS)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSparePlace(t *testing.T) {
	for _, flush := range []bool{false, true} {
		dir := t.TempDir()
		s := newSpare(t, dir)
		if names, _ := os.ReadDir(dir); len(names) != 0 {
			t.Fatalf("a spare shows in its directory: %v", names)
		}
		path := filepath.Join(dir, "record")
		before := Flushes()
		if err := s.Place(path, []byte("value"), flush); err != nil {
			t.Fatal(err)
		}
		if got, want := Flushes()-before, map[bool]int64{false: 0, true: 2}[flush]; got != want {
			t.Errorf("flush %v: %d flushes, want %d", flush, got, want)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != "value" {
			t.Fatalf("read %q, %v", got, err)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", fi.Mode().Perm())
		}
		if err := s.Place(filepath.Join(dir, "again"), []byte("x"), flush); !errors.Is(err, ErrSpareUsed) {
			t.Errorf("a second Place: %v, want ErrSpareUsed", err)
		}
	}
}

// A spare never writes over a file there: the caller's record that
// exists already keeps its content.
func TestSparePlaceRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "record")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := newSpare(t, dir).Place(path, []byte("new"), false)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Place over a file: %v, want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("the file there now holds %q", got)
	}
}

func TestSparePlaceOtherDirectory(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	if err := newSpare(t, dir).Place(filepath.Join(other, "record"), []byte("v"), false); err == nil {
		t.Fatal("placed a spare in another directory")
	}
	if names, _ := os.ReadDir(other); len(names) != 0 {
		t.Errorf("files in the other directory: %v", names)
	}
}

// A spare given up leaves its directory as it was.
func TestSpareClose(t *testing.T) {
	dir := t.TempDir()
	s := newSpare(t, dir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Errorf("files left: %v", names)
	}
	if err := s.Place(filepath.Join(dir, "record"), nil, false); !errors.Is(err, ErrSpareUsed) {
		t.Errorf("Place after Close: %v", err)
	}
}
