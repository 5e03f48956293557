package atomicfile

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, content := range []string{"first", "second, longer than the first"} {
		if err := Write(path, ".state.*.tmp", []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", fi.Mode().Perm())
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".state.*.tmp")); len(left) != 0 {
		t.Errorf("temp files left behind: %v", left)
	}
}

// TestWriteFailureKeepsOld: when the rename cannot happen, the old file is
// intact and no temp file remains.
func TestWriteFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := Write(path, ".state.*.tmp", []byte("old")); err != nil {
		t.Fatal(err)
	}
	// A directory where the file should go makes the rename fail.
	blocked := filepath.Join(dir, "blocked")
	if err := os.MkdirAll(filepath.Join(blocked, "child"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Write(blocked, ".blocked.*.tmp", []byte("new")); err == nil {
		t.Fatal("rename over a non-empty directory succeeded")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".blocked.*.tmp")); len(left) != 0 {
		t.Errorf("temp file left after a failed write: %v", left)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("unrelated file changed: %q", got)
	}
	if err := Write(filepath.Join(dir, "missing", "x"), "*.tmp", []byte("x")); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

// TestWriteTail: a tail goes after what is kept, whatever a torn write
// left beyond it is dropped, a new file is made 0600, and a symlink in the
// file's place is refused.
func TestWriteTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	for _, step := range []struct {
		at, size int64
		data     string
		want     string
	}{
		{0, -1, "one\n", "one\n"},
		{4, 4, "two\n", "one\ntwo\n"},
		{8, 12, "3\n", "one\ntwo\n3\n"}, // "torn" bytes 8..12 replaced, the rest cut
	} {
		if step.size == 12 {
			if err := os.WriteFile(path, []byte("one\ntwo\ntorn-tail"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := WriteTail(path, step.at, step.size, []byte(step.data)); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if string(got) != step.want {
			t.Fatalf("after writing %q at %d: %q, want %q", step.data, step.at, got, step.want)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	link := filepath.Join(filepath.Dir(path), "link")
	if err := os.Symlink(path, link); err != nil {
		t.Skip(err)
	}
	if err := WriteTail(link, 0, 0, []byte("x")); err == nil {
		t.Error("wrote through a symlink")
	}
}

// TestFlushes: the flushed writes sync the file and, when they rename or
// create, the directory; the unflushed ones write the same bytes and sync
// nothing.
func TestFlushes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	wantDir := int64(1)
	if runtime.GOOS == "windows" {
		wantDir = 0
	}
	for _, tt := range []struct {
		name    string
		write   func() error
		flushes int64
	}{
		{"WriteLocked", func() error { return WriteLocked(path, ".f.tmp", []byte("locked")) }, 1 + wantDir},
		{"WriteLockedUnflushed", func() error { return WriteLockedUnflushed(path, ".f.tmp", []byte("unflushed")) }, 0},
		{"WriteTail, new file", func() error { return WriteTail(path+".log", 0, -1, []byte("a")) }, 1 + wantDir},
		{"WriteTail", func() error { return WriteTail(path+".log", 1, 1, []byte("b")) }, 1},
		{"WriteTailUnflushed", func() error { return WriteTailUnflushed(path+".log", 2, 2, []byte("c")) }, 0},
		{"WriteTailUnflushed, new file", func() error { return WriteTailUnflushed(path+".new", 0, -1, []byte("d")) }, 0},
	} {
		before := Flushes()
		if err := tt.write(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := Flushes() - before; got != tt.flushes {
			t.Errorf("%s: %d flushes, want %d", tt.name, got, tt.flushes)
		}
	}
	for p, want := range map[string]string{path: "unflushed", path + ".log": "abc", path + ".new": "d"} {
		if got, err := os.ReadFile(p); err != nil || string(got) != want {
			t.Errorf("%s holds %q, %v; want %q", filepath.Base(p), got, err, want)
		}
	}
	if fi, err := os.Stat(path + ".new"); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("an unflushed new file: %v, %v", fi, err)
	}
}
