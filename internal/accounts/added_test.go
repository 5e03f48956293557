package accounts

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// addedFixture is a store of two accounts (alice the default), written the
// full way.
func addedFixture(t *testing.T) *Store {
	t.Helper()
	s := OpenStore(filepath.Join(t.TempDir(), "state"))
	for _, in := range []SignIn{
		signIn("google", "g-alice", "alice@example.com", true, true),
		withAccount(signIn("github", "gh-bob", "Bob@Example.com", false, false), "bob"),
	} {
		if err := s.Update(func(st *State) error { return st.Apply(in, st.Resolve(in), t0) }); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func noWrite() error { return nil }

// TestAddNewDecidesAsResolve: AddNew takes a sign-in only when Resolve on
// the whole store says it creates an account, and then names the same
// account; every other sign-in is left to the full way, with nothing
// written and the tokens not stored.
func TestAddNewDecidesAsResolve(t *testing.T) {
	tests := []struct {
		name string
		in   SignIn
		done bool
	}{
		{"new person", signIn("google", "g-carol", "carol@example.com", true, true), true},
		{"new person, no email", signIn("okta", "o-1", "", false, false), true},
		{"name taken: carol-2", signIn("okta", "o-2", "alice@elsewhere.example", true, false), true},
		{"named new account", withAccount(signIn("okta", "o-3", "", false, false), "work"), true},
		{"known identity", signIn("google", "g-alice", "alice@example.com", true, true), false},
		{"same verified email: a link", signIn("okta", "o-4", "ALICE@example.com", true, true), false},
		{"unverified email of bob: a link", signIn("okta", "o-5", "bob@example.com", true, true), false},
		{"existing account named", withAccount(signIn("okta", "o-6", "", false, false), "bob"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := addedFixture(t)
			before, err := os.ReadFile(s.Path())
			if err != nil {
				t.Fatal(err)
			}
			whole, err := s.Load()
			if err != nil {
				t.Fatal(err)
			}
			want := whole.Resolve(tt.in)
			called := false
			r, done, err := s.AddNew(tt.in, t0, func() error { called = true; return nil })
			if err != nil || done != tt.done || called != tt.done {
				t.Fatalf("AddNew: done %t, tokens stored %t, %v; want done %t", done, called, err, tt.done)
			}
			if !reflect.DeepEqual(r, want) {
				t.Errorf("AddNew resolved %+v, Resolve on the whole store %+v", r, want)
			}
			after, _ := os.ReadFile(s.Path())
			if !bytes.Equal(before, after) {
				t.Error("AddNew rewrote accounts.json")
			}
			got, err := s.Load()
			if err != nil {
				t.Fatal(err)
			}
			if !tt.done {
				if !reflect.DeepEqual(got, whole) {
					t.Error("a sign-in AddNew refused changed the store")
				}
				return
			}
			// The store now reads as if Apply had run on the whole.
			if err := whole.Apply(tt.in, want, t0); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, whole) {
				t.Errorf("Load after AddNew:\n got %+v\nwant %+v", got, whole)
			}
			// Lookup finds it from the index, which describes the store.
			if _, err := s.readIndex("", "", "", true); err != nil {
				t.Errorf("the index does not describe the store after AddNew: %v", err)
			}
			ref, err := s.Lookup(tt.in.Provider, "", tt.in.Profile.Subject)
			if err != nil || ref.Account != want.Account {
				t.Errorf("Lookup = %+v, %v; want account %s", ref, err, want.Account)
			}
			// The next Update folds the entry into accounts.json.
			if err := s.Update(func(*State) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if entries, _ := os.ReadDir(s.addedDir()); len(entries) != 0 {
				t.Errorf("%d entries left after Update", len(entries))
			}
			folded, err := OpenStore(filepath.Dir(s.Path())).Load()
			if err != nil || !reflect.DeepEqual(folded, whole) {
				t.Errorf("after Update: %+v, %v", folded, err)
			}
		})
	}
}

// TestAddNewFirstAccount: the first account becomes the default, which
// only accounts.json records: the full way.
func TestAddNewFirstAccount(t *testing.T) {
	s := OpenStore(filepath.Join(t.TempDir(), "state"))
	if _, done, err := s.AddNew(signIn("google", "g-1", "", false, false), t0, noWrite); done || err != nil {
		t.Fatalf("AddNew on an empty store: done %t, %v", done, err)
	}
}

// TestAddNewTokensFirst: the tokens are stored before the account, and a
// failure to store them writes nothing.
func TestAddNewTokensFirst(t *testing.T) {
	s := addedFixture(t)
	in := signIn("google", "g-carol", "carol@example.com", true, true)
	failed := errors.New("vault full")
	if _, done, err := s.AddNew(in, t0, func() error { return failed }); done || !errors.Is(err, failed) {
		t.Fatalf("AddNew: done %t, %v; want the tokens' error", done, err)
	}
	if _, err := os.Stat(s.addedDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an entry was written: %v", err)
	}
	if _, err := s.Lookup("google", "", "g-carol"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup after the failure: %v, want ErrNotFound", err)
	}
}

// TestAddNewCrashes: what a crash at each point leaves reads right.
func TestAddNewCrashes(t *testing.T) {
	carol := signIn("google", "g-carol", "carol@example.com", true, true)
	t.Run("after the entry, before the index", func(t *testing.T) {
		s := addedFixture(t)
		if _, done, err := s.AddNew(signIn("okta", "o-1", "", false, false), t0, noWrite); !done || err != nil {
			t.Fatal(done, err)
		}
		oldIndex, err := os.ReadFile(s.indexPath())
		if err != nil {
			t.Fatal(err)
		}
		di, err := os.Stat(s.addedDir())
		if err != nil {
			t.Fatal(err)
		}
		if _, done, err := s.AddNew(carol, t0, noWrite); !done || err != nil {
			t.Fatal(done, err)
		}
		// The index of before back, and the entries' directory given the
		// time that index recorded (as a coarse clock would): the entry
		// after the index's last still gives it away.
		if err := os.WriteFile(s.indexPath(), oldIndex, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(s.addedDir(), di.ModTime(), di.ModTime()); err != nil {
			t.Fatal(err)
		}
		if ref, err := s.Lookup("google", "", "g-carol"); err != nil || ref.Account != "carol" {
			t.Fatalf("Lookup with the index of before = %+v, %v; want carol", ref, err)
		}
		// And a sign-in of the same person now goes the full way (which
		// finds it known), not to a second account.
		if _, done, err := s.AddNew(carol, t0, noWrite); done || err != nil {
			t.Fatalf("signing in again: done %t, %v; want the full way", done, err)
		}
		st, err := s.Load()
		if err != nil || st.Resolve(carol).Outcome != Known {
			t.Fatalf("after the crash: %v, %+v", err, st.Resolve(carol))
		}
	})
	t.Run("after Update's write, before removing the entry", func(t *testing.T) {
		s := addedFixture(t)
		if _, done, err := s.AddNew(carol, t0, noWrite); !done || err != nil {
			t.Fatal(done, err)
		}
		entry := s.addedPath(1)
		saved, err := os.ReadFile(entry)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Update(func(*State) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(entry, saved, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := OpenStore(filepath.Dir(s.Path())).Load()
		if err != nil {
			t.Fatalf("Load with an entry accounts.json already holds: %v", err)
		}
		if n := len(st.Accounts); n != 3 {
			t.Errorf("%d accounts, want 3 (carol once)", n)
		}
	})
}

// TestAddedDamaged: an entry that does not parse, or clashes with the
// store, is ErrCorrupt naming its file, never an account dropped.
func TestAddedDamaged(t *testing.T) {
	for name, content := range map[string]string{
		"not JSON":          "{",
		"two identities":    `{"name":"x","identities":[{"provider":"p","subject":"1"},{"provider":"p","subject":"2"}],"created_at":"2024-01-01T00:00:00Z"}`,
		"unknown field":     `{"name":"x","identities":[{"provider":"p","subject":"1"}],"owner":"mallory"}`,
		"identity taken":    `{"name":"x","identities":[{"provider":"github","subject":"gh-bob"}]}`,
		"name taken":        `{"name":"bob","identities":[{"provider":"p","subject":"1"}]}`,
		"bad name":          `{"name":"../x","identities":[{"provider":"p","subject":"1"}]}`,
		"data after it":     `{"name":"x","identities":[{"provider":"p","subject":"1"}]} {}`,
		"oversized padding": `{"name":"x","identities":[{"provider":"p","subject":"1"}]}` + strings.Repeat(" ", maxAddedSize),
	} {
		t.Run(name, func(t *testing.T) {
			s := addedFixture(t)
			if err := os.MkdirAll(s.addedDir(), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(s.addedPath(1), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := s.Load()
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), s.addedPath(1)) {
				t.Fatalf("Load: %v; want ErrCorrupt naming the entry", err)
			}
		})
	}
}

// TestAddNewBounded: past maxAdded waiting entries the sign-in goes the
// full way, whose Update folds them all.
func TestAddNewBounded(t *testing.T) {
	s := addedFixture(t)
	for i := range maxAdded {
		in := signIn("okta", fmt.Sprintf("o-%d", i), "", false, false)
		if _, done, err := s.AddNew(in, t0, noWrite); !done || err != nil {
			t.Fatalf("entry %d: done %t, %v", i, done, err)
		}
	}
	if _, done, err := s.AddNew(signIn("okta", "one-more", "", false, false), t0, noWrite); done || err != nil {
		t.Fatalf("entry %d: done %t, %v; want the full way", maxAdded+1, done, err)
	}
	st, err := s.Load()
	if err != nil || len(st.Accounts) != 2+maxAdded {
		t.Fatalf("Load: %d accounts, %v", len(st.Accounts), err)
	}
}

func TestIndexFieldEscape(t *testing.T) {
	for _, s := range []string{"", "a@b.example", "tab\there", "nl\nx", "100%", "%41", "del\x7f", "ünï"} {
		esc := escapeField(s)
		if strings.ContainsAny(esc, "\t\n") {
			t.Errorf("escapeField(%q) = %q holds a tab or newline", s, esc)
		}
		if got, ok := unescapeField(esc); !ok || got != s {
			t.Errorf("unescapeField(escapeField(%q)) = %q, %t", s, got, ok)
		}
	}
	for _, bad := range []string{"%", "%4", "%41", "%zz", "%0a", "a\tb"} {
		if _, ok := unescapeField(bad); ok {
			t.Errorf("unescapeField(%q) accepted what escapeField never writes", bad)
		}
	}
}

func FuzzDecodeAdded(f *testing.F) {
	a := Account{Name: "carol", CreatedAt: t0, Identities: []Identity{newIdentity(signIn("google", "g-carol", "carol@example.com", true, true), t0)}}
	good, err := encodeAdded(a)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"name":"x","identities":[]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := decodeAdded(data)
		if err != nil {
			return
		}
		if len(a.Identities) != 1 {
			t.Fatalf("accepted an entry of %d identities", len(a.Identities))
		}
		if err := (&State{Default: a.Name, Accounts: []Account{a}}).check(); err != nil {
			t.Fatalf("accepted an entry that breaks the invariants: %v", err)
		}
		again, err := encodeAdded(a)
		if err != nil {
			t.Fatalf("an accepted entry does not encode: %v", err)
		}
		if b, err := decodeAdded(again); err != nil || !reflect.DeepEqual(b, a) {
			t.Fatalf("re-encoded entry reads back as %+v, %v", b, err)
		}
	})
}
