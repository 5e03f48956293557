package tokens

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ErrLockWait means another authcli held the identity's refresh lock for
// longer than a refresh can take.
var ErrLockWait = errors.New("another authcli process is still refreshing these tokens")

// maxLockWait bounds how long a caller waits for another process's refresh:
// a refresh is one HTTP round trip with a 30-second deadline, plus a write.
const maxLockWait = 2 * time.Minute

// Lock is a held per-identity refresh lock: an flock on a file in the lock
// directory. Only its holder may spend the identity's refresh token, so two
// processes never present the same rotating token.
//
// The lock belongs to the open file, not to the process: a Lock handed to a
// child process (File) stays held while the child lives, however its parent
// ends. That is what lets a refresh outlive a killed caller.
type Lock struct {
	f *os.File
}

// LockName is the lock file's name for an identity key. A hash fits any
// subject (OpenID allows 255 characters, and keys hold a provider name too)
// in one path element, and no key can name a file outside the directory.
func LockName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16]) + ".lock"
}

// LockIdentity takes key's refresh lock in dir, waiting while another
// process holds it, until ctx ends or maxLockWait passes.
func LockIdentity(ctx context.Context, dir, key string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the lock directory: %w", err)
	}
	f, err := openLockFile(filepath.Join(dir, LockName(key)))
	if err != nil {
		return nil, fmt.Errorf("open the refresh lock: %w", err)
	}
	deadline := time.NewTimer(maxLockWait)
	defer deadline.Stop()
	delay := time.Millisecond
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("take the refresh lock: %w", err)
		}
		if ok {
			return &Lock{f: f}, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-deadline.C:
			f.Close()
			return nil, fmt.Errorf("%w (waited %s)", ErrLockWait, maxLockWait)
		case <-time.After(delay):
		}
		// Back off to 20ms: a refresh takes milliseconds, so waiters
		// notice quickly without spinning.
		delay = min(delay*2, 20*time.Millisecond)
	}
}

// AdoptLock takes over a lock whose file was inherited from the process
// that acquired it (see File).
func AdoptLock(f *os.File) *Lock { return &Lock{f: f} }

// File is the lock's open file, to pass to a child process; the lock stays
// held until every copy of it is closed.
func (l *Lock) File() *os.File { return l.f }

// Unlock releases this copy of the lock.
func (l *Lock) Unlock() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
