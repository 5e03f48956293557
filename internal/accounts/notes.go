package accounts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/authcli/authcli/internal/statedir"
)

// NotesDir holds the refresh notes: one small file per identity that
// NoteRefresh wrote since the last Update. A refresh changes what status
// shows of an identity (expiry, refreshable, scopes, last used) and nothing
// else in the store; rewriting the whole of accounts.json for that made
// every refresh a second fsynced write, and one that grows with the number
// of identities (89 ms at 1,000 in bench/flows, against 15 ms at 1).
const NotesDir = "refreshed.d"

// maxNoteSize bounds what Load reads of one note: a note is a few hundred
// bytes; anything bigger was not written by authcli.
const maxNoteSize = 64 << 10

// note is one refresh, as RecordRefresh would have recorded it.
type note struct {
	Provider    string    `json:"provider"`
	Subject     string    `json:"subject"`
	TokenExpiry time.Time `json:"token_expiry"`
	Refreshable bool      `json:"refreshable"`
	Scopes      []string  `json:"scopes,omitempty"`
	At          time.Time `json:"at"`
}

func (s *Store) notesDir() string { return filepath.Join(s.dir, NotesDir) }

// notePath names an identity's note by a hash of its key, which fits any
// subject in a file name and says nothing of it.
func (s *Store) notePath(provider, subject string) string {
	sum := sha256.Sum256([]byte(Identity{Provider: provider, Subject: subject}.Key()))
	return filepath.Join(s.notesDir(), hex.EncodeToString(sum[:])+".json")
}

// NoteRefresh records a successful refresh for status, as RecordRefresh
// does, without rewriting accounts.json: it writes the identity's note,
// which Load applies and the next Update folds into accounts.json. It
// takes the store's lock, so no Update can fold notes meanwhile, but does
// not fsync: the tokens themselves are in the vault, written durably
// before this is called, and a note lost to a crash only leaves status
// showing the expiry before that refresh.
func (s *Store) NoteRefresh(provider, subject string, expiry time.Time, refreshable bool, scopes []string, now time.Time) error {
	n := note{Provider: provider, Subject: subject, TokenExpiry: expiry.UTC(), Refreshable: refreshable, Scopes: scopes, At: now.UTC()}
	data, err := encodeNote(n)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(s.notesDir(), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", s.notesDir(), err)
	}
	l := s.lockFile()
	if err := l.Lock(); err != nil {
		return fmt.Errorf("lock accounts store %s: %w", s.path, err)
	}
	defer l.Unlock()
	// Under the lock nothing can unlink the identity meanwhile; a note of
	// one that is gone would be ignored, but its caller must know.
	if !s.holds(provider, subject) {
		return errorf(ErrNotFound, "no %s is linked", describe(provider, subject, ""))
	}
	return writeInPlace(s.notePath(provider, subject), data)
}

// writeInPlace overwrites path with data where it is: no new file, no
// rename (a note is rewritten on every refresh and sign-in, and on the
// machines measured those cost a third of a millisecond). A reader
// that catches the write half-way finds the checksum wrong (encodeNote)
// and skips the note, as it skips any damaged one.
func writeInPlace(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|statedir.NoFollow, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(data, 0)
	if err == nil {
		err = f.Truncate(int64(len(data)))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// encodeNote is the note as JSON on one line, then the CRC-32 (IEEE) of
// that line in hex on the next: a note is written in place, and the
// checksum tells a whole note from one read while it was being written.
func encodeNote(n note) ([]byte, error) {
	b, err := json.Marshal(n)
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(b, "\n%08x\n", crc32.ChecksumIEEE(b)), nil
}

// holds reports whether an account holds (provider, subject): from the
// index when it describes accounts.json, else from accounts.json itself.
func (s *Store) holds(provider, subject string) bool {
	st, err := s.loadIndex(provider, "", subject)
	if err != nil {
		if st, err = s.Load(); err != nil {
			return false
		}
	}
	_, _, ok := st.owner(provider, subject)
	return ok
}

// applyNotes applies every note in NotesDir to st and returns the paths it
// read, for Update to remove once accounts.json holds them. A note that
// does not parse, or names no identity of st, is skipped: notes only ever
// add display detail, and Update removes them all.
func (s *Store) applyNotes(st *State) []string {
	entries, err := os.ReadDir(s.notesDir())
	if err != nil {
		return nil
	}
	var read []string
	for _, e := range entries {
		path := filepath.Join(s.notesDir(), e.Name())
		if !e.Type().IsRegular() {
			continue
		}
		read = append(read, path)
		if !strings.HasSuffix(e.Name(), ".json") {
			continue // a writer's temp file, left by a crash
		}
		data, err := readNote(path)
		if err != nil {
			continue
		}
		if n, err := decodeNote(data); err == nil && s.notePath(n.Provider, n.Subject) == path {
			st.applyNote(n)
		}
	}
	return read
}

func readNote(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|statedir.NoFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxNoteSize+1))
	if err == nil && len(data) > maxNoteSize {
		err = errors.New("note too large")
	}
	return data, err
}

// decodeNote parses a note as encodeNote writes it, or as the previous
// version did (the JSON alone, written by rename, so never torn).
func decodeNote(data []byte) (note, error) {
	body, trailer, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		return decodeNoteJSON(data)
	}
	if string(trailer) != fmt.Sprintf("%08x\n", crc32.ChecksumIEEE(body)) {
		return note{}, errors.New("the note's checksum does not match: it is damaged, or was read while being written")
	}
	return decodeNoteJSON(body)
}

// decodeNoteJSON parses a note strictly: one JSON object of the known
// fields, with an identity that could be on an account.
func decodeNoteJSON(data []byte) (note, error) {
	var n note
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		return note{}, err
	}
	if dec.More() {
		return note{}, errors.New("data after the note")
	}
	if err := validateID("provider", n.Provider); err != nil {
		return note{}, err
	}
	if n.Subject == "" {
		return note{}, errors.New("a note without a subject")
	}
	return n, nil
}

// applyNote is RecordRefresh from a note, unless the note is older than
// what accounts.json says of the identity's use. Every Update removes the
// notes it folds in, so a note is newer than the file by the order of
// writes; the time only guards against a note an Update failed to remove.
func (st *State) applyNote(n note) {
	a, i, ok := st.owner(n.Provider, n.Subject)
	if !ok {
		return
	}
	id := &st.Accounts[a].Identities[i]
	if n.At.Before(id.LastUsedAt) {
		return
	}
	id.TokenExpiry = n.TokenExpiry.UTC()
	id.Refreshable = n.Refreshable
	if len(n.Scopes) > 0 {
		id.Scopes = slices.Clone(n.Scopes)
	}
	id.LastUsedAt = n.At.UTC()
	id.NeedsSignIn = false
}

// removeNotes deletes notes accounts.json now holds; called under the lock.
func removeNotes(paths []string) {
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return
		}
	}
}
