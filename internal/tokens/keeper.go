package tokens

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/vault"
)

// Keeper ties the accounts store (who) to the vault (their tokens). The CLI
// and the TUI both go through it, so the rules live in one place.
type Keeper struct {
	Store AccountsStore
	Vault vault.Vault
	Now   func() time.Time
}

// AccountsStore is what the Keeper needs of the accounts store
// (*accounts.Store): read it, and change it atomically under its lock.
type AccountsStore interface {
	Load() (*accounts.State, error)
	Update(fn func(*accounts.State) error) error
}

func (k *Keeper) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// Confirm asks the person whether a new identity may join the account the
// resolution names (CLI.md sign-in outcome 3). It returns false to refuse.
type Confirm func(in accounts.SignIn, r accounts.Resolution) (bool, error)

// Save stores a completed sign-in: its tokens in the vault, the identity in
// the accounts store, following the three outcomes. With linkTo set the
// identity is linked to that account (authcli link). A NeedsLink outcome is
// only linked when confirm says yes; otherwise Save returns the accounts
// package's ErrNeedsLink error and stores nothing.
func (k *Keeper) Save(in accounts.SignIn, rec Record, linkTo string, confirm Confirm) (accounts.Resolution, error) {
	r, _, err := k.SaveState(in, rec, linkTo, confirm)
	return r, err
}

// SaveState is Save that also returns the accounts state it wrote, so a
// caller that shows it need not read the whole store again; nil when it
// wrote none (a known identity whose profile the store already holds:
// saveKnown).
func (k *Keeper) SaveState(in accounts.SignIn, rec Record, linkTo string, confirm Confirm) (accounts.Resolution, *accounts.State, error) {
	return k.SaveExpected(nil, in, rec, linkTo, confirm)
}

// Expected is the lookup of the identity a sign-in is about to store,
// started while the sign-in still waits for the provider (Expect): whether
// the accounts index knows it and, if it does, its vault record.
type Expected struct {
	provider, subject string
	done              chan struct{}
	r                 accounts.Resolution
	known             bool
	record            []byte // the identity's vault value; nil if unreadable
}

// Expect starts looking up the identity a sign-in is about to store:
// a sign-in calls it once the ID token is verified, while userinfo is
// still on its way, with draft, the sign-in as the ID token gives it (its
// provider and subject are final, its profile may yet change), and hands
// the result to SaveExpected. For an identity the store does not know it
// also readies both stores for it (prepareNew). It writes nothing anyone
// can read. Wait for it before using the vault for anything else.
func (k *Keeper) Expect(draft accounts.SignIn) *Expected {
	provider, subject := draft.Provider, draft.Profile.Subject
	e := &Expected{provider: provider, subject: subject, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		e.r, e.known = k.known(accounts.SignIn{Provider: provider, Profile: accounts.Profile{Subject: subject}})
		if e.known {
			e.record, _ = k.Vault.Get(accounts.Identity{Provider: provider, Subject: subject}.Key())
		} else {
			k.prepareNew(draft)
		}
	}()
	return e
}

// prepareNew readies, side by side, both stores for a new identity while
// the provider still answers, rather than after its answers: the vault
// makes the file its record will be (vault.File.PrepareNew), the accounts
// store works out the outcome on draft (accounts.Store.PrepareNew), which
// its AddNew takes if the final sign-in decides the same way.
func (k *Keeper) prepareNew(draft accounts.SignIn) {
	var wg sync.WaitGroup
	if p, ok := k.Vault.(interface{ PrepareNew() }); ok {
		wg.Go(p.PrepareNew)
	}
	if p, ok := k.Store.(interface{ PrepareNew(accounts.SignIn) }); ok {
		p.PrepareNew(draft)
	}
	wg.Wait()
}

// Wait returns once the lookup is done; a nil Expected has none.
func (e *Expected) Wait() {
	if e != nil {
		<-e.done
	}
}

// of returns the finished lookup when it is of in's identity, else nil.
func (e *Expected) of(in accounts.SignIn) *Expected {
	if e == nil || e.provider != in.Provider || e.subject != in.Profile.Subject {
		return nil
	}
	<-e.done
	return e
}

// SaveExpected is SaveState with the lookup Expect started (nil: none);
// a lookup of another identity than in's is not used.
func (k *Keeper) SaveExpected(e *Expected, in accounts.SignIn, rec Record, linkTo string, confirm Confirm) (accounts.Resolution, *accounts.State, error) {
	key := accounts.Identity{Provider: in.Provider, Subject: in.Profile.Subject}.Key()
	link := linkTo != ""
	// A known identity is found in the accounts index; only a new one, or a
	// link, needs every account parsed. Apply resolves again under the lock.
	var (
		r        accounts.Resolution
		wasKnown bool
	)
	if e = e.of(in); e != nil {
		r, wasKnown = e.r, e.known
	} else {
		r, wasKnown = k.known(in)
	}
	rec.UpdatedAt = k.now().UTC()
	rec.Profile = ProfileDigest(in.Profile)
	if !link && !wasKnown {
		if r, done, err := k.addNew(in, rec, key); done || err != nil {
			return r, nil, err
		}
	}
	if link || !wasKnown {
		st, err := k.Store.Load()
		if err != nil {
			return accounts.Resolution{}, nil, err
		}
		_, _, wasKnown = st.Owner(in.Provider, in.Profile.Subject)
		r = st.Resolve(in)
		switch {
		case link:
			// Check before anything is written: a refused link stores nothing.
			if err := st.Clone().Link(in, linkTo, k.now()); err != nil {
				return r, nil, err
			}
			r = accounts.Resolution{Outcome: accounts.Linked, Account: linkTo}
		case r.Outcome == accounts.NeedsLink:
			ok := false
			if confirm != nil {
				if ok, err = confirm(in, r); err != nil {
					return r, nil, err
				}
			}
			if !ok {
				return r, nil, st.Clone().Apply(in, r, k.now())
			}
			link = true
			r = accounts.Resolution{Outcome: accounts.Linked, Account: r.Account}
		}
	}

	if !link && wasKnown && k.sameProfile(key, rec.Profile, e) {
		if done, err := k.saveKnown(in, rec, key); done || err != nil {
			return r, nil, err
		}
	}
	if err := k.setRecord(key, rec); err != nil {
		return r, nil, err
	}
	var written *accounts.State
	err := k.Store.Update(func(st *accounts.State) error {
		written = st
		if link {
			return st.Link(in, r.Account, k.now())
		}
		return st.Apply(in, r, k.now())
	})
	if err != nil {
		if !wasKnown {
			// The identity was not recorded: its tokens must not linger.
			_ = k.Vault.Delete(key)
		} else {
			// The accounts store did not take this profile: a later sign-in
			// with it must not take the record's word that it did.
			rec.Profile = ""
			_ = k.setRecord(key, rec)
		}
		return r, nil, err
	}
	return r, written, nil
}

func (k *Keeper) setRecord(key string, rec Record) error {
	return k.store(key, rec, k.Vault.Set)
}

// setSignedIn stores a sign-in's tokens on the two ways every sign-in
// but a first, a link or a changed profile takes (saveKnown, addNew):
// unflushed where the vault can (vault.Unflushed), as the new account's
// line and the refresh note beside them are. A crash of the machine soon
// after may take the sign-in back, and the user signs in again; nothing
// rotated is at stake, since a sign-in starts a new grant and leaves the
// old refresh token unspent. Each flush cost 0.1 to 1.5 ms (bench/flows).
// A refresh's rotated token goes through setRecord, flushed.
func (k *Keeper) setSignedIn(key string, rec Record) error {
	if u, ok := k.Vault.(vault.Unflushed); ok {
		return k.store(key, rec, u.SetUnflushed)
	}
	return k.setRecord(key, rec)
}

func (k *Keeper) store(key string, rec Record, set func(string, []byte) error) error {
	b, err := rec.Encode()
	if err != nil {
		return fmt.Errorf("encode tokens: %w", err)
	}
	if err := set(key, b); err != nil {
		return fmt.Errorf("store the tokens: %w", err)
	}
	return nil
}

// sameProfile reports whether the identity's stored record says the
// accounts store already holds this profile; e, when it found the
// identity, has read the record already.
func (k *Keeper) sameProfile(key, digest string, e *Expected) bool {
	var b []byte
	if e != nil && e.known {
		b = e.record
	} else {
		var err error
		if b, err = k.Vault.Get(key); err != nil {
			return false
		}
	}
	old, err := Decode(b)
	return err == nil && old.Profile != "" && old.Profile == digest
}

// saveKnown stores a sign-in of a known identity whose profile the
// accounts store already holds: the tokens in the vault (the one durable
// write), and what status shows (expiry, scopes, last use) as a refresh
// note beside accounts.json, as a refresh does, instead of a rewrite of
// the whole file, whose size grows with every identity. done is false
// when the store cannot take notes or no longer holds the identity (an
// unlink meanwhile): the caller then stores it the full way.
func (k *Keeper) saveKnown(in accounts.SignIn, rec Record, key string) (done bool, err error) {
	n, ok := k.Store.(interface {
		NoteRefresh(provider, subject string, expiry time.Time, refreshable bool, scopes []string, now time.Time) error
	})
	if !ok {
		return false, nil
	}
	if err := k.setSignedIn(key, rec); err != nil {
		return false, err
	}
	if err := n.NoteRefresh(in.Provider, in.Profile.Subject, in.TokenExpiry, in.Refreshable, in.Scopes, k.now()); err != nil {
		return false, nil
	}
	return true, nil
}

// addNew stores a first sign-in that creates an account the way whose
// cost hardly grows with the number of accounts (accounts.Store.AddNew):
// the tokens, then the account's own line, without parsing or rewriting
// accounts.json. done is false when the store cannot, or the outcome is
// not a new account: the caller stores it the full way.
func (k *Keeper) addNew(in accounts.SignIn, rec Record, key string) (accounts.Resolution, bool, error) {
	a, ok := k.Store.(interface {
		AddNew(in accounts.SignIn, now time.Time, beforeWrite func() error) (accounts.Resolution, bool, error)
	})
	if !ok {
		return accounts.Resolution{}, false, nil
	}
	stored := false
	r, done, err := a.AddNew(in, k.now(), func() error {
		if err := k.setSignedIn(key, rec); err != nil {
			return err
		}
		stored = true
		return nil
	})
	if err != nil && stored {
		// The identity was not recorded: its tokens must not linger.
		_ = k.Vault.Delete(key)
	}
	return r, done, err
}

// perTokenClaims are claims of one ID token rather than of the person:
// they differ on every sign-in (and a refresh already leaves the stored
// ones behind), so they do not make a profile new.
var perTokenClaims = []string{"iat", "exp", "nbf", "nonce", "at_hash", "c_hash", "s_hash", "auth_time", "jti", "sid"}

// ProfileDigest identifies a profile as the accounts store keeps it: the
// fields a sign-in writes to the identity, claims in key order without
// perTokenClaims.
func ProfileDigest(p accounts.Profile) string {
	claims := p.Claims
	if claims != nil {
		claims = maps.Clone(claims)
		for _, c := range perTokenClaims {
			delete(claims, c)
		}
	}
	b, err := json.Marshal(struct {
		Email         string         `json:"email"`
		EmailVerified bool           `json:"email_verified"`
		Name          string         `json:"name"`
		AvatarURL     string         `json:"avatar_url"`
		Claims        map[string]any `json:"claims"`
	}{p.Email, p.EmailVerified, p.Name, p.AvatarURL, claims})
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// known resolves a sign-in of an identity already recorded from the
// accounts index (accounts.Store.Lookup), without parsing every account:
// for a known identity the outcome depends on nothing else.
func (k *Keeper) known(in accounts.SignIn) (accounts.Resolution, bool) {
	l, ok := k.Store.(interface {
		Lookup(provider, account, subject string) (accounts.Ref, error)
	})
	if !ok {
		return accounts.Resolution{}, false
	}
	ref, err := l.Lookup(in.Provider, "", in.Profile.Subject)
	if err != nil {
		return accounts.Resolution{}, false
	}
	return accounts.Resolution{Outcome: accounts.Known, Account: ref.Account}, true
}

// Tokens returns the stored record of an identity.
func (k *Keeper) Tokens(id accounts.Identity) (Record, error) {
	b, err := k.Vault.Get(id.Key())
	if err != nil {
		return Record{}, err
	}
	return Decode(b)
}

// Revoker revokes an identity's tokens at its provider.
type Revoker func(id accounts.Identity, rec Record) error

// ErrRevocation wraps a failed revocation: the local tokens were deleted
// anyway, and the caller says so.
var ErrRevocation = errors.New("the provider did not confirm the revocation")

// Unlink removes an identity from its account (refusing the last one),
// revokes its tokens at the provider, and deletes them locally even when
// the revocation fails; that failure comes back wrapped in ErrRevocation.
func (k *Keeper) Unlink(account, provider, subject string, revoke Revoker) (accounts.Identity, error) {
	var removed accounts.Identity
	err := k.Store.Update(func(st *accounts.State) error {
		var err error
		removed, err = st.Unlink(account, provider, subject)
		return err
	})
	if err != nil {
		return removed, err
	}
	return removed, k.forget(removed, revoke)
}

// Logout revokes and deletes the tokens of each identity and marks it as
// needing a sign-in; the identities stay on their accounts.
func (k *Keeper) Logout(ids []accounts.Identity, revoke Revoker) error {
	var errs []error
	for _, id := range ids {
		if err := k.forget(id, revoke); err != nil {
			errs = append(errs, err)
		}
		err := k.Store.Update(func(st *accounts.State) error {
			return st.MarkNeedsSignIn(id.Provider, id.Subject)
		})
		if err != nil && !errors.Is(err, accounts.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// forget revokes (when there is something to revoke) and deletes locally.
func (k *Keeper) forget(id accounts.Identity, revoke Revoker) error {
	var revokeErr error
	rec, err := k.Tokens(id)
	switch {
	case err == nil && revoke != nil:
		if err := revoke(id, rec); err != nil {
			revokeErr = fmt.Errorf("%w for %s: %w", ErrRevocation, id.Key(), err)
		}
	case err != nil && !errors.Is(err, vault.ErrNotFound) && !errors.Is(err, ErrBadRecord):
		return err
	}
	if err := k.Vault.Delete(id.Key()); err != nil {
		return fmt.Errorf("delete the tokens of %s: %w", id.Key(), err)
	}
	return revokeErr
}
