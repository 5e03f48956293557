package tokens

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authcli/authcli/internal/vault"
)

// ErrSignInRequired means there is no usable token and no way to get one
// without the person: nothing stored, no refresh token, or the provider
// rejected the refresh token.
var ErrSignInRequired = errors.New("sign-in required")

// GrantFunc gets new tokens for rec from the provider: a refresh_token
// grant, or client credentials for machine identities. A provider that
// does not rotate leaves RefreshToken empty and the old one is kept.
//
// A rotating provider has spent rec's refresh token the moment it answers,
// so nothing it sent may be lost: keep stores a record at once (before any
// further network call), and a record returned with an error is stored too
// when it holds a refresh token — without its access and ID tokens, which
// failed a check and must not be handed out.
type GrantFunc func(ctx context.Context, rec Record, keep func(Record) error) (Record, error)

// Want says which token must be fresh.
type Want struct {
	MinTTL  time.Duration
	IDToken bool // the ID token's own expiry decides
}

// Usable reports whether rec holds the wanted token valid for MinTTL more.
// A zero expiry means the provider gave none (GitHub OAuth apps): the
// token is good until revoked.
func Usable(rec Record, want Want, now time.Time) bool {
	exp, tok := rec.Expiry, rec.AccessToken
	if want.IDToken {
		exp, tok = rec.IDTokenExpiry, rec.IDToken
	}
	if tok == "" {
		return false
	}
	return exp.IsZero() || exp.After(now.Add(want.MinTTL))
}

// Source reads and refreshes one vault's token records. The cached path
// (Read, then Usable) touches nothing but the vault: no lock, no network,
// no config.
type Source struct {
	Vault   vault.Vault
	LockDir string // where the per-identity refresh locks live
	Now     func() time.Time
	// Mint makes "nothing stored" an empty record instead of an error:
	// machine identities (client credentials) get their first token that
	// way.
	Mint bool
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Read returns key's stored record.
func (s *Source) Read(key string) (Record, error) {
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

// Usable is Usable at the source's clock.
func (s *Source) Usable(rec Record, want Want) bool { return Usable(rec, want, s.now()) }

// Lock takes key's refresh lock. With it held, Settled says whether the
// refresh is still needed.
func (s *Source) Lock(ctx context.Context, key string) (*Lock, error) {
	return LockIdentity(ctx, s.LockDir, key)
}

// Settled re-reads key under its lock and reports whether another process
// already did the refresh while this one waited: the wanted token is
// usable, or — when the provider's tokens live shorter than MinTTL — a
// newer record than seen is valid at all, which a second refresh would not
// improve (only a stampede of refreshes would follow).
func (s *Source) Settled(key string, want Want, seen Record) (Record, bool, error) {
	rec, err := s.Read(key)
	if err != nil {
		return Record{}, false, err
	}
	if s.Usable(rec, want) {
		return rec, true, nil
	}
	if rec.UpdatedAt.After(seen.UpdatedAt) && s.Usable(rec, Want{IDToken: want.IDToken}) {
		return rec, true, nil
	}
	return rec, false, nil
}

// Refresh runs grant for key's record while the caller holds key's lock,
// and stores what the provider answered before returning it: a crash
// after the store cannot lose a rotated refresh token, and the record is
// never presented again by anyone once its successor is stored.
func (s *Source) Refresh(ctx context.Context, key string, want Want, grant GrantFunc) (Record, error) {
	rec, err := s.Read(key)
	if err != nil {
		return Record{}, err
	}
	keep := func(next Record) error { return s.keepRefreshToken(key, rec, next) }
	next, err := grant(ctx, rec, keep)
	if err != nil {
		if next.RefreshToken != "" {
			// The provider rotated but its answer failed a check: keep
			// the new refresh token, hand out nothing of that answer.
			if serr := keep(next); serr != nil {
				return Record{}, errors.Join(err, serr)
			}
		}
		return Record{}, err
	}
	next = merge(rec, next, s.now())
	if err := s.write(key, next); err != nil {
		return Record{}, err
	}
	// A new ID token is handed out even when its life is shorter than
	// MinTTL, like an access token: refreshing again would not help.
	if want.IDToken && next.IDToken == "" {
		return Record{}, fmt.Errorf("%w: the provider refreshed the tokens without a new ID token", ErrSignInRequired)
	}
	return next, nil
}

// keepRefreshToken stores only next's refresh token in place of prev's:
// the access and ID tokens are dropped, so the next call refreshes again
// with the token the provider expects.
func (s *Source) keepRefreshToken(key string, prev, next Record) error {
	if next.RefreshToken == "" {
		return nil
	}
	rec := merge(prev, Record{RefreshToken: next.RefreshToken}, s.now())
	rec.AccessToken, rec.Expiry, rec.IDToken, rec.IDTokenExpiry = "", time.Time{}, "", time.Time{}
	if err := s.write(key, rec); err != nil {
		return fmt.Errorf("store the rotated refresh token: %w", err)
	}
	return nil
}

func (s *Source) write(key string, rec Record) error {
	b, err := rec.Encode()
	if err != nil {
		return err
	}
	if err := s.Vault.Set(key, b); err != nil {
		return fmt.Errorf("store the refreshed tokens: %w", err)
	}
	return nil
}

// merge lays a refresh's answer over the previous record: what the
// provider did not send again (a refresh token that did not rotate, the
// endpoints, an ID token, scopes) is kept.
func merge(prev, next Record, now time.Time) Record {
	if next.RefreshToken == "" {
		next.RefreshToken = prev.RefreshToken
	}
	if next.IDToken == "" {
		next.IDToken, next.IDTokenExpiry = prev.IDToken, prev.IDTokenExpiry
	}
	if len(next.Scopes) == 0 {
		next.Scopes = prev.Scopes
	}
	if next.TokenURL == "" {
		next.Endpoints = prev.Endpoints
	}
	// A refresh does not touch the profile the accounts store holds.
	next.Profile = prev.Profile
	next.UpdatedAt = now.UTC()
	return next
}
