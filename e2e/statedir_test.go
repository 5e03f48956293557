//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authcli/authcli/internal/devidp"
)

// TestStateDirTrust is ssh's rule for ~/.ssh applied to AUTHCLI_STATE_DIR,
// for both vault backends: a state directory, or a directory in it, that
// another user owns or may write to is refused before any secret is read
// or written (another user who deletes lock files makes two refreshes spend
// one rotating refresh token). The keyring variant needs no Secret
// Service: the refusal comes first.
func TestStateDirTrust(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(t *testing.T, r *run) // after a sign-in made the directory
		words string
	}{
		{"world-writable state directory", func(t *testing.T, r *run) { chmodT(t, r.stateDir(), 0o777) }, "is writable by other users (mode 0777)"},
		{"group-writable locks/", func(t *testing.T, r *run) { chmodT(t, filepath.Join(r.stateDir(), "locks"), 0o770) }, "locks is writable by other users"},
		{"locks/ replaced by a link elsewhere", func(t *testing.T, r *run) {
			locks := filepath.Join(r.stateDir(), "locks")
			if err := os.RemoveAll(locks); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(t.TempDir(), locks); err != nil {
				t.Fatal(err)
			}
		}, "locks is a symbolic link"},
		{"state directory of another user", func(t *testing.T, r *run) {
			if os.Geteuid() == 0 {
				if err := os.Chown(r.stateDir(), 65534, 65534); err != nil {
					t.Fatal(err)
				}
				return
			}
			// Not root: point at a directory root owns instead.
			r.setenv("AUTHCLI_STATE_DIR=/")
		}, "belongs to another user"},
	}
	for _, backend := range []string{"file", "keyring"} {
		for _, tt := range tests {
			t.Run(backend+"/"+tt.name, func(t *testing.T) {
				_, r, _ := signedIn(t, devidp.Options{})
				// The first refresh creates locks/.
				if res := r.exec("token", "local", "--min-ttl", "2h"); res.code != 0 {
					t.Fatalf("refresh: exit %d\n%s", res.code, res.stderr)
				}
				tt.spoil(t, r)
				if backend == "keyring" {
					r.setenv("AUTHCLI_VAULT=keyring")
				}
				for _, args := range [][]string{{"token", "local"}, {"login", "local", "--timeout", "20s"}} {
					res := r.exec(args...)
					if res.code != 5 || res.stdout != "" {
						t.Errorf("%v: exit %d, stdout %q, want 5 and nothing\n%s", args, res.code, res.stdout, res.stderr)
					}
					lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
					if len(lines) != 1 || !strings.Contains(lines[0], tt.words) {
						t.Errorf("%v: stderr is not the one sentence saying %q: %q", args, tt.words, res.stderr)
					}
				}
			})
		}
	}
}

// TestStateFilesNoFollow: a symlink planted in place of a lock file is
// refused, not followed: the file it points to is neither created nor
// locked.
func TestStateFilesNoFollow(t *testing.T) {
	_, r, _ := signedIn(t, devidp.Options{})
	if res := r.exec("token", "local", "--min-ttl", "2h"); res.code != 0 {
		t.Fatalf("refresh: exit %d\n%s", res.code, res.stderr)
	}
	target := filepath.Join(t.TempDir(), "victim")
	locks := filepath.Join(r.stateDir(), "locks")
	entries, err := os.ReadDir(locks)
	if err != nil || len(entries) == 0 {
		t.Fatalf("no lock file to replace: %v", err)
	}
	lock := filepath.Join(locks, entries[0].Name())
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, lock); err != nil {
		t.Fatal(err)
	}
	res := r.exec("token", "local", "--min-ttl", "2h")
	if res.code == 0 || res.stdout != "" {
		t.Errorf("refresh through a symlinked lock: exit %d, stdout %q", res.code, res.stdout)
	}
	if _, err := os.Lstat(target); err == nil {
		t.Error("the symlink was followed: its target was created")
	}
}

func chmodT(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}
