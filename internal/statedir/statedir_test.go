//go:build unix

package statedir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		words string // "" means trusted
	}{
		{"fresh 0700 directory", func(t *testing.T, dir string) {}, ""},
		{"with locks/ and files", func(t *testing.T, dir string) {
			mkdir(t, filepath.Join(dir, "locks"), 0o700)
			write(t, filepath.Join(dir, "accounts.json"))
		}, ""},
		{"group-readable is fine", func(t *testing.T, dir string) { chmod(t, dir, 0o750) }, ""},
		{"world-writable state directory", func(t *testing.T, dir string) { chmod(t, dir, 0o777) }, "writable by other users (mode 0777)"},
		{"group-writable state directory", func(t *testing.T, dir string) { chmod(t, dir, 0o770) }, "writable by other users"},
		{"world-writable locks/", func(t *testing.T, dir string) { mkdir(t, filepath.Join(dir, "locks"), 0o777) }, "locks is writable by other users"},
		{"sticky /tmp-like locks/", func(t *testing.T, dir string) {
			mkdir(t, filepath.Join(dir, "locks"), 0o700)
			if err := os.Chmod(filepath.Join(dir, "locks"), os.ModeSticky|0o777); err != nil {
				t.Fatal(err)
			}
		}, "writable by other users"},
		{"locks/ is a symlink", func(t *testing.T, dir string) {
			other := t.TempDir()
			if err := os.Symlink(other, filepath.Join(dir, "locks")); err != nil {
				t.Fatal(err)
			}
		}, "locks is a symbolic link"},
		{"a file is a symlink", func(t *testing.T, dir string) {
			if err := os.Symlink("/etc/passwd", filepath.Join(dir, "accounts.json")); err != nil {
				t.Fatal(err)
			}
		}, "accounts.json is a symbolic link"},
		{"state directory is a file", func(t *testing.T, dir string) {}, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "authcli")
			if tt.name == "state directory is a file" {
				write(t, dir)
			} else {
				mkdir(t, dir, 0o700)
			}
			tt.setup(t, dir)
			err := Check(dir)
			if tt.words == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), tt.words) {
				t.Fatalf("err = %v, want ErrUntrusted saying %q", err, tt.words)
			}
		})
	}
	if err := Check(filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Errorf("a directory that does not exist yet: %v", err)
	}
}

// TestCheckOwner: a directory of another user is refused (made with chown
// when the test runs as root, else the root-owned /).
func TestCheckOwner(t *testing.T) {
	dir := "/"
	if os.Geteuid() == 0 {
		dir = filepath.Join(t.TempDir(), "authcli")
		mkdir(t, dir, 0o700)
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	if err := Check(dir); !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), "belongs to another user") {
		t.Fatalf("err = %v", err)
	}
}

func mkdir(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(p, mode); err != nil {
		t.Fatal(err)
	}
	chmod(t, p, mode)
}

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p string) {
	t.Helper()
	if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
}
