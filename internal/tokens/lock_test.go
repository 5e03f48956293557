package tokens

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestLockNameFitsAnySubject(t *testing.T) {
	dir := t.TempDir()
	// OpenID allows 255-character subjects; the key adds the provider.
	key := "corp/" + strings.Repeat("s", 255) + "/../../etc"
	l, err := LockIdentity(context.Background(), dir, key)
	if err != nil {
		t.Fatalf("lock for a long subject: %v", err)
	}
	defer l.Unlock()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != LockName(key) || len(entries[0].Name()) > 64 {
		t.Errorf("lock files: %v", entries)
	}
}

func TestLockExcludesAndWaits(t *testing.T) {
	dir := t.TempDir()
	first, err := LockIdentity(context.Background(), dir, "p/s")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := LockIdentity(ctx, dir, "p/s"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second holder got the lock: %v", err)
	}
	other, err := LockIdentity(context.Background(), dir, "p/other")
	if err != nil {
		t.Fatalf("another identity's lock: %v", err)
	}
	other.Unlock()
	got := make(chan error, 1)
	go func() {
		l, err := LockIdentity(context.Background(), dir, "p/s")
		if err == nil {
			l.Unlock()
		}
		got <- err
	}()
	time.Sleep(20 * time.Millisecond)
	first.Unlock()
	if err := <-got; err != nil {
		t.Fatalf("the waiter did not get the lock once released: %v", err)
	}
}

func TestLockRefusesASymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("O_NOFOLLOW is a unix defence")
	}
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Symlink(target, filepath.Join(dir, LockName("p/s"))); err != nil {
		t.Fatal(err)
	}
	if _, err := LockIdentity(context.Background(), dir, "p/s"); err == nil {
		t.Fatal("the lock followed a planted symlink")
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Error("the symlink's target was created")
	}
}
