package accounts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authcli/authcli/internal/atomicfile"
	"github.com/authcli/authcli/internal/statedir"
)

// AddedDir holds the accounts AddNew created since the last Update, one
// file each, named by a sequence number (00000001.json, …) so that Load
// appends them in the order they were made. A first sign-in that creates
// an account writes only its own entry (and the small index) instead of
// rewriting all of accounts.json, whose size grows with every identity:
// 95 ms at 1,000 identities, against 3.5 ms at one. The next Update folds
// the entries into accounts.json and removes them.
const AddedDir = "added.d"

// maxAdded bounds the entries waiting to be folded: past it AddNew leaves
// the sign-in to Update, which folds them all, so that Load never reads
// more than this many small files on top of accounts.json.
const maxAdded = 100

// maxAddedSize bounds what Load reads of one entry: one account with one
// identity, its claims capped (MaxClaimsBytes).
const maxAddedSize = 256 << 10

func (s *Store) addedDir() string { return filepath.Join(s.dir, AddedDir) }

// addedPath names entry n.
func (s *Store) addedPath(n int) string {
	return filepath.Join(s.addedDir(), fmt.Sprintf("%08d.json", n))
}

// AddNew stores a sign-in of an identity no account holds when it creates
// an account (outcome Created) and the store already has a default
// account: it decides from the index, as Resolve would on the whole store,
// and writes the new account as an entry in AddedDir and the index, all
// under the store's lock, without reading or rewriting accounts.json.
// beforeWrite runs under the lock once the outcome is known and before
// anything is written (the Keeper stores the tokens there); its error is
// returned as is, with nothing written.
//
// done is false, with nothing written and beforeWrite not called, when
// the sign-in must go the full way (Load, Resolve, Update): an index that
// does not describe the store, another outcome (Known, NeedsLink: r says
// which), the first account, or maxAdded entries waiting.
func (s *Store) AddNew(in SignIn, now time.Time, beforeWrite func() error) (r Resolution, done bool, err error) {
	if err := in.validate(); err != nil {
		return Resolution{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return Resolution{}, false, fmt.Errorf("create state directory: %w", err)
	}
	l := s.lockFile()
	if err := l.Lock(); err != nil {
		return Resolution{}, false, fmt.Errorf("lock accounts store %s: %w", s.path, err)
	}
	defer l.Unlock()

	st, err := s.readIndex("", "", "", true)
	if err != nil {
		return Resolution{}, false, nil
	}
	// The index holds every name, identity and email: Resolve answers on
	// it as on the whole store.
	r = st.Resolve(in)
	if r.Outcome != Created || st.Default == "" {
		return r, false, nil
	}
	seq, waiting, err := s.nextAdded()
	if err != nil || waiting >= maxAdded {
		return r, false, nil
	}
	if err := ValidateName(r.Account); err != nil {
		return r, false, err
	}
	now = now.UTC()
	a := Account{Name: r.Account, Identities: []Identity{newIdentity(in, now)}, CreatedAt: now}
	entry, err := encodeAdded(a)
	if err != nil {
		return r, false, fmt.Errorf("refusing to write account %s: %w", a.Name, err)
	}
	if err := beforeWrite(); err != nil {
		return r, false, err
	}
	if err := os.MkdirAll(s.addedDir(), 0o700); err != nil {
		return r, false, fmt.Errorf("create %s: %w", s.addedDir(), err)
	}
	path := s.addedPath(seq)
	if err := atomicfile.Write(path, ".added.*.tmp", entry); err != nil {
		return r, false, fmt.Errorf("write account %s to %s: %w", a.Name, s.addedDir(), err)
	}
	st.Accounts = append(st.Accounts, a)
	s.writeIndex(st)
	return r, true, nil
}

// nextAdded returns the sequence number for a new entry and how many
// entries are waiting.
func (s *Store) nextAdded() (next, waiting int, err error) {
	entries, err := os.ReadDir(s.addedDir())
	if errors.Is(err, os.ErrNotExist) {
		return 1, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	next = 1
	for _, e := range entries {
		if n, ok := addedSeq(e.Name()); ok {
			waiting++
			next = max(next, n+1)
		}
	}
	return next, waiting, nil
}

// addedSeq reads an entry's file name; temp files and strays are not
// entries.
func addedSeq(name string) (int, bool) {
	num, ok := strings.CutSuffix(name, ".json")
	if !ok || len(num) != 8 {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil && n > 0
}

// applyAdded appends to st, in order, the accounts waiting in AddedDir,
// and returns the paths of every file there for Update to remove once
// accounts.json holds them. An entry whose identity st already holds on
// the account of the same name was folded by an Update that stopped
// before removing it, and is skipped. An entry that does not parse, or
// breaks the store's invariants, is ErrCorrupt naming its file: skipping
// it would lose an account.
func (s *Store) applyAdded(st *State) ([]string, error) {
	entries, err := os.ReadDir(s.addedDir())
	if err != nil {
		return nil, nil
	}
	var read []string
	for _, e := range entries { // ReadDir sorts by name: by sequence
		path := filepath.Join(s.addedDir(), e.Name())
		read = append(read, path)
		if _, ok := addedSeq(e.Name()); !ok {
			continue // a writer's temp file, left by a crash
		}
		a, err := readAdded(path)
		if err == nil {
			if folded(st, a) {
				continue
			}
			st.Accounts = append(st.Accounts, a)
			err = st.check()
		}
		if err != nil {
			return nil, &ruleError{kind: ErrCorrupt,
				msg: fmt.Sprintf("new account entry %s is unusable (%v); repair it or move it aside", path, err)}
		}
	}
	return read, nil
}

// folded reports whether st already holds a's identity on an account of
// a's name.
func folded(st *State, a Account) bool {
	i := st.index(a.Name)
	return i >= 0 && slices.ContainsFunc(st.Accounts[i].Identities, func(id Identity) bool {
		return id.Key() == a.Identities[0].Key()
	})
}

func readAdded(path string) (Account, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|statedir.NoFollow, 0)
	if err != nil {
		return Account{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAddedSize+1))
	if err != nil {
		return Account{}, err
	}
	if len(data) > maxAddedSize {
		return Account{}, errors.New("too large")
	}
	return decodeAdded(data)
}

func encodeAdded(a Account) ([]byte, error) {
	if err := (&State{Default: a.Name, Accounts: []Account{a}}).check(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// decodeAdded parses an entry as hostile input, as decodeState does
// accounts.json: one account of known fields holding one identity.
func decodeAdded(data []byte) (Account, error) {
	var a Account
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Account{}, fmt.Errorf("invalid JSON: %w", err)
	}
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		return Account{}, errors.New("invalid JSON: data after the account")
	}
	if len(a.Identities) != 1 {
		return Account{}, errors.New("a new account holds exactly one identity")
	}
	if err := (&State{Default: a.Name, Accounts: []Account{a}}).check(); err != nil {
		return Account{}, err
	}
	return a, nil
}
