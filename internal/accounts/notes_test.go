package accounts

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// storeWith writes the fixture to a fresh store.
func storeWith(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s := OpenStore(dir)
	if err := s.Update(func(st *State) error { *st = *fixture(t); return nil }); err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func identityOf(t *testing.T, s *Store, provider, subject string) Identity {
	t.Helper()
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	_, id, ok := st.Owner(provider, subject)
	if !ok {
		t.Fatalf("%s/%s is not on an account", provider, subject)
	}
	return id
}

func notesIn(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, NotesDir))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(entries)
}

// TestNoteRefresh: a refresh noted beside accounts.json is what Load shows,
// without accounts.json being written (nor its index going stale), and the
// next Update folds it in and removes the note.
func TestNoteRefresh(t *testing.T) {
	s, dir := storeWith(t)
	before, _ := os.ReadFile(s.Path())
	exp, at := t0.Add(3*time.Hour), t0.Add(time.Hour)
	if err := s.NoteRefresh("google", "g-alice", exp, false, []string{"openid", "drive"}, at); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(s.Path())
	if !bytes.Equal(before, after) {
		t.Error("NoteRefresh rewrote accounts.json")
	}
	if _, err := s.loadIndex("google", "", "g-alice"); err != nil {
		t.Errorf("the index went stale: %v", err)
	}
	want := func(id Identity) {
		t.Helper()
		if !id.TokenExpiry.Equal(exp) || id.Refreshable || !id.LastUsedAt.Equal(at) || id.NeedsSignIn ||
			!reflect.DeepEqual(id.Scopes, []string{"openid", "drive"}) {
			t.Errorf("identity after the note: %+v", id)
		}
	}
	want(identityOf(t, s, "google", "g-alice"))
	if other := identityOf(t, s, "github", "gh-alice"); !other.TokenExpiry.IsZero() {
		t.Errorf("another identity changed: %+v", other)
	}

	// An Update for something else folds the note in.
	if err := s.Update(func(st *State) error { st.Default = "work"; return nil }); err != nil {
		t.Fatal(err)
	}
	if n := notesIn(t, dir); n != 0 {
		t.Errorf("%d notes left after Update", n)
	}
	want(identityOf(t, s, "google", "g-alice"))
	raw, _ := os.ReadFile(s.Path())
	st, err := decodeState(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, id, _ := st.Owner("google", "g-alice"); !id.TokenExpiry.Equal(exp) {
		t.Errorf("accounts.json after Update: %+v", id)
	}
}

// TestNoteWrittenInPlace: a note is rewritten where it is (the same file),
// a note caught half-written is skipped rather than read as another, one
// the previous version wrote (JSON alone) is read, and a symlink in a
// note's place is not followed.
func TestNoteWrittenInPlace(t *testing.T) {
	s, dir := storeWith(t)
	path := s.notePath("google", "g-alice")
	first, second := t0.Add(2*time.Hour), t0.Add(3*time.Hour)
	if err := s.NoteRefresh("google", "g-alice", first, true, []string{"openid", "email", "profile"}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	fi1, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	longer, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.NoteRefresh("google", "g-alice", second, true, nil, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	fi2, _ := os.Stat(path)
	if !os.SameFile(fi1, fi2) || notesIn(t, dir) != 1 {
		t.Errorf("the second note is another file (%d notes)", notesIn(t, dir))
	}
	if id := identityOf(t, s, "google", "g-alice"); !id.TokenExpiry.Equal(second) {
		t.Errorf("after the second note: %+v", id)
	}
	shorter, _ := os.ReadFile(path)

	// Read half-way through writing the shorter note over the longer one:
	// its start, and the longer one's end.
	torn := append(bytes.Clone(shorter[:len(shorter)-4]), longer[len(shorter)-4:]...)
	if _, err := decodeNote(torn); err == nil {
		t.Fatal("a torn note decoded")
	}
	if err := os.WriteFile(path, torn, 0o600); err != nil {
		t.Fatal(err)
	}
	if id := identityOf(t, s, "google", "g-alice"); !id.TokenExpiry.IsZero() {
		t.Errorf("a torn note was applied: %+v", id)
	}

	legacy, _, _ := bytes.Cut(shorter, []byte("\n"))
	if err := os.WriteFile(path, legacy, 0o600); err != nil {
		t.Fatal(err)
	}
	if id := identityOf(t, s, "google", "g-alice"); !id.TokenExpiry.Equal(second) {
		t.Errorf("a note of the previous version was not applied: %+v", id)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Symlink(target, path); err != nil {
		t.Skip("no symlinks here")
	}
	if err := s.NoteRefresh("google", "g-alice", first, true, nil, t0.Add(4*time.Hour)); err == nil {
		t.Error("NoteRefresh wrote through a symlink")
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("the symlink's target was created: %v", err)
	}
}

// TestNoteLosesToLaterChanges: what an Update records after a note (a
// sign-in, a refused refresh, a logout) is what stays.
func TestNoteLosesToLaterChanges(t *testing.T) {
	s, _ := storeWith(t)
	if err := s.NoteRefresh("google", "g-alice", t0.Add(3*time.Hour), true, nil, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(st *State) error { return st.MarkNeedsSignIn("google", "g-alice") }); err != nil {
		t.Fatal(err)
	}
	if id := identityOf(t, s, "google", "g-alice"); !id.NeedsSignIn || id.Refreshable || !id.TokenExpiry.IsZero() {
		t.Errorf("after a refused refresh: %+v", id)
	}
	// A note older than the identity's last recorded use is not applied.
	if err := s.Update(func(st *State) error {
		return st.RecordRefresh("google", "g-alice", t0.Add(9*time.Hour), true, nil, t0.Add(5*time.Hour))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.NoteRefresh("google", "g-alice", t0.Add(2*time.Hour), false, nil, t0.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if id := identityOf(t, s, "google", "g-alice"); !id.TokenExpiry.Equal(t0.Add(9 * time.Hour)) {
		t.Errorf("an older note won: %+v", id)
	}
}

// TestNotesThatDoNotFit: damaged notes, notes of identities no account
// holds and notes under another identity's name change nothing, and the
// next Update removes them.
func TestNotesThatDoNotFit(t *testing.T) {
	s, dir := storeWith(t)
	if err := s.NoteRefresh("google", "nobody", t0.Add(time.Hour), true, nil, t0.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a note of an identity no account holds: %v, want ErrNotFound", err)
	}
	notes := filepath.Join(dir, NotesDir)
	// One written all the same (by a version that did not check).
	if err := os.WriteFile(s.notePath("google", "nobody"), []byte(`{"provider":"google","subject":"nobody","at":"2030-01-01T00:00:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// alice's google note, placed under bob's name.
	if err := s.NoteRefresh("google", "g-alice", t0.Add(7*time.Hour), true, nil, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(s.notePath("google", "g-alice"), s.notePath("corp", "c-bob")); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"junk.json":            "{not json",
		"extra.json":           `{"provider":"google","subject":"g-alice","at":"2030-01-01T00:00:00Z","owner":"x"}`,
		".note.123.tmp":        "half a no",
		"../escape-attempt":    "",
		"twice.json":           `{"provider":"google","subject":"g-alice","at":"2030-01-01T00:00:00Z"}{}`,
		"bad-provider.json":    `{"provider":"Goo gle","subject":"g-alice","at":"2030-01-01T00:00:00Z"}`,
		"empty-subject.json":   `{"provider":"google","subject":"","at":"2030-01-01T00:00:00Z"}`,
		"not-a-note-name.json": `{"provider":"google","subject":"g-alice","at":"2030-01-01T00:00:00Z"}`,
	} {
		if filepath.Base(name) != name {
			continue
		}
		if err := os.WriteFile(filepath.Join(notes, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fresh := fixture(t)
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st, fresh) {
		t.Errorf("notes that do not fit changed the state:\n%+v\nwant\n%+v", st, fresh)
	}
	if err := s.Update(func(*State) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := notesIn(t, dir); n != 0 {
		t.Errorf("%d notes left after Update", n)
	}
}

func FuzzDecodeNote(f *testing.F) {
	f.Add([]byte(`{"provider":"google","subject":"g-alice","token_expiry":"2026-11-23T11:00:00Z","refreshable":true,"scopes":["openid"],"at":"2026-11-23T10:00:00Z"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"provider":"x","subject":"y"} junk`))
	if b, err := encodeNote(note{Provider: "google", Subject: "g-alice", At: t0}); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := decodeNote(data)
		if err != nil {
			return
		}
		if validateID("provider", n.Provider) != nil || n.Subject == "" {
			t.Fatalf("accepted %+v", n)
		}
		st := fixture(t)
		st.applyNote(n)
		if err := st.check(); err != nil {
			t.Fatalf("a note broke the invariants: %v", err)
		}
	})
}
