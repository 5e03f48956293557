package accounts

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/authcli/authcli/internal/atomicfile"
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
			if fi, err := os.Stat(s.addedPath()); err != nil || fi.Size() != 0 {
				t.Errorf("the added file after Update: %v, %v", fi, err)
			}
			folded, err := OpenStore(filepath.Dir(s.Path())).Load()
			if err != nil || !reflect.DeepEqual(folded, whole) {
				t.Errorf("after Update: %+v, %v", folded, err)
			}
		})
	}
}

// TestAddNewWritesOverTheIndexTail: AddNew writes the index with the
// new account over the end of the one it read, which then reads as the
// index of the whole store, byte for byte what a whole write makes; an
// index of another length than the one read is written whole, and one of
// the same length changed behind the copy reads as stale afterwards,
// never as another store's index.
func TestAddNewWritesOverTheIndexTail(t *testing.T) {
	tests := []struct {
		name   string
		behind func(raw []byte) []byte // the index file changed after Prefetch
		stale  bool
	}{
		{"as read", nil, false},
		{"shorter", func([]byte) []byte { return []byte("damaged") }, false},
		{"longer", func(raw []byte) []byte { return append(raw, bytes.Repeat([]byte("#"), 4096)...) }, false},
		{"gone", func([]byte) []byte { return nil }, false},
		{"same length, one byte changed", func(raw []byte) []byte {
			raw = bytes.Clone(raw)
			raw[len(indexMagic)+2] ^= 0x20 // in "default"
			return raw
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := addedFixture(t)
			s.Prefetch()
			if tt.behind != nil {
				raw, err := os.ReadFile(s.indexPath())
				if err != nil {
					t.Fatal(err)
				}
				if changed := tt.behind(raw); changed == nil {
					err = os.Remove(s.indexPath())
				} else {
					err = os.WriteFile(s.indexPath(), changed, 0o600)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			carol := signIn("google", "g-carol", "carol@example.com", true, true)
			if _, done, err := s.AddNew(carol, t0, noWrite); !done || err != nil {
				t.Fatalf("AddNew: %t, %v", done, err)
			}
			raw, err := os.ReadFile(s.indexPath())
			if err != nil {
				t.Fatal(err)
			}
			src, err := s.currentSource()
			if err != nil {
				t.Fatal(err)
			}
			st, err := OpenStore(s.dir).Load()
			if err != nil {
				t.Fatal(err)
			}
			_, err = decodeIndex(raw, src, "", "", "", true)
			if tt.stale {
				if !errors.Is(err, errStaleIndex) {
					t.Fatalf("an index changed behind the copy reads as current: %v", err)
				}
				if ref, err := OpenStore(s.dir).Lookup("google", "", "g-carol"); err != nil || ref.Account != "carol" {
					t.Fatalf("Lookup = %+v, %v", ref, err)
				}
				return
			}
			if want := encodeIndex(st, src); string(raw) != string(want) {
				t.Fatalf("index after AddNew:\n%s\nwritten whole:\n%s", raw, want)
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

// TestAddNewUnflushed: a sign-in's new account is written without a flush,
// as its tokens are (AddedName says why); folding it into accounts.json,
// as every Update does, is flushed.
func TestAddNewUnflushed(t *testing.T) {
	s := addedFixture(t)
	before := atomicfile.Flushes()
	if _, done, err := s.AddNew(signIn("google", "g-carol", "carol@example.com", true, true), t0, noWrite); !done || err != nil {
		t.Fatalf("AddNew: done %t, %v", done, err)
	}
	if n := atomicfile.Flushes() - before; n != 0 {
		t.Errorf("AddNew flushed %d times", n)
	}
	before = atomicfile.Flushes()
	if err := s.Update(func(*State) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := atomicfile.Flushes() - before; n < 2 {
		t.Errorf("folding the new account flushed %d times", n)
	}
	if _, err := OpenStore(s.dir).Lookup("google", "", "g-carol"); err != nil {
		t.Errorf("Lookup after the fold: %v", err)
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
	if _, err := os.Stat(s.addedPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an account was written: %v", err)
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
		ai, err := os.Stat(s.addedPath())
		if err != nil {
			t.Fatal(err)
		}
		if _, done, err := s.AddNew(carol, t0, noWrite); !done || err != nil {
			t.Fatal(done, err)
		}
		// The index of before back, and the added file given the time
		// that index recorded (as a coarse clock would): its size still
		// gives it away.
		if err := os.WriteFile(s.indexPath(), oldIndex, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(s.addedPath(), ai.ModTime(), ai.ModTime()); err != nil {
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
	t.Run("after Update's write, before emptying the added file", func(t *testing.T) {
		s := addedFixture(t)
		if _, done, err := s.AddNew(carol, t0, noWrite); !done || err != nil {
			t.Fatal(done, err)
		}
		entry := s.addedPath()
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

// TestAddedDamaged: a line whose checksum holds but that does not parse,
// or clashes with the store, is ErrCorrupt naming the file, never an
// account dropped; so is a line that fails its checksum before the last.
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
			line := fmt.Appendf([]byte(content), "\t%08x\n", checksum([]byte(content)))
			if err := os.WriteFile(s.addedPath(), line, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := s.Load()
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), s.addedPath()) {
				t.Fatalf("Load: %v; want ErrCorrupt naming the file", err)
			}
		})
	}
	t.Run("checksum, then another line", func(t *testing.T) {
		s := addedFixture(t)
		for _, p := range []string{"o-1", "o-2"} {
			if _, done, err := s.AddNew(signIn("okta", p, "", false, false), t0, noWrite); !done || err != nil {
				t.Fatal(done, err)
			}
		}
		damageInPlace(t, s.addedPath(), `{"name":"mallory"`)
		if _, err := s.Load(); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "line 1") {
			t.Fatalf("Load: %v; want ErrCorrupt naming line 1", err)
		}
	})
}

// TestAddedTornLine: a last line a crash cut short (or that fails its
// checksum) is dropped, by Load and by the index; the next AddNew writes
// over it, and a repair of the index cuts it.
func TestAddedTornLine(t *testing.T) {
	for _, repair := range []bool{false, true} {
		s := addedFixture(t)
		if _, done, err := s.AddNew(signIn("okta", "o-1", "", false, false), t0, noWrite); !done || err != nil {
			t.Fatal(done, err)
		}
		whole, _ := os.ReadFile(s.addedPath())
		if _, done, err := s.AddNew(signIn("okta", "o-2", "", false, false), t0, noWrite); !done || err != nil {
			t.Fatal(done, err)
		}
		both, _ := os.ReadFile(s.addedPath())
		second := both[len(whole):]
		for _, torn := range [][]byte{second[:1], second[:len(second)/2], second[:len(second)-1], append(bytes.Clone(second[:len(second)-3]), "x0\n"...), append(bytes.Clone(second[:len(second)-1]), "0000\n"...)} {
			if err := os.WriteFile(s.addedPath(), slices.Concat(whole, torn), 0o600); err != nil {
				t.Fatal(err)
			}
			st, err := s.Load()
			if err != nil || len(st.Accounts) != 3 {
				t.Fatalf("Load with a torn last line: %v accounts, %v", st, err)
			}
			if !repair {
				continue
			}
			if _, err := s.Lookup("okta", "", "o-2"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Lookup of the torn account: %v", err)
			}
		}
		if repair {
			// Lookup fell back and repaired the index: the torn line is gone.
			if got, _ := os.ReadFile(s.addedPath()); !bytes.Equal(got, whole) {
				t.Fatalf("after the repair the file holds %q", got)
			}
			continue
		}
		// The index written with the second line is stale now, so AddNew
		// would go the full way; its append alone writes over the tear.
		log, err := s.readAdded(false)
		if err != nil || len(log.accounts) != 1 {
			t.Fatalf("readAdded: %+v, %v", log, err)
		}
		if err := s.appendAdded(log, second); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(s.addedPath()); !bytes.Equal(got, both) {
			t.Fatalf("after writing over the torn line the file holds %q", got)
		}
		if ref, err := s.Lookup("okta", "", "o-2"); err != nil || ref.Account == "" {
			t.Fatalf("Lookup = %+v, %v", ref, err)
		}
		if _, err := s.readIndex("", "", "", true); err != nil {
			t.Fatalf("the index after AddNew: %v", err)
		}
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
	f.Add(slices.Concat(good, good[:len(good)/2]))
	f.Add(bytes.TrimSuffix(good, []byte("\n")))
	f.Add([]byte(`{"name":"x","identities":[]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		accounts, end, err := parseAdded(data, true)
		if err != nil {
			return
		}
		if end > len(data) || end > 0 && data[end-1] != '\n' {
			t.Fatalf("whole lines end at %d of %d bytes", end, len(data))
		}
		var again []byte
		for _, a := range accounts {
			if len(a.Identities) != 1 {
				t.Fatalf("accepted an account of %d identities", len(a.Identities))
			}
			if err := (&State{Default: a.Name, Accounts: []Account{a}}).check(); err != nil {
				t.Fatalf("accepted an account that breaks the invariants: %v", err)
			}
			line, err := encodeAdded(a)
			if err != nil {
				t.Fatalf("an accepted account does not encode: %v", err)
			}
			again = append(again, line...)
		}
		if back, n, err := parseAdded(again, true); err != nil || n != len(again) || !reflect.DeepEqual(back, accounts) {
			t.Fatalf("re-encoded lines read back as %+v (%d of %d bytes), %v", back, n, len(again), err)
		}
		if counted, n, err := parseAdded(data, false); err != nil || n != end || len(counted) != len(accounts) {
			t.Fatalf("counting: %d lines to %d, %v; decoding: %d to %d", len(counted), n, err, len(accounts), end)
		}
	})
}

// BenchmarkAddNew is a first sign-in that creates an account, with 1 and
// 1,000 identities already stored: the accounts store's part of it (the
// tokens are the vault's, BenchmarkFileSetNew). "prepared" runs it as a
// sign-in does, after Prefetch (while the person is at the provider) and
// PrepareNew (while userinfo answers): what is left after the provider's
// answers. Every 50 sign-ins an Update folds the added lines, as the full
// way would before maxAdded, outside the timing.
func BenchmarkAddNew(b *testing.B) {
	for _, n := range []int{1, 1000} {
		for _, prepared := range []bool{false, true} {
			b.Run(fmt.Sprintf("identities=%d/prepared=%t", n, prepared), func(b *testing.B) {
				s := storeOf(b, n, nil)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					in := signIn("demo", fmt.Sprintf("new-%06d", i), fmt.Sprintf("new%d@example.com", i), true, false)
					b.StopTimer()
					if i%50 == 0 {
						if err := s.Update(func(*State) error { return nil }); err != nil {
							b.Fatal(err)
						}
					}
					if prepared {
						s.Prefetch()
						s.PrepareNew(in)
					}
					b.StartTimer()
					if _, done, err := s.AddNew(in, t0, func() error { return nil }); err != nil || !done {
						b.Fatalf("sign-in %d: done %v, %v", i, done, err)
					}
				}
			})
		}
	}
}
