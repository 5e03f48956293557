package tokens

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/atomicfile"
	"github.com/authcli/authcli/internal/vault"
)

func newKeeper(t *testing.T) *Keeper {
	t.Helper()
	dir := t.TempDir()
	key, err := vault.KeyFromBytes(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.OpenFile(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	return &Keeper{Store: accounts.OpenStore(dir), Vault: v, Now: func() time.Time { return now }}
}

func signIn(provider, subject, email string, trusted bool) accounts.SignIn {
	return accounts.SignIn{
		Provider:           provider,
		Profile:            accounts.Profile{Subject: subject, Email: email, EmailVerified: true},
		TrustEmailVerified: trusted,
	}
}

func rec(access string) Record {
	return Record{AccessToken: access, RefreshToken: "rt-" + access, Expiry: time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)}
}

func TestKeeperSaveOutcomes(t *testing.T) {
	k := newKeeper(t)
	r, err := k.Save(signIn("google", "g1", "ada@example.com", true), rec("a1"), "", nil)
	if err != nil || r.Outcome != accounts.Created || r.Account != "ada" {
		t.Fatalf("first sign-in: %+v %v", r, err)
	}
	// Same identity again: known, tokens replaced.
	r, err = k.Save(signIn("google", "g1", "ada@example.com", true), rec("a2"), "", nil)
	if err != nil || r.Outcome != accounts.Known {
		t.Fatalf("second sign-in: %+v %v", r, err)
	}
	if got, _ := k.Tokens(accounts.Identity{Provider: "google", Subject: "g1"}); got.AccessToken != "a2" {
		t.Errorf("tokens not replaced: %v", got)
	}

	// Outcome 3 refused (no confirmation): nothing stored anywhere.
	asked := 0
	_, err = k.Save(signIn("github", "7", "ada@example.com", true), rec("b1"), "", func(accounts.SignIn, accounts.Resolution) (bool, error) { asked++; return false, nil })
	if !errors.Is(err, accounts.ErrNeedsLink) || asked != 1 {
		t.Fatalf("needs-link: err %v asked %d", err, asked)
	}
	if _, err := k.Vault.Get("github/7"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("refused link left tokens in the vault: %v", err)
	}
	// Confirmed: linked to ada.
	r, err = k.Save(signIn("github", "7", "ada@example.com", true), rec("b1"), "", func(accounts.SignIn, accounts.Resolution) (bool, error) { return true, nil })
	if err != nil || r.Outcome != accounts.Linked || r.Account != "ada" {
		t.Fatalf("confirmed link: %+v %v", r, err)
	}
	st, _ := k.Store.Load()
	if a, _ := st.Account("ada"); len(a.Identities) != 2 {
		t.Errorf("ada has %d identities", len(a.Identities))
	}

	// Untrusted provider with the same email: a separate account, never merged.
	r, err = k.Save(signIn("corp", "c1", "ada@example.com", false), rec("c1"), "", func(accounts.SignIn, accounts.Resolution) (bool, error) {
		t.Error("asked to confirm a link for an untrusted provider")
		return true, nil
	})
	if err != nil || r.Outcome != accounts.Created || r.Account == "ada" {
		t.Fatalf("untrusted: %+v %v", r, err)
	}
}

func TestKeeperSaveStateIsWhatWasWritten(t *testing.T) {
	k := newKeeper(t)
	_, st, err := k.SaveState(signIn("google", "g1", "ada@example.com", true), rec("a1"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := k.Store.(*accounts.Store).Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := st.Owner("google", "g1"); !ok || st.Default != loaded.Default || len(st.Accounts) != len(loaded.Accounts) {
		t.Errorf("SaveState returned %+v; the store holds %+v", st, loaded)
	}
	if _, st, err := k.SaveState(signIn("github", "7", "ada@example.com", true), rec("b1"), "", nil); !errors.Is(err, accounts.ErrNeedsLink) || st != nil {
		t.Errorf("refused link: state %v, err %v", st, err)
	}
}

// loadCounter counts the Keeper's own reads of the whole store.
type loadCounter struct {
	*accounts.Store
	loads int
}

func (c *loadCounter) Load() (*accounts.State, error) { c.loads++; return c.Store.Load() }

func TestKeeperKnownIdentityFromTheIndex(t *testing.T) {
	k := newKeeper(t)
	store := &loadCounter{Store: k.Store.(*accounts.Store)}
	k.Store = store
	in := signIn("google", "g1", "ada@example.com", true)
	if r, err := k.Save(in, rec("a1"), "", nil); err != nil || r.Outcome != accounts.Created || store.loads != 1 {
		t.Fatalf("new identity: %+v %v, %d loads", r, err, store.loads)
	}
	// The same profile again: tokens in the vault, the rest a refresh
	// note; accounts.json is neither read nor written.
	before, _ := os.ReadFile(store.Path())
	again := in
	again.TokenExpiry, again.Scopes = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), []string{"openid", "drive"}
	r, st, err := k.SaveState(again, rec("a2"), "", nil)
	if err != nil || r.Outcome != accounts.Known || r.Account != "ada" || store.loads != 1 || st != nil {
		t.Fatalf("known identity, same profile: %+v %v, %d loads (want none more), state %v (want none written)", r, err, store.loads, st)
	}
	if after, _ := os.ReadFile(store.Path()); !bytes.Equal(before, after) {
		t.Error("a sign-in with the same profile rewrote accounts.json")
	}
	if got, _ := k.Tokens(accounts.Identity{Provider: "google", Subject: "g1"}); got.AccessToken != "a2" {
		t.Errorf("tokens not replaced: %v", got)
	}
	loaded, _ := store.Store.Load()
	if _, id, _ := loaded.Owner("google", "g1"); !id.TokenExpiry.Equal(again.TokenExpiry) || len(id.Scopes) != 2 {
		t.Errorf("status after the same-profile sign-in: %+v", id)
	}
	// A changed profile is written to accounts.json.
	renamed := again
	renamed.Profile.Name = "Ada L."
	r, st, err = k.SaveState(renamed, rec("a3"), "", nil)
	if err != nil || r.Outcome != accounts.Known || st == nil {
		t.Fatalf("known identity, new name: %+v %v, state %v", r, err, st)
	}
	if _, id, ok := st.Owner("google", "g1"); !ok || id.Name != "Ada L." {
		t.Errorf("the state written: %+v", id)
	}
}

// TestKeeperProfileDigestNotTrustedAfterAFailedUpdate: when the accounts
// store refuses a known identity's new profile, the record must not claim
// the store holds it, or the next sign-in with it would skip the store.
func TestKeeperProfileDigestNotTrustedAfterAFailedUpdate(t *testing.T) {
	k := newKeeper(t)
	in := signIn("google", "g1", "ada@example.com", true)
	if _, err := k.Save(in, rec("a1"), "", nil); err != nil {
		t.Fatal(err)
	}
	renamed := in
	renamed.Profile.Name = "Ada L."
	k.Store = failingUpdates{k.Store.(*accounts.Store)}
	if _, err := k.Save(renamed, rec("a2"), "", nil); err == nil {
		t.Fatal("the failing store took the sign-in")
	}
	got, err := k.Tokens(accounts.Identity{Provider: "google", Subject: "g1"})
	if err != nil || got.Profile != "" {
		t.Errorf("record after the refused update: profile digest %q, %v", got.Profile, err)
	}
}

type failingUpdates struct{ *accounts.Store }

func (failingUpdates) Update(func(*accounts.State) error) error { return errors.New("disk full") }

func TestKeeperLinkRefusedWhenLinkedElsewhere(t *testing.T) {
	k := newKeeper(t)
	mustSave := func(in accounts.SignIn, linkTo string) {
		t.Helper()
		if _, err := k.Save(in, rec("x"), linkTo, nil); err != nil {
			t.Fatal(err)
		}
	}
	mustSave(signIn("google", "g1", "ada@example.com", false), "")
	mustSave(signIn("google", "g2", "bob@example.com", false), "")
	before, _ := k.Vault.Get("google/g1")
	_, err := k.Save(signIn("google", "g1", "ada@example.com", false), rec("new"), "bob", nil)
	if !errors.Is(err, accounts.ErrLinkedElsewhere) {
		t.Fatalf("err = %v, want ErrLinkedElsewhere", err)
	}
	if after, _ := k.Vault.Get("google/g1"); string(after) != string(before) {
		t.Error("a refused link replaced the stored tokens")
	}
}

func TestKeeperUnlinkAndLogout(t *testing.T) {
	k := newKeeper(t)
	if _, err := k.Save(signIn("google", "g1", "ada@example.com", true), rec("a1"), "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Save(signIn("github", "7", "ada@example.com", true), rec("b1"), "ada", nil); err != nil {
		t.Fatal(err)
	}
	var revoked []string
	revoke := func(id accounts.Identity, r Record) error {
		revoked = append(revoked, id.Key()+"="+r.RefreshToken)
		return errors.New("provider down")
	}
	id, err := k.Unlink("ada", "github", "", revoke)
	if id.Key() != "github/7" || !errors.Is(err, ErrRevocation) {
		t.Fatalf("unlink: %v %v", id, err)
	}
	if _, err := k.Vault.Get("github/7"); !errors.Is(err, vault.ErrNotFound) {
		t.Error("tokens kept after unlink whose revocation failed")
	}
	if _, err := k.Unlink("ada", "google", "", revoke); !errors.Is(err, accounts.ErrLastIdentity) {
		t.Fatalf("unlink last: %v", err)
	}
	if _, err := k.Vault.Get("google/g1"); err != nil {
		t.Error("refused unlink deleted tokens")
	}
	if err := k.Logout([]accounts.Identity{{Provider: "google", Subject: "g1"}}, func(accounts.Identity, Record) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if keys, _ := k.Vault.List(""); len(keys) != 0 {
		t.Errorf("vault after logout: %v", keys)
	}
	st, _ := k.Store.Load()
	_, gid, _ := st.Owner("google", "g1")
	if !gid.NeedsSignIn {
		t.Error("identity not marked as needing sign-in")
	}
	if strings.Join(revoked, ",") != "github/7=rt-b1" {
		t.Errorf("revoked %v", revoked)
	}
}

func TestRecordNeverPrintsTokens(t *testing.T) {
	r := Record{AccessToken: "secret-at", RefreshToken: "secret-rt", IDToken: "secret-id"}
	for _, s := range []string{r.String(), r.GoString()} {
		if strings.Contains(s, "secret") {
			t.Errorf("record printed a token: %s", s)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	good, _ := rec("a").Encode()
	f.Add(good)
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":2,"access_token":"x"}`))
	f.Add([]byte(`null`))
	// Every field set, and a record holding only a refresh token.
	f.Add([]byte(`{"v":1,"access_token":"a","token_type":"Bearer","refresh_token":"r","id_token":"h.p.s","expiry":"2026-11-23T12:00:00Z","id_token_expiry":"2026-11-23T12:00:00+01:00","scopes":["openid"],"token_url":"https://op/token","revocation_url":"https://op/revoke","updated_at":"2026-11-23T11:00:00Z"}`))
	f.Add([]byte(`{"v":1,"refresh_token":"r","expiry":"not a time"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error %v is not ErrBadRecord", err)
			}
			return
		}
		if r.Version != RecordVersion || (r.AccessToken == "" && r.RefreshToken == "") {
			t.Fatalf("accepted an incomplete record: %v", r)
		}
		again, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(again); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
	})
}

func TestProfileDigest(t *testing.T) {
	base := accounts.Profile{Subject: "s", Email: "ada@example.com", EmailVerified: true, Name: "Ada",
		Claims: map[string]any{"sub": "s", "email": "ada@example.com", "groups": []any{"a"}, "iat": 1.0, "exp": 2.0, "nonce": "n1", "at_hash": "h1", "auth_time": 1.0}}
	with := func(change func(*accounts.Profile)) accounts.Profile {
		p := base
		p.Claims = maps.Clone(base.Claims)
		change(&p)
		return p
	}
	same := []accounts.Profile{
		with(func(p *accounts.Profile) { p.Claims["iat"], p.Claims["exp"], p.Claims["nonce"] = 9.0, 10.0, "n2" }),
		with(func(p *accounts.Profile) { delete(p.Claims, "at_hash"); p.Claims["jti"] = "j" }),
	}
	differ := []accounts.Profile{
		with(func(p *accounts.Profile) { p.Name = "Ada L." }),
		with(func(p *accounts.Profile) { p.EmailVerified = false }),
		with(func(p *accounts.Profile) { p.AvatarURL = "https://example.com/a.png" }),
		with(func(p *accounts.Profile) { p.Claims["groups"] = []any{"a", "b"} }),
		with(func(p *accounts.Profile) { p.Claims = nil }),
	}
	d := ProfileDigest(base)
	for i, p := range same {
		if ProfileDigest(p) != d {
			t.Errorf("same[%d]: only per-token claims changed, yet the digest did", i)
		}
	}
	for i, p := range differ {
		if ProfileDigest(p) == d {
			t.Errorf("differ[%d]: the profile changed, the digest did not", i)
		}
	}
	if base.Claims["iat"] != 1.0 {
		t.Error("ProfileDigest changed the claims it was given")
	}
}

// lookupCounter counts the Keeper's lookups of one identity in the
// accounts index, and its reads of vault values.
type lookupCounter struct {
	*accounts.Store
	lookups, prepares atomic.Int32
}

func (c *lookupCounter) PrepareNew(draft accounts.SignIn) {
	c.prepares.Add(1)
	c.Store.PrepareNew(draft)
}

func (c *lookupCounter) Lookup(provider, account, subject string) (accounts.Ref, error) {
	c.lookups.Add(1)
	return c.Store.Lookup(provider, account, subject)
}

type getCounter struct {
	vault.Vault
	gets, prepares atomic.Int32
}

func (c *getCounter) Get(key string) ([]byte, error) {
	c.gets.Add(1)
	return c.Vault.Get(key)
}

func (c *getCounter) PrepareNew() {
	c.prepares.Add(1)
	if p, ok := c.Vault.(interface{ PrepareNew() }); ok {
		p.PrepareNew()
	}
}

// TestKeeperExpect: the lookup Expect starts is the one SaveExpected uses,
// for a known identity (index and vault record) and a new one alike; a
// lookup of another identity is not trusted, and the sign-in is stored
// as without it.
func TestKeeperExpect(t *testing.T) {
	k := newKeeper(t)
	store := &lookupCounter{Store: k.Store.(*accounts.Store)}
	v := &getCounter{Vault: k.Vault}
	k.Store, k.Vault = store, v
	reads := func() (int32, int32) { return store.lookups.Load(), v.gets.Load() }

	ada := signIn("google", "g1", "ada@example.com", true)
	e := k.Expect(ada)
	e.Wait()
	if l, g := reads(); l != 1 || g != 0 {
		t.Fatalf("Expect of an unknown identity: %d lookups, %d vault reads; want 1, 0", l, g)
	}
	if p, q := v.prepares.Load(), store.prepares.Load(); p != 1 || q != 1 {
		t.Fatalf("Expect of an unknown identity readied the vault %d times and the accounts store %d; want once each", p, q)
	}
	if r, _, err := k.SaveExpected(e, ada, rec("a1"), "", nil); err != nil || r.Outcome != accounts.Created {
		t.Fatalf("new identity: %+v %v", r, err)
	}
	if l, g := reads(); l != 1 || g != 0 {
		t.Errorf("SaveExpected of a new identity looked it up again: %d lookups, %d vault reads", l, g)
	}

	e = k.Expect(ada)
	e.Wait()
	if l, g := reads(); l != 2 || g != 1 {
		t.Fatalf("Expect of a known identity: %d lookups, %d vault reads; want 2, 1", l, g)
	}
	if p, q := v.prepares.Load(), store.prepares.Load(); p != 1 || q != 1 {
		t.Errorf("Expect of a known identity readied the stores for a new one")
	}
	r, st, err := k.SaveExpected(e, ada, rec("a2"), "", nil)
	if err != nil || r.Outcome != accounts.Known || r.Account != "ada" || st != nil {
		t.Fatalf("known identity, same profile: %+v %v, state %v (want the note path)", r, err, st)
	}
	if l, g := reads(); l != 2 || g != 1 {
		t.Errorf("SaveExpected of a known identity read it again: %d lookups, %d vault reads", l, g)
	}

	// Another identity's lookup: ada's sign-in is looked up anew, and
	// still known.
	e = k.Expect(signIn("google", "someone-else", "", false))
	e.Wait()
	if r, _, err := k.SaveExpected(e, ada, rec("a3"), "", nil); err != nil || r.Outcome != accounts.Known || r.Account != "ada" {
		t.Fatalf("with another identity's lookup: %+v %v", r, err)
	}
	if l, _ := reads(); l != 4 {
		t.Errorf("%d lookups, want 4: one for the other identity, one for ada's own", l)
	}
	if got, _ := k.Tokens(accounts.Identity{Provider: "google", Subject: "g1"}); got.AccessToken != "a3" {
		t.Errorf("tokens after the last sign-in: %v", got)
	}
	var none *Expected
	none.Wait()
}

// TestKeeperSignInsUnflushed: the two common sign-ins, a known identity's
// and one that creates an account, store their tokens without a flush
// (setSignedIn says why); the first sign-in, written the full way, and a
// refresh's rotated token are flushed.
func TestKeeperSignInsUnflushed(t *testing.T) {
	k := newKeeper(t)
	for _, tt := range []struct {
		name    string
		in      accounts.SignIn
		flushed bool
	}{
		{"the first sign-in", signIn("google", "g1", "ada@example.com", true), true},
		{"a new account", signIn("google", "g2", "bob@example.com", true), false},
		{"a known identity", signIn("google", "g1", "ada@example.com", true), false},
	} {
		before := atomicfile.Flushes()
		if _, err := k.Save(tt.in, rec("a-"+tt.in.Profile.Subject), "", nil); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if n := atomicfile.Flushes() - before; (n > 0) != tt.flushed {
			t.Errorf("%s: %d flushes, want flushed %t", tt.name, n, tt.flushed)
		}
	}
	src := &Source{Vault: k.Vault, LockDir: t.TempDir(), Now: k.Now}
	before := atomicfile.Flushes()
	refreshed := rec("refreshed")
	refreshed.Expiry = k.now().Add(2 * time.Hour)
	grant := func(_ context.Context, _ Record, keep func(Record) error) (Record, error) {
		return refreshed, keep(refreshed)
	}
	if _, err := src.Refresh(context.Background(), "google/g1", Want{MinTTL: 90 * time.Minute}, grant); err != nil {
		t.Fatal(err)
	}
	if n := atomicfile.Flushes() - before; n < 2 {
		t.Errorf("a refresh flushed %d times, want its record and directory", n)
	}
	if got, _ := k.Tokens(accounts.Identity{Provider: "google", Subject: "g1"}); got.AccessToken != "refreshed" {
		t.Errorf("after the refresh: %q", got.AccessToken)
	}
}
