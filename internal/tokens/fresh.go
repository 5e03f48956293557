package tokens

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/statedir"
	"github.com/authcli/authcli/internal/vault"
)

// ErrSignInRequired means there is no usable token and no way to get one
// without the person: nothing stored, no refresh token, or the provider
// rejected the refresh token.
var ErrSignInRequired = errors.New("sign-in required")

// RefreshFunc gets new tokens for rec from the provider: a refresh_token
// grant, or client credentials for machine identities. It returns the new
// record; a provider that does not rotate leaves RefreshToken empty and the
// old one is kept.
type RefreshFunc func(ctx context.Context, rec Record) (Record, error)

// Source hands out fresh tokens for scripts. The cached path (a valid token
// in the vault) reads the vault once and touches nothing else: no lock, no
// network, no config.
type Source struct {
	Vault   vault.Vault
	LockDir string // where the per-identity refresh locks live
	Now     func() time.Time
	Refresh RefreshFunc
	// OnRefreshed records the new expiry in the accounts store; optional.
	OnRefreshed func(rec Record) error
	// OnRejected marks the identity as needing a sign-in; optional.
	OnRejected func() error
	// IsRejection tells a refresh error that means "sign in again"
	// (invalid_grant) from a passing failure (network).
	IsRejection func(error) bool
	// Mint makes "nothing stored" a reason to call Refresh with an empty
	// record instead of an error: machine identities (client credentials)
	// get their first token that way.
	Mint bool
}

// Want says which token must be fresh.
type Want struct {
	MinTTL  time.Duration
	IDToken bool // the ID token's own expiry decides
}

// Fresh returns the identity's tokens, refreshed first when the wanted token
// expires within MinTTL. Across processes, one refresh happens at a time per
// identity, and a process that waited for the lock uses what the other one
// stored instead of spending the refresh token again: with rotating refresh
// tokens, a second use would be reuse and could revoke the whole family.
func (s *Source) Fresh(ctx context.Context, key string, want Want) (Record, error) {
	rec, err := s.read(key)
	if err != nil {
		return Record{}, err
	}
	if s.fresh(rec, want) {
		return rec, nil
	}
	return s.freshAfter(ctx, key, want, rec)
}

// freshAfter is Fresh's slow path, given the record first read (seen).
func (s *Source) freshAfter(ctx context.Context, key string, want Want, seen Record) (Record, error) {
	if s.Refresh == nil {
		return Record{}, fmt.Errorf("%w: the token has expired", ErrSignInRequired)
	}
	unlock, err := s.lock(ctx, key)
	if err != nil {
		return Record{}, err
	}
	defer unlock()

	rec, err := s.read(key)
	if err != nil {
		return Record{}, err
	}
	if s.fresh(rec, want) {
		return rec, nil // another process refreshed while we waited
	}
	// Another process refreshed while we waited, but the provider's tokens
	// live shorter than MinTTL: refreshing again would give no better
	// token, only a stampede of refreshes. Use it while it is valid.
	if rec.UpdatedAt.After(seen.UpdatedAt) && s.fresh(rec, Want{IDToken: want.IDToken}) {
		return rec, nil
	}
	next, err := s.Refresh(ctx, rec)
	if err != nil {
		if s.IsRejection != nil && s.IsRejection(err) {
			if s.OnRejected != nil {
				_ = s.OnRejected()
			}
			return Record{}, fmt.Errorf("%w: %w", ErrSignInRequired, err)
		}
		return Record{}, err
	}
	if next.RefreshToken == "" {
		next.RefreshToken = rec.RefreshToken
	}
	if next.TokenURL == "" {
		next.TokenURL = rec.TokenURL
	}
	if next.RevocationURL == "" {
		next.RevocationURL = rec.RevocationURL
	}
	newIDToken := next.IDToken != ""
	if !newIDToken {
		next.IDToken, next.IDTokenExpiry = rec.IDToken, rec.IDTokenExpiry
	}
	if len(next.Scopes) == 0 {
		next.Scopes = rec.Scopes
	}
	next.UpdatedAt = s.now().UTC()
	b, err := next.Encode()
	if err != nil {
		return Record{}, err
	}
	// Stored before anyone sees it: a crash after this line cannot lose a
	// rotated refresh token.
	if err := s.Vault.Set(key, b); err != nil {
		return Record{}, fmt.Errorf("store the refreshed tokens: %w", err)
	}
	if s.OnRefreshed != nil {
		_ = s.OnRefreshed(next)
	}
	// A new ID token is handed out even when its life is shorter than
	// MinTTL, like an access token: refreshing again would not help.
	if want.IDToken && !newIDToken {
		return Record{}, fmt.Errorf("%w: the provider refreshed the tokens without a new ID token", ErrSignInRequired)
	}
	return next, nil
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Source) read(key string) (Record, error) {
	b, err := s.Vault.Get(key)
	if errors.Is(err, vault.ErrNotFound) {
		if s.Mint {
			return Record{}, nil
		}
		return Record{}, fmt.Errorf("%w: no tokens are stored for %s", ErrSignInRequired, key)
	}
	if err != nil {
		return Record{}, err
	}
	return Decode(b)
}

// fresh: a zero expiry means the provider gave none (GitHub OAuth apps):
// the token is good until revoked.
func (s *Source) fresh(rec Record, want Want) bool {
	exp, tok := rec.Expiry, rec.AccessToken
	if want.IDToken {
		exp, tok = rec.IDTokenExpiry, rec.IDToken
	}
	if tok == "" {
		return false
	}
	return exp.IsZero() || exp.After(s.now().Add(want.MinTTL))
}

// lock takes the identity's refresh lock, giving up when ctx ends.
func (s *Source) lock(ctx context.Context, key string) (func(), error) {
	if err := os.MkdirAll(s.LockDir, 0o700); err != nil {
		return nil, fmt.Errorf("create the lock directory: %w", err)
	}
	name := strings.NewReplacer("/", "_", "\\", "_", ":", "_").Replace(key) + ".lock"
	fl := flock.New(filepath.Join(s.LockDir, name), flock.SetFlag(os.O_CREATE|os.O_RDWR|statedir.NoFollow), flock.SetPermissions(0o600))
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ok, err := fl.TryLockContext(ctx, 10*time.Millisecond)
	if err != nil || !ok {
		return nil, fmt.Errorf("wait for another authcli refreshing %s: %w", key, errors.Join(err, ctx.Err()))
	}
	return func() { _ = fl.Unlock() }, nil
}

// ForIdentity wires the accounts store into a Source's callbacks.
func ForIdentity(store *accounts.Store, id accounts.Identity, now func() time.Time) (onRefreshed func(Record) error, onRejected func() error) {
	onRefreshed = func(rec Record) error {
		return store.Update(func(st *accounts.State) error {
			return st.RecordRefresh(id.Provider, id.Subject, rec.Expiry, rec.RefreshToken != "", rec.Scopes, now())
		})
	}
	onRejected = func() error {
		return store.Update(func(st *accounts.State) error {
			return st.MarkNeedsSignIn(id.Provider, id.Subject)
		})
	}
	return onRefreshed, onRejected
}
