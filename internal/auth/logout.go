package auth

import (
	"context"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/provider"
	"github.com/authcli/authcli/internal/tokens"
)

// Unlink removes an identity from its account (never the account's last),
// revokes its tokens at the provider, and deletes them locally even when
// the revocation fails; that failure comes back wrapping
// tokens.ErrRevocation, with the removed identity.
func (s *Service) Unlink(ctx context.Context, account, providerName, subject string) (accounts.Identity, error) {
	f, err := s.config()
	if err != nil {
		return accounts.Identity{}, err
	}
	return s.keeper().Unlink(account, providerName, subject, s.revoker(ctx, f))
}

// Logout says whose tokens to revoke and delete.
type Logout struct {
	Provider string // one identity of this provider (with Account: on it)
	Account  string // every identity of this account (without Provider)
	All      bool   // every identity
}

// Logout revokes and deletes the chosen identities' tokens; they stay on
// their accounts, needing a sign-in. It returns who was logged out; a
// failed revocation is an error wrapping tokens.ErrRevocation next to a
// complete local logout.
func (s *Service) Logout(ctx context.Context, which Logout) ([]accounts.Identity, error) {
	f, err := s.config()
	if err != nil {
		return nil, err
	}
	st, err := s.Store.Load()
	if err != nil {
		return nil, err
	}
	var ids []accounts.Identity
	switch {
	case which.All:
		for _, a := range st.Accounts {
			ids = append(ids, a.Identities...)
		}
	case which.Provider != "":
		_, id, err := st.Find(which.Provider, which.Account)
		if err != nil {
			return nil, err
		}
		ids = []accounts.Identity{id}
	default:
		a, ok := st.Account(which.Account)
		if !ok {
			return nil, fmt.Errorf("%w: %q", accounts.ErrNoAccount, which.Account)
		}
		ids = a.Identities
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return ids, s.keeper().Logout(ids, s.revoker(ctx, f))
}

// revoker revokes the way each provider documents (RFC 7009 for most;
// GitHub, Facebook and Apple have their own requests), at the endpoint the
// sign-in recorded when the provider is still the same one.
func (s *Service) revoker(ctx context.Context, f *config.File) tokens.Revoker {
	return func(id accounts.Identity, rec tokens.Record) error {
		pc, ok := f.Providers[id.Provider]
		if !ok {
			return ErrProviderGone
		}
		p, err := provider.Build(pc, s.Now)
		if err != nil {
			return err
		}
		if p.RevocationURL == "" && rec.Issuer == p.Issuer && rec.RevocationURL != "" {
			// The endpoint this issuer's discovery gave at sign-in, stored
			// with the tokens: built in as if the table named it, so the
			// provider's revoker needs no discovery (it captures its
			// endpoint when built, so setting p.RevocationURL now would
			// not reach it).
			known := *pc
			known.RevocationURL = rec.RevocationURL
			if p, err = provider.Build(&known, s.Now); err != nil {
				return err
			}
		}
		if p.Revoke == nil {
			return fmt.Errorf("%w (%s)", flow.ErrNoRevocation, pc.DisplayName)
		}
		return p.Revoke(ctx, s.client(), &oauth2.Token{AccessToken: rec.AccessToken, RefreshToken: rec.RefreshToken})
	}
}
