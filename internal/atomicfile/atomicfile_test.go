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
