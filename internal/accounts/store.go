package accounts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofrs/flock"

	"github.com/authcli/authcli/internal/atomicfile"
	"github.com/authcli/authcli/internal/statedir"
)

// FileName is the store's file inside the state directory; the lock file is
// FileName + ".lock" beside it.
const FileName = "accounts.json"

// tempPattern names in-flight writes; any such file found while holding the
// lock was left by a writer that died, and is removed.
const (
	tempPrefix  = "." + FileName + "."
	tempPattern = tempPrefix + "*.tmp"
)

// Store is accounts.json in a state directory. Readers never lock: every
// write replaces the file with rename, so a reader sees the old or the new
// state whole. Writers serialise on a lock file beside it, across processes
// and across goroutines sharing the Store. Each write also refreshes a
// small lookup index (IndexName) so that Lookup, on every `authcli token`,
// need not parse every account.
type Store struct {
	dir  string
	path string
	mu   sync.Mutex

	// last is what accounts.json held when this Store last read or wrote
	// it (before refresh notes), and lastSrc which file that was. load
	// reuses it while accounts.json is still that file, by the test the
	// index passes (inode, size, modification time): a first sign-in
	// reads the store to resolve the outcome, then updates it under the
	// lock, and parses the whole file once rather than twice.
	lastMu  sync.Mutex
	last    *State
	lastSrc source

	// early is the index Prefetch read and checked, nil when none.
	early atomic.Pointer[indexCopy]
	// ahead is the resolution PrepareNew worked out on it, nil when none.
	ahead atomic.Pointer[resolvedAhead]
}

// OpenStore returns the store for dir ($AUTHCLI_STATE_DIR). Nothing is
// touched until Load or Update.
func OpenStore(dir string) *Store {
	return &Store{dir: dir, path: filepath.Join(dir, FileName)}
}

// Path is the accounts.json path, for messages.
func (s *Store) Path() string { return s.path }

// Load reads the state. A missing file is the empty state; a file that does
// not parse or breaks the invariants is an ErrCorrupt error naming the file,
// never an empty state (which would lose every account on the next write).
//
// The refresh notes (NoteRefresh) written since the last Update are
// applied to the state returned.
func (s *Store) Load() (*State, error) {
	st, _, err := s.load()
	return st, err
}

// load is Load, also returning the files of the notes it applied, which
// accounts.json holds once Update writes it (with the new accounts of
// AddNew, which load applies too).
func (s *Store) load() (*State, []string, error) {
	st, err := s.loadFile()
	if err != nil {
		return nil, nil, err
	}
	if err := s.applyAdded(st); err != nil {
		return nil, nil, err
	}
	return st, s.applyNotes(st), nil
}

// loadFile reads accounts.json alone (no notes), parsing it only when it
// is not the file this Store last read or wrote.
func (s *Store) loadFile() (*State, error) {
	// O_NOFOLLOW: another user must not choose, with a symlink, what
	// authcli takes for its accounts.
	f, err := os.OpenFile(s.path, os.O_RDONLY|statedir.NoFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Version: SchemaVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read accounts store: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read accounts store: %w", err)
	}
	src := sourceOf(fi)
	if st := s.recall(src); st != nil {
		return st, nil
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read accounts store: %w", err)
	}
	st, err := decodeState(data)
	if err != nil {
		return nil, &ruleError{kind: ErrCorrupt,
			msg: fmt.Sprintf("accounts store %s is unusable (%v); repair it or move it aside", s.path, err)}
	}
	s.remember(src, st)
	return st, nil
}

// recall returns a copy of the remembered state if src is the file it
// came from.
func (s *Store) recall(src source) *State {
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	if s.last == nil || s.lastSrc != src {
		return nil
	}
	return s.last.Clone()
}

// remember keeps a copy of st as the content of the file src.
func (s *Store) remember(src source, st *State) {
	c := st.Clone()
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	s.last, s.lastSrc = c, src
}

// forget drops the remembered state before accounts.json is written. The
// written state is not remembered in its place: it holds what a sign-in
// put there (claims as []string, say), where a parse gives JSON's types.
func (s *Store) forget() {
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	s.last = nil
}

// Update changes the state under the lock: it takes the lock, re-reads the
// file, runs fn, checks the invariants and writes atomically. If fn returns
// an error nothing is written and that error is returned as is.
func (s *Store) Update(fn func(*State) error) error {
	return s.update(func(l *flock.Flock) error { return l.Lock() }, fn)
}

// UpdateContext is Update giving up when ctx ends while waiting for the lock.
func (s *Store) UpdateContext(ctx context.Context, fn func(*State) error) error {
	return s.update(func(l *flock.Flock) error {
		ok, err := l.TryLockContext(ctx, 10*time.Millisecond)
		if err == nil && !ok {
			err = ctx.Err()
		}
		return err
	}, fn)
}

func (s *Store) update(lock func(*flock.Flock) error, fn func(*State) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	l := s.lockFile()
	if err := lock(l); err != nil {
		return fmt.Errorf("lock accounts store %s: %w", s.path, err)
	}
	defer l.Unlock()
	s.removeStaleTemps()

	st, folded, err := s.load()
	if err != nil {
		return err
	}
	if err := fn(st); err != nil {
		return err
	}
	data, err := encodeState(st)
	if err != nil {
		return fmt.Errorf("refusing to write accounts store %s: %w", s.path, err)
	}
	s.forget()
	if err := atomicfile.Write(s.path, tempPattern, data); err != nil {
		return fmt.Errorf("write accounts store %s: %w", s.path, err)
	}
	// accounts.json holds the new accounts and what the notes said now
	// (load applied them).
	s.clearAdded()
	removeNotes(folded)
	s.writeIndex(st)
	return nil
}

// lockFile is the lock every writer of the store takes (Update,
// NoteRefresh), beside accounts.json.
func (s *Store) lockFile() *flock.Flock {
	return flock.New(s.path+".lock", flock.SetFlag(os.O_CREATE|os.O_RDWR|statedir.NoFollow), flock.SetPermissions(0o600))
}

// removeStaleTemps deletes temp files of writers that died mid-write. Only
// called under the lock, when no live writer can own one.
func (s *Store) removeStaleTemps() {
	for _, pattern := range []string{tempPattern, indexTempPattern} {
		matches, _ := filepath.Glob(filepath.Join(s.dir, pattern))
		for _, m := range matches {
			_ = os.Remove(m)
		}
	}
}

// decodeState parses accounts.json and checks it as hostile input.
func decodeState(data []byte) (*State, error) {
	var st State
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: data after the top-level object")
	}
	if st.Version != SchemaVersion {
		if st.Version > SchemaVersion {
			return nil, fmt.Errorf("schema version %d is newer than this authcli understands (%d); upgrade authcli", st.Version, SchemaVersion)
		}
		return nil, fmt.Errorf("schema version %d is not supported (want %d)", st.Version, SchemaVersion)
	}
	if err := st.check(); err != nil {
		return nil, err
	}
	return &st, nil
}

// encodeState checks the invariants and renders the file.
func encodeState(st *State) ([]byte, error) {
	st.Version = SchemaVersion
	if err := st.check(); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode accounts: %w", err)
	}
	return append(data, '\n'), nil
}

// check enforces the State invariants.
func (st *State) check() error {
	names := make(map[string]bool, len(st.Accounts))
	keys := make(map[string]string)
	for _, a := range st.Accounts {
		if err := ValidateName(a.Name); err != nil {
			return err
		}
		if names[a.Name] {
			return fmt.Errorf("account %q appears twice", a.Name)
		}
		names[a.Name] = true
		if len(a.Identities) == 0 {
			return fmt.Errorf("account %q has no identity", a.Name)
		}
		for _, id := range a.Identities {
			if err := validateID("provider", id.Provider); err != nil {
				return fmt.Errorf("account %q: %w", a.Name, err)
			}
			if err := validateID("subject", id.Subject); err != nil {
				return fmt.Errorf("account %q: %w", a.Name, err)
			}
			if other, dup := keys[id.Key()]; dup {
				return fmt.Errorf("identity %s is on accounts %q and %q", id.Key(), other, a.Name)
			}
			keys[id.Key()] = a.Name
		}
	}
	switch {
	case len(st.Accounts) == 0 && st.Default != "":
		return fmt.Errorf("default account %q does not exist", st.Default)
	case len(st.Accounts) > 0 && !names[st.Default]:
		return fmt.Errorf("default account %q does not exist", st.Default)
	}
	return nil
}
