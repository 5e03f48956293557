package accounts

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/authcli/authcli/internal/atomicfile"
)

// lookupCases are the Find questions Lookup must answer the same way.
var lookupCases = []struct{ provider, account, subject string }{
	{"github", "work", ""}, {"github", "", ""}, {"gitlab", "", ""}, {"corp", "", ""},
	{"google", "work", ""}, {"github", "home", ""}, {"", "work", ""}, {"", "alice", ""}, {"", "", ""},
	{"google", "", ""}, {"nobody", "alice", ""},
	{"github", "", "gh-bob"}, {"github", "", "gh-alice2"}, {"github", "alice", "gh-bob"}, {"", "", "c-bob"},
	// Subjects that begin another identity's subject, on no account.
	{"github", "", "gh-b"}, {"corp", "", "c-bo"}, {"github", "", "gh-alice"},
}

// lookupStates are states whose Find answers differ: the fixture, one with
// an identity only on the non-default account, one ambiguous in the default.
func lookupStates(t *testing.T) map[string]*State {
	onlyWork := fixture(t)
	if err := onlyWork.Link(signIn("gitlab", "gl-w", "", false, false), "work", t0); err != nil {
		t.Fatal(err)
	}
	twoInDefault := fixture(t)
	if err := twoInDefault.Link(signIn("github", "gh-alice2", "", false, false), "alice", t0); err != nil {
		t.Fatal(err)
	}
	defaultWork := fixture(t)
	defaultWork.Default = "work"
	return map[string]*State{"fixture": fixture(t), "only work": onlyWork, "two in default": twoInDefault, "default work": defaultWork}
}

// sameAnswer fails unless Lookup's answer is Find's: the same identity, or
// the same error sentence, sentinel and candidates.
func sameAnswer(t *testing.T, what string, st *State, s *Store, provider, account, subject string) {
	t.Helper()
	acc, id, ferr := st.FindSubject(provider, account, subject)
	ref, lerr := s.Lookup(provider, account, subject)
	if (ferr == nil) != (lerr == nil) || ferr != nil && ferr.Error() != lerr.Error() {
		t.Fatalf("%s: Lookup(%q, %q) error %v, Find says %v", what, provider, account, lerr, ferr)
	}
	if ferr != nil {
		for _, sentinel := range []error{ErrNotFound, ErrNoAccount, ErrAmbiguous} {
			if errors.Is(ferr, sentinel) != errors.Is(lerr, sentinel) {
				t.Fatalf("%s: Lookup(%q, %q) error %v is not %v like Find's", what, provider, account, lerr, sentinel)
			}
		}
		var fa, la *AmbiguousError
		if errors.As(ferr, &fa) && (!errors.As(lerr, &la) || !reflect.DeepEqual(fa, la)) {
			t.Fatalf("%s: Lookup(%q, %q) candidates %+v, Find's %+v", what, provider, account, la, fa)
		}
		return
	}
	if want := (Ref{Account: acc.Name, Provider: id.Provider, Subject: id.Subject}); ref != want || ref.Key() != id.Key() {
		t.Fatalf("%s: Lookup(%q, %q) = %+v, Find says %+v", what, provider, account, ref, want)
	}
}

// TestLookupAgreesWithFind asks Lookup every question of TestFind on states
// written by Update (the index is current), with the index gone, and with
// accounts.json replaced behind the index's back, as an older authcli or a
// crash between the two writes would leave it.
func TestLookupAgreesWithFind(t *testing.T) {
	for name, st := range lookupStates(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := OpenStore(dir)
			if err := s.Update(func(cur *State) error { *cur = *st.Clone(); return nil }); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(s.indexPath()); err != nil {
				t.Fatalf("Update wrote no index: %v", err)
			}
			for _, c := range lookupCases {
				sameAnswer(t, "current index", st, s, c.provider, c.account, c.subject)
			}

			// Replaced behind the index: the other default account.
			other := st.Clone()
			other.Default = map[string]string{"alice": "work", "work": "alice"}[st.Default]
			data, err := encodeState(other)
			if err != nil {
				t.Fatal(err)
			}
			if err := atomicfile.Write(s.Path(), tempPattern, data); err != nil {
				t.Fatal(err)
			}
			for _, c := range lookupCases {
				sameAnswer(t, "replaced accounts.json", other, s, c.provider, c.account, c.subject)
			}

			if err := os.Remove(s.indexPath()); err != nil {
				t.Fatal(err)
			}
			for _, c := range lookupCases {
				sameAnswer(t, "no index", other, s, c.provider, c.account, c.subject)
			}
		})
	}
}

// TestLookupReadsOnlyTheIndex: with a current index, Lookup answers without
// parsing accounts.json (here damaged in place, keeping its size, inode and
// time, which no writer does), while Load refuses it.
func TestLookupReadsOnlyTheIndex(t *testing.T) {
	dir := t.TempDir()
	s := OpenStore(dir)
	if err := s.Update(func(cur *State) error { *cur = *fixture(t); return nil }); err != nil {
		t.Fatal(err)
	}
	damageInPlace(t, s.Path(), "#")
	if _, err := s.Load(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Load of the damaged file: %v", err)
	}
	ref, err := s.Lookup("github", "", "")
	if err != nil || ref.Key() != "github/gh-alice" || ref.Account != "alice" {
		t.Fatalf("Lookup = %+v, %v", ref, err)
	}
}

// TestLookupRefusesDamagedIndex: a torn or edited index is never believed;
// Lookup falls back to accounts.json.
func TestLookupRefusesDamagedIndex(t *testing.T) {
	dir := t.TempDir()
	s := OpenStore(dir)
	st := fixture(t)
	if err := s.Update(func(cur *State) error { *cur = *st.Clone(); return nil }); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(s.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(s.Path())
	src := sourceOf(fi)
	if _, err := decodeIndex(good, src, "", "", "", true); err != nil {
		t.Fatalf("the index as written does not decode: %v", err)
	}
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x01
		if _, err := decodeIndex(bad, src, "", "", "", true); !errors.Is(err, errStaleIndex) {
			t.Fatalf("index with byte %d flipped accepted", i)
		}
	}
	for _, n := range []int{0, 10, len(good) / 2, len(good) - 1} {
		if _, err := decodeIndex(good[:n], src, "", "", "", true); !errors.Is(err, errStaleIndex) {
			t.Fatalf("index truncated to %d bytes accepted", n)
		}
	}
	// Torn on disk: Lookup still answers from accounts.json.
	if err := os.WriteFile(s.indexPath(), good[:len(good)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range lookupCases {
		sameAnswer(t, "torn index", st, s, c.provider, c.account, c.subject)
	}
}

// fuzzSignIns are the sign-ins FuzzDecodeIndex resolves on each index:
// known and new identities, e-mails equal but for case (and the Kelvin
// sign, which folds to k), trusted or not, and names taken.
var fuzzSignIns = []SignIn{
	signIn("p", "2", "", false, false),
	signIn("p", "s 1", "x@example.com", true, true),
	signIn("n", "new", "kate@example.com", true, true),
	signIn("n", "new", "KATE@EXAMPLE.COM", true, false),
	signIn("n", "new", "\u212Aate@example.com", true, true),
	withAccount(signIn("n", "new", "", false, false), "b"),
	withAccount(signIn("n", "new", "kate@example.com", true, true), "fresh"),
	signIn("a", "1", "a@example.com", true, true),
	signIn("n", "new", "a@example.com", false, false),
	signIn("x", "", "", false, false),
	signIn("p", "s", "", false, false),
	withAccount(signIn("n", "new", "", false, false), "a\nidentity p\ts 1"),
}

func FuzzDecodeIndex(f *testing.F) {
	src := source{size: 1234, mtime: 1700000000123456789, inode: 42}
	for _, st := range []*State{{Version: SchemaVersion}, {Version: SchemaVersion, Default: "a", Accounts: []Account{
		{Name: "a", Identities: []Identity{{Provider: "p", Subject: "s 1"}, {Provider: "q", Subject: "ü"}}},
		{Name: "b", Identities: []Identity{{Provider: "p", Subject: "2"}}},
	}}, {Version: SchemaVersion, Default: "c", Accounts: []Account{
		{Name: "a", Identities: []Identity{{Provider: "p", Subject: "s 1"}, {Provider: "q", Subject: "2"}}},
		{Name: "c", Identities: []Identity{{Provider: "x", Subject: "2"}}},
		{Name: "b", Identities: []Identity{{Provider: "p", Subject: "2"}, {Provider: "p", Subject: "3"}}},
	}}, {Version: SchemaVersion, Default: "b", Accounts: []Account{
		{Name: "a", Identities: []Identity{{Provider: "p", Subject: "1", Email: "\u212Aate@example.com"}}},
		{Name: "b", Identities: []Identity{{Provider: "q", Subject: "1", Email: "kate@example.com"}}},
		{Name: "kate", Identities: []Identity{{Provider: "x", Subject: "9"}}},
		{Name: "kate-2", Identities: []Identity{{Provider: "x", Subject: "10", Email: "KATE@example.com"}}},
	}}} {
		f.Add(string(encodeIndex(st, src)))
	}
	f.Add("")
	f.Add(indexMagic + "\n")
	f.Fuzz(func(t *testing.T, data string) {
		st, err := decodeIndex([]byte(data), src, "", "", "", true)
		if err != nil {
			if !errors.Is(err, errStaleIndex) || st != nil {
				t.Fatalf("decodeIndex: %v, %v", st, err)
			}
			return
		}
		if got := string(encodeIndex(st, src)); got != data {
			t.Fatalf("accepted index does not re-encode to itself:\n%q\n%q", data, got)
		}
		if err := st.check(); err != nil {
			t.Fatalf("accepted index breaks the invariants: %v", err)
		}
		// What AddNew decides on must give Resolve's answer on the
		// whole index, and what it writes must read as the whole index
		// with the new account.
		def, body, err := indexBody([]byte(data), src)
		if err != nil {
			t.Fatalf("the whole index decodes, its body does not: %v", err)
		}
		for _, in := range fuzzSignIns {
			got, err := resolveIndex(def, body, in)
			if want := st.Resolve(in); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("resolveIndex(%+v) = %+v, %v; Resolve on the whole: %+v", in, got, err, want)
			}
		}
		added := Account{Name: "zz-new", Identities: []Identity{{Provider: "n", Subject: "1", Email: "n@example.com"}}}
		whole := encodeIndexWith(def, body, src, added)
		// AddNew writes only what follows the account lines: with the
		// bytes before them, it must make the index written whole.
		c, err := checkIndex([]byte(data))
		if err != nil {
			t.Fatalf("the whole index decodes, checkIndex refuses it: %v", err)
		}
		if at, tail := c.with(src, added); data[:at]+string(tail) != string(whole) {
			t.Fatalf("written over from byte %d:\n%q\nwritten whole:\n%q", at, data[:at]+string(tail), whole)
		}
		after, err := decodeIndex(whole, src, "", "", "", true)
		want := st.Clone()
		want.Accounts = append(want.Accounts, added)
		if err == nil && st.index(added.Name) < 0 && !reflect.DeepEqual(after.Accounts, want.Accounts) {
			t.Fatalf("the index with an account appended reads %+v, want %+v", after, want)
		}
		// What Lookup keeps for a question must give Find's answer on
		// the whole index.
		for _, p := range []string{"", "p", "q", "x"} {
			for _, a := range []string{"", "a", "b", "c"} {
				for _, sub := range []string{"", "2", "s", "s 1"} {
					part, err := decodeIndex([]byte(data), src, p, a, sub, false)
					if err != nil {
						t.Fatalf("the whole index decodes, the part for (%q, %q, %q) does not: %v", p, a, sub, err)
					}
					wa, wi, werr := st.FindSubject(p, a, sub)
					ga, gi, gerr := part.FindSubject(p, a, sub)
					if fmt.Sprint(werr) != fmt.Sprint(gerr) || wa.Name != ga.Name || wi.Key() != gi.Key() {
						t.Fatalf("FindSubject(%q, %q, %q) on the part: %s %s %v; on the whole: %s %s %v", p, a, sub, ga.Name, gi.Key(), gerr, wa.Name, wi.Key(), werr)
					}
				}
			}
		}
	})
}

// storeOf is a store of n accounts of one identity each (demo/user-NNNN
// on acct-NNNN), written in one Update, with claims on every profile.
func storeOf(b *testing.B, n int, claims map[string]any) *Store {
	b.Helper()
	s := OpenStore(b.TempDir())
	err := s.Update(func(st *State) error {
		for i := range n {
			in := signIn("demo", fmt.Sprintf("user-%04d", i), fmt.Sprintf("u%d@example.com", i), true, false)
			in.Profile.Claims = claims
			in.Account = fmt.Sprintf("acct-%04d", i)
			if err := st.Apply(in, st.Resolve(in), t0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("identities=%d", n), func(b *testing.B) {
			s := storeOf(b, n, map[string]any{"groups": []string{"a", "b"}, "locale": "en", "org": "Example Corp"})
			b.Run("Lookup", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Lookup("demo", "", ""); err != nil {
						b.Fatal(err)
					}
				}
			})
			// The last identity, outside the default account: the way
			// `token --subject` and a refresh find an identity.
			b.Run("LookupSubject", func(b *testing.B) {
				sub := fmt.Sprintf("user-%04d", n-1)
				b.ReportAllocs()
				for b.Loop() {
					if ref, err := s.Lookup("demo", "", sub); err != nil || ref.Subject != sub {
						b.Fatal(ref, err)
					}
				}
			})
			b.Run("LoadFind", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					st, err := s.Load()
					if err != nil {
						b.Fatal(err)
					}
					if _, _, err := st.Find("demo", ""); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// TestLookupRepairsTheIndex: after a fall back to accounts.json (an index of
// an older authcli, here), Lookup writes the index again, unless a writer
// holds the lock; and it creates nothing where there is no store.
func TestLookupRepairsTheIndex(t *testing.T) {
	dir := t.TempDir()
	s := OpenStore(dir)
	st := fixture(t)
	if err := s.Update(func(cur *State) error { *cur = *st.Clone(); return nil }); err != nil {
		t.Fatal(err)
	}
	older := []byte("authcli accounts index 2\nsource 1 2 3\ndefault alice\nend 00000000\n")
	for _, held := range []bool{true, false} {
		if err := os.WriteFile(s.indexPath(), older, 0o600); err != nil {
			t.Fatal(err)
		}
		l := s.lockFile()
		if held {
			if err := l.Lock(); err != nil {
				t.Fatal(err)
			}
		}
		ref, err := s.Lookup("github", "", "")
		l.Unlock()
		if err != nil || ref.Account != "alice" {
			t.Fatalf("Lookup = %+v, %v", ref, err)
		}
		_, err = s.readIndex("", "", "", true)
		if held && err == nil {
			t.Error("the index was written while a writer held the lock")
		}
		if !held && err != nil {
			t.Errorf("the index was not repaired: %v", err)
		}
	}
	empty := t.TempDir()
	if _, err := OpenStore(empty).Lookup("github", "", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Lookup in an empty directory: %v", err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("Lookup without a store created %d files", len(entries))
	}
}

// BenchmarkIndexCodec is the index's share of a first sign-in at 1,000
// identities done the full way (every account parsed, Resolve on them,
// and the index encoded again) and AddNew's way (resolveIndex).
func BenchmarkIndexCodec(b *testing.B) {
	st := &State{Version: SchemaVersion}
	for i := range 1000 {
		in := signIn("demo", fmt.Sprintf("user-%04d", i), fmt.Sprintf("u%d@example.com", i), true, false)
		in.Account = fmt.Sprintf("acct-%04d", i)
		if err := st.Apply(in, st.Resolve(in), t0); err != nil {
			b.Fatal(err)
		}
	}
	src := source{size: 1, mtime: 2, inode: 3}
	data := encodeIndex(st, src)
	in := signIn("demo", "someone-new", "new@example.com", true, true)
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeIndex(data, src, "", "", "", true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("resolve", func(b *testing.B) {
		ix, _ := decodeIndex(data, src, "", "", "", true)
		b.ReportAllocs()
		for b.Loop() {
			if r := ix.Resolve(in); r.Outcome != Created {
				b.Fatal(r)
			}
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encodeIndex(st, src)
		}
	})
	// What AddNew does instead, on the text: the pass over every line for
	// an email that may suggest a link, the search for one that cannot.
	def, body, err := indexBody(data, src)
	if err != nil {
		b.Fatal(err)
	}
	for name, in := range map[string]SignIn{
		"resolveIndex/trusted-email": in,
		"resolveIndex/no-link":       signIn("demo", "someone-new", "new@example.com", true, false),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r, err := resolveIndex(def, body, in); err != nil || r.Outcome != Created {
					b.Fatal(r, err)
				}
			}
		})
	}
}

// TestPrefetchedIndex: Lookup and AddNew take a prefetched index from
// memory only while it names the store there now: after another process
// changed the store they read the file again and answer as on it.
func TestPrefetchedIndex(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := OpenStore(dir)
	for _, in := range []SignIn{
		signIn("google", "g-alice", "alice@example.com", true, true),
		withAccount(signIn("okta", "o-bob", "", false, false), "bob"),
	} {
		if err := s.Update(func(st *State) error { return st.Apply(in, st.Resolve(in), t0) }); err != nil {
			t.Fatal(err)
		}
	}
	s.Prefetch()
	// Taken from memory: the file on disk no longer matters while the
	// store it names is unchanged.
	raw, err := os.ReadFile(s.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	if err := writeInPlace(s.indexPath(), []byte("damaged")); err != nil {
		t.Fatal(err)
	}
	if ref, err := s.Lookup("okta", "", "o-bob"); err != nil || ref.Account != "bob" {
		t.Fatalf("Lookup from the prefetched index = %+v, %v", ref, err)
	}
	if _, err := s.readIndex("", "", "", true); err != nil {
		t.Fatalf("the prefetched index was not used: %v", err)
	}
	if err := writeInPlace(s.indexPath(), raw); err != nil {
		t.Fatal(err)
	}

	// Another process adds carol: the copy names the store before.
	other := OpenStore(dir)
	carol := withAccount(signIn("google", "g-carol", "", false, false), "carol")
	if _, done, err := other.AddNew(carol, t0, noWrite); !done || err != nil {
		t.Fatalf("AddNew elsewhere: %t, %v", done, err)
	}
	if ref, err := s.Lookup("google", "", "g-carol"); err != nil || ref.Account != "carol" {
		t.Fatalf("Lookup after another process's AddNew = %+v, %v", ref, err)
	}
	s.Prefetch()
	other.Prefetch()
	// And the same name again, from a stale copy: carol is taken, so the
	// outcome is an existing account, left to the full way.
	dave := withAccount(signIn("okta", "o-dave", "", false, false), "dave")
	if _, done, err := other.AddNew(dave, t0, noWrite); !done || err != nil {
		t.Fatalf("AddNew of dave: %t, %v", done, err)
	}
	again := withAccount(signIn("okta", "o-eve", "", false, false), "dave")
	r, done, err := s.AddNew(again, t0, noWrite)
	if err != nil || done || r.Outcome == Created {
		t.Fatalf("AddNew of an account named as one another process just made: %+v, done %t, %v", r, done, err)
	}
	st, err := OpenStore(dir).Load()
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := st.Account("dave"); !ok || len(a.Identities) != 1 || a.Identities[0].Subject != "o-dave" {
		t.Fatalf("dave = %+v, %t", a, ok)
	}
}

// TestPrepareNew: AddNew takes the outcome PrepareNew worked out on the
// ID token's draft of a sign-in only when the final sign-in has the same
// fields Resolve reads and the index still names the store there now;
// otherwise it resolves anew, and either way it decides as on the text.
func TestPrepareNew(t *testing.T) {
	setup := func(t *testing.T) (string, *Store) {
		dir := filepath.Join(t.TempDir(), "state")
		s := OpenStore(dir)
		for _, in := range []SignIn{
			signIn("google", "g-alice", "alice@example.com", true, true),
			withAccount(signIn("okta", "o-bob", "bob@example.com", true, true), "bob"),
			withAccount(signIn("okta", "o-carol", "", false, false), "carol"),
		} {
			if err := s.Update(func(st *State) error { return st.Apply(in, st.Resolve(in), t0) }); err != nil {
				t.Fatal(err)
			}
		}
		s = OpenStore(dir)
		s.Prefetch()
		return dir, s
	}
	dave := signIn("gitlab", "l-dave", "dave@example.com", true, true)
	for _, tt := range []struct {
		name         string
		draft, final SignIn
	}{
		{"new account from the email", dave, dave},
		{"name taken: made unique", signIn("gitlab", "l-carol", "carol@example.org", false, false), signIn("gitlab", "l-carol", "carol@example.org", false, false)},
		{"verified email of an account", signIn("gitlab", "l-alice", "ALICE@example.com", true, true), signIn("gitlab", "l-alice", "ALICE@example.com", true, true)},
		{"named account that exists", withAccount(signIn("gitlab", "l-x", "", false, false), "bob"), withAccount(signIn("gitlab", "l-x", "", false, false), "bob")},
		{"userinfo changed the email", dave, signIn("gitlab", "l-dave", "alice@example.com", true, true)},
		{"userinfo verified the email", signIn("gitlab", "l-alice", "alice@example.com", false, true), signIn("gitlab", "l-alice", "alice@example.com", true, true)},
		{"userinfo gave an email", signIn("gitlab", "l-carol", "", false, false), signIn("gitlab", "l-carol", "carol@example.org", false, false)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, plain := setup(t)
			_, prepared := setup(t)
			prepared.PrepareNew(tt.draft)
			if prepared.ahead.Load() == nil {
				t.Fatal("PrepareNew worked nothing out")
			}
			want, wantDone, wantErr := plain.AddNew(tt.final, t0, noWrite)
			got, done, err := prepared.AddNew(tt.final, t0, noWrite)
			if !reflect.DeepEqual(got, want) || done != wantDone || (err == nil) != (wantErr == nil) {
				t.Fatalf("prepared: %+v, done %t, %v; from the text: %+v, done %t, %v", got, done, err, want, wantDone, wantErr)
			}
		})
	}

	// The outcome worked out ahead is what AddNew takes, for the same
	// inputs only.
	_, s := setup(t)
	s.PrepareNew(dave)
	planted := *s.ahead.Load()
	planted.r.Account = "planted"
	s.ahead.Store(&planted)
	other := dave
	other.Profile.Email = "dave@example.org"
	if r, _, err := s.AddNew(other, t0, noWrite); err != nil || r.Account != "dave" {
		t.Fatalf("AddNew with another email took the outcome worked out ahead: %+v, %v", r, err)
	}
	_, s = setup(t)
	s.PrepareNew(dave)
	planted = *s.ahead.Load()
	planted.r.Account = "planted"
	s.ahead.Store(&planted)
	if r, _, err := s.AddNew(dave, t0, noWrite); err != nil || r.Account != "planted" {
		t.Fatalf("AddNew did not take the outcome worked out ahead: %+v, %v", r, err)
	}

	// Another process makes account dave after PrepareNew: the outcome
	// worked out names the store before, where dave was free.
	dir, s := setup(t)
	s.PrepareNew(dave)
	if _, done, err := OpenStore(dir).AddNew(withAccount(signIn("okta", "o-dave", "", false, false), "dave"), t0, noWrite); !done || err != nil {
		t.Fatalf("AddNew elsewhere: %t, %v", done, err)
	}
	r, done, err := s.AddNew(dave, t0, noWrite)
	if err != nil || !done || r.Outcome != Created || r.Account != "dave-2" {
		t.Fatalf("AddNew after another process's: %+v, done %t, %v; want account dave-2 created", r, done, err)
	}
}
