package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/oauth2"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/provider"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// openKeeper opens the accounts store and the vault of this user, and
// checks that the vault can be used before anyone signs in for nothing.
func openKeeper(env *Env) (*tokens.Keeper, error) {
	dir, err := config.StateDir(env.Getenv)
	if err != nil {
		return nil, &exitError{code: ExitUsage, msg: sentence(err), err: err}
	}
	v, err := openVault(env, dir)
	if err != nil {
		return nil, vaultError(err)
	}
	if _, err := v.List(""); err != nil {
		return nil, vaultError(err)
	}
	return &tokens.Keeper{Store: accounts.OpenStore(dir), Vault: v, Now: env.Now}, nil
}

// vaultError gives vault failures CLI.md's exit code 5 and a way out.
func vaultError(err error) error {
	if e := agentError(err); e != nil {
		return e
	}
	switch {
	case errors.Is(err, vault.ErrUnavailable):
		return &exitError{code: ExitVault, err: err, msg: "the OS keyring is unavailable or locked (" + trimVault(err) +
			"); unlock it, or use the encrypted file vault instead: export AUTHCLI_VAULT=file and AUTHCLI_VAULT_KEY=\"$(head -c 32 /dev/urandom | base64)\" (keep that key safe)"}
	case errors.Is(err, vault.ErrNoKey):
		return &exitError{code: ExitVault, err: err, msg: "the file vault is locked: set AUTHCLI_VAULT_KEY (base64 of 32 random bytes) or AUTHCLI_VAULT_PASSPHRASE"}
	case errors.Is(err, vault.ErrDecrypt):
		return &exitError{code: ExitVault, err: err, msg: "the file vault cannot be opened: the key or passphrase is wrong, or the file was damaged; check AUTHCLI_VAULT_KEY or AUTHCLI_VAULT_PASSPHRASE"}
	case errors.Is(err, vault.ErrPermissions):
		return &exitError{code: ExitVault, err: err, msg: trimVault(err) + "; make the vault readable by you only (chmod 600 the file, 700 its directory)"}
	case errors.Is(err, vault.ErrInvalidConfig):
		return &exitError{code: ExitUsage, err: err, msg: trimVault(err)}
	}
	return &exitError{code: ExitVault, err: err, msg: "the token vault failed: " + trimVault(err)}
}

func trimVault(err error) string {
	return strings.ReplaceAll(sentence(err), "vault: ", "")
}

// signInRecord is what the vault keeps from a sign-in.
func signInRecord(res *flow.Result) tokens.Record {
	var rec tokens.Record
	if res.Token != nil {
		rec = tokens.Record{
			AccessToken:  res.Token.AccessToken,
			TokenType:    res.Token.TokenType,
			RefreshToken: res.Token.RefreshToken,
			Expiry:       res.Token.Expiry,
		}
	}
	// Without the ID token's own expiry, `token --id-token` would think it
	// never expires and print it long after its exp.
	rec.IDToken, rec.IDTokenExpiry = res.IDToken, tokens.IDTokenExpiry(res.IDToken)
	rec.Scopes = res.Scopes
	if e := res.Endpoints; e != nil {
		rec.TokenURL, rec.RevocationURL = e.Token, e.Revocation
	}
	return rec
}

func signInFor(pc *config.Provider, account string, res *flow.Result) accounts.SignIn {
	p := res.Profile
	in := accounts.SignIn{
		Provider: pc.Name,
		Profile: accounts.Profile{
			Subject: p.Subject, Email: p.Email, EmailVerified: p.EmailVerified,
			Name: p.Name, AvatarURL: p.AvatarURL, Claims: p.Claims,
		},
		TrustEmailVerified: pc.TrustEmailVerified,
		Scopes:             res.Scopes,
		Account:            account,
	}
	if res.Token != nil {
		in.TokenExpiry = res.Token.Expiry
		in.Refreshable = res.Token.RefreshToken != ""
	}
	return in
}

// confirmLink asks on the terminal (CLI.md outcome 3); --yes answers for
// the person; without a terminal nobody can answer, so it is a no.
func confirmLink(env *Env, g *globalOptions, provider string, in accounts.SignIn) tokens.Confirm {
	return func(r accounts.Resolution) (bool, error) {
		if g.Yes {
			return true, nil
		}
		if !env.InTTY || !env.ErrTTY {
			return false, nil
		}
		who := in.Profile.Email
		if who == "" {
			who = in.Profile.Subject
		}
		fmt.Fprintf(env.Err, "The %s identity %s is new, and account %s matches it", provider, oneLine(who), r.Account)
		if r.Candidate == r.Account {
			fmt.Fprint(env.Err, " by its verified email")
		}
		fmt.Fprintf(env.Err, ".\nLink it to account %s? [y/N] ", r.Account)
		line, err := bufio.NewReader(env.In).ReadString('\n')
		if err != nil && line == "" {
			return false, nil
		}
		answer := strings.ToLower(strings.TrimSpace(line))
		return answer == "y" || answer == "yes", nil
	}
}

// describeOutcome tells the person what the sign-in did to their accounts.
func describeOutcome(r accounts.Resolution, provider string, st *accounts.State) string {
	switch r.Outcome {
	case accounts.Known:
		return fmt.Sprintf("Updated the tokens of this %s identity on account %s.", provider, r.Account)
	case accounts.Created:
		s := fmt.Sprintf("Created account %s with this %s identity", r.Account, provider)
		if st != nil && st.Default == r.Account {
			s += "; it is the default account"
		}
		return s + "."
	case accounts.Linked:
		return fmt.Sprintf("Linked this %s identity to account %s.", provider, r.Account)
	}
	return ""
}

// revoker revokes the way each provider documents (RFC 7009 for most;
// GitHub, Facebook and Apple have their own requests).
func revoker(ctx context.Context, env *Env, cfg *config.File) tokens.Revoker {
	return func(id accounts.Identity, rec tokens.Record) error {
		pc, ok := cfg.Providers[id.Provider]
		if !ok {
			return fmt.Errorf("provider %q is no longer in the config", id.Provider)
		}
		p, err := provider.Build(pc, env.Now)
		if err != nil {
			return err
		}
		if p.RevocationURL == "" && pc.Issuer == "" {
			p.RevocationURL = rec.RevocationURL
		}
		if p.Revoke == nil {
			return fmt.Errorf("%w (%s)", flow.ErrNoRevocation, pc.DisplayName)
		}
		return p.Revoke(ctx, env.httpClient(), &oauth2.Token{AccessToken: rec.AccessToken, RefreshToken: rec.RefreshToken})
	}
}

// warnRevocation reports a failed revocation; the local tokens are gone
// either way, so it is a warning, not a failure.
func warnRevocation(env *Env, err error) {
	if err == nil {
		return
	}
	for _, e := range unjoin(err) {
		fmt.Fprintf(env.Err, "authcli: warning: %s; the local tokens were deleted anyway.\n", sentence(e))
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
