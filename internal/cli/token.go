package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

type tokenOptions struct {
	*globalOptions
	Provider string
	IDToken  bool
	Format   string
	MinTTL   time.Duration
}

func newTokenCmd(env *Env, g *globalOptions) *cobra.Command {
	opts := &tokenOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "token [PROVIDER]",
		Short: "Print a fresh access token for scripts",
		Long: `Prints the identity's access token on stdout and nothing else, refreshing it
first when it expires within --min-ttl. Safe to run from many processes at
once: one refreshes, the others use its result.`,
		Example: "  curl -H \"Authorization: Bearer $(authcli token github)\" https://api.github.com/user\n" +
			"  eval \"$(authcli token corp --format env)\"",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Provider = args[0]
			}
			return runToken(cmd.Context(), env, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.IDToken, "id-token", false, "print the ID token instead of the access token")
	f.StringVar(&opts.Format, "format", "raw", "output: raw, json or env")
	f.DurationVar(&opts.MinTTL, "min-ttl", 60*time.Second, "refresh first when the token expires within this")
	return cmd
}

func runToken(ctx context.Context, env *Env, opts *tokenOptions) error {
	switch opts.Format {
	case "raw", "json", "env":
	default:
		return usageErrorf("--format must be raw, json or env, not %q", opts.Format)
	}
	if opts.MinTTL < 0 {
		return usageErrorf("--min-ttl cannot be negative")
	}
	rec, err := freshToken(ctx, env, opts.globalOptions, opts.Provider, tokens.Want{MinTTL: opts.MinTTL, IDToken: opts.IDToken})
	if err != nil {
		return err
	}
	return printToken(env.Out, rec, opts.Format, opts.IDToken)
}

// lazyConfig loads the config once, and only when needed: the cached
// token path never parses it.
type lazyConfig struct {
	env  *Env
	g    *globalOptions
	file *config.File
	err  error
	done bool
}

func (l *lazyConfig) get() (*config.File, error) {
	if !l.done {
		l.file, l.err = l.g.loadConfig(l.env)
		l.done = true
	}
	return l.file, l.err
}

// freshToken finds the identity (accounts store), reads its tokens (vault)
// and refreshes them when needed. With a valid cached token it does no
// network I/O and does not read the config unless PROVIDER was omitted.
func freshToken(ctx context.Context, env *Env, g *globalOptions, provider string, want tokens.Want) (tokens.Record, error) {
	if c := agentClient(env); c != nil {
		return freshFromAgent(ctx, c, g, provider, want)
	}
	dir, err := config.StateDir(env.Getenv)
	if err != nil {
		return tokens.Record{}, &exitError{code: ExitUsage, msg: sentence(err), err: err}
	}
	v, err := vault.Open(env.Getenv, dir)
	if err != nil {
		return tokens.Record{}, vaultError(err)
	}
	return freshTokenFrom(ctx, env, g, v, provider, "", want)
}

// freshTokenFrom is freshToken with the vault given: the agent runs it
// with the vault it holds. A subject picks one identity of the provider.
func freshTokenFrom(ctx context.Context, env *Env, g *globalOptions, v vault.Vault, provider, subject string, want tokens.Want) (tokens.Record, error) {
	cfg := &lazyConfig{env: env, g: g}
	if provider == "" {
		f, err := cfg.get()
		if err != nil {
			return tokens.Record{}, err
		}
		pc, err := f.Provider("")
		if err != nil {
			return tokens.Record{}, err
		}
		provider = pc.Name
	}
	dir, err := config.StateDir(env.Getenv)
	if err != nil {
		return tokens.Record{}, &exitError{code: ExitUsage, msg: sentence(err), err: err}
	}
	store := accounts.OpenStore(dir)
	st, err := store.Load()
	if err != nil {
		return tokens.Record{}, err
	}
	src := &tokens.Source{Vault: v, LockDir: filepath.Join(dir, "locks"), Now: env.Now, IsRejection: isInvalidGrant}
	_, id, findErr := st.Find(provider, g.Account)
	if subject != "" {
		if _, sid, ok := st.Owner(provider, subject); ok {
			id, findErr = sid, nil
		} else {
			findErr = fmt.Errorf("%w: no %s identity with subject %s", accounts.ErrNotFound, provider, subject)
		}
	}
	switch {
	case findErr == nil:
		src.Refresh = refreshFunc(env, cfg, id)
		src.OnRefreshed, src.OnRejected = tokens.ForIdentity(store, id, env.now)
	case errors.Is(findErr, accounts.ErrNotFound):
		// Not a person's identity; maybe a machine identity.
		f, err := cfg.get()
		if err != nil {
			return tokens.Record{}, err
		}
		pc, ok := f.Providers[provider]
		if !ok || pc.Grant != config.GrantClientCredentials {
			return tokens.Record{}, &exitError{code: ExitSignIn, err: findErr,
				msg: fmt.Sprintf("no %s identity is signed in%s; sign in again with: authcli login %s", provider, forAccount(g.Account), provider)}
		}
		id = accounts.Identity{Provider: provider, Subject: "@client"}
		src.Refresh, src.Mint = clientCredentialsFunc(env, pc), true
	default:
		return tokens.Record{}, findErr
	}
	rec, err := src.Fresh(ctx, id.Key(), want)
	if errors.Is(err, tokens.ErrSignInRequired) {
		return tokens.Record{}, &exitError{code: ExitSignIn, err: err,
			msg: fmt.Sprintf("the %s tokens cannot be refreshed (%s); sign in again with: authcli login %s",
				provider, strings.TrimPrefix(sentence(err), tokens.ErrSignInRequired.Error()+": "), provider)}
	}
	if err != nil && isVaultError(err) {
		return tokens.Record{}, vaultError(err)
	}
	return rec, err
}

func forAccount(account string) string {
	if account == "" {
		return ""
	}
	return " on account " + account
}

func isInvalidGrant(err error) bool {
	var pe *flow.ProviderError
	return errors.As(err, &pe) && pe.Code == "invalid_grant"
}

// refreshFunc refreshes a person's identity. The config is read only now,
// on the slow path; the token endpoint comes from the config, else from the
// sign-in (no discovery needed).
func refreshFunc(env *Env, cfg *lazyConfig, id accounts.Identity) tokens.RefreshFunc {
	return func(ctx context.Context, rec tokens.Record) (tokens.Record, error) {
		if rec.RefreshToken == "" {
			return tokens.Record{}, fmt.Errorf("%w: the token expired and the provider gave no refresh token", tokens.ErrSignInRequired)
		}
		f, err := cfg.get()
		if err != nil {
			return tokens.Record{}, err
		}
		pc, ok := f.Providers[id.Provider]
		if !ok {
			return tokens.Record{}, usageErrorf("provider %q is no longer in %s; add it back to refresh its tokens", id.Provider, f.Path)
		}
		fp, err := flowProvider(env, pc, cfg.g)
		if err != nil {
			return tokens.Record{}, err
		}
		client := env.httpClient()
		tokenURL := pc.TokenURL
		if tokenURL == "" {
			tokenURL = rec.TokenURL
		}
		var endpoints *flow.Endpoints
		if tokenURL == "" || pc.Issuer != "" {
			if endpoints, err = fp.Resolve(ctx, client, env.now); err != nil {
				return tokens.Record{}, err
			}
			if tokenURL == "" {
				tokenURL = endpoints.Token
			}
		}
		tok, err := fp.Refresh(ctx, client, tokenURL, rec.RefreshToken)
		if err != nil {
			return tokens.Record{}, err
		}
		next := tokens.Record{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry, TokenURL: tokenURL}
		if s, ok := tok.Extra("scope").(string); ok && s != "" {
			next.Scopes = strings.Fields(s)
		}
		// OIDC Core §12.2: a refreshed ID token must be as valid as the
		// first one, for the same subject.
		if raw, _ := tok.Extra("id_token").(string); raw != "" && endpoints != nil && endpoints.Verifier != nil {
			claims, err := flow.VerifyIDToken(ctx, endpoints, pc.ClientID, raw, "", tok.AccessToken, env.now())
			if err != nil {
				return tokens.Record{}, err
			}
			if sub, _ := claims["sub"].(string); sub != id.Subject {
				return tokens.Record{}, fmt.Errorf("%w: the refreshed ID token is for another subject", flow.ErrIDToken)
			}
			next.IDToken, next.IDTokenExpiry = raw, tokens.IDTokenExpiry(raw)
		}
		return next, nil
	}
}

// clientCredentialsFunc gets machine tokens (grant = "client_credentials").
func clientCredentialsFunc(env *Env, pc *config.Provider) tokens.RefreshFunc {
	return func(ctx context.Context, _ tokens.Record) (tokens.Record, error) {
		fp := flow.Provider{Name: pc.Name, Issuer: pc.Issuer, ClientID: pc.ClientID, ClientSecret: pc.ClientSecret, Scopes: pc.Scopes, TokenURL: pc.TokenURL}
		client := env.httpClient()
		tokenURL := pc.TokenURL
		if tokenURL == "" {
			e, err := fp.Resolve(ctx, client, env.now)
			if err != nil {
				return tokens.Record{}, err
			}
			tokenURL = e.Token
		}
		tok, err := fp.ClientCredentials(ctx, client, tokenURL)
		if err != nil {
			return tokens.Record{}, err
		}
		return tokens.Record{AccessToken: tok.AccessToken, TokenType: tok.TokenType, Expiry: tok.Expiry, Scopes: pc.Scopes, TokenURL: tokenURL}, nil
	}
}

// printToken writes the token in the chosen format; nothing else goes to
// stdout.
func printToken(w io.Writer, rec tokens.Record, format string, idToken bool) error {
	value := rec.AccessToken
	if idToken {
		if rec.IDToken == "" {
			return usageErrorf("this identity has no ID token (the provider is not OpenID Connect, or openid was not requested)")
		}
		value = rec.IDToken
	}
	tokenType := rec.TokenType
	if tokenType == "" {
		tokenType = "Bearer"
	}
	switch format {
	case "json":
		out := struct {
			AccessToken string   `json:"access_token"`
			TokenType   string   `json:"token_type"`
			Expiry      string   `json:"expiry,omitempty"`
			Scopes      []string `json:"scopes"`
			IDToken     string   `json:"id_token,omitempty"`
		}{AccessToken: rec.AccessToken, TokenType: tokenType, Scopes: rec.Scopes, IDToken: rec.IDToken}
		if !rec.Expiry.IsZero() {
			out.Expiry = rec.Expiry.UTC().Format(time.RFC3339)
		}
		if out.Scopes == nil {
			out.Scopes = []string{}
		}
		return json.NewEncoder(w).Encode(out)
	case "env":
		var b strings.Builder
		fmt.Fprintf(&b, "AUTHCLI_ACCESS_TOKEN=%s\n", shellQuote(rec.AccessToken))
		fmt.Fprintf(&b, "AUTHCLI_TOKEN_TYPE=%s\n", shellQuote(tokenType))
		if !rec.Expiry.IsZero() {
			fmt.Fprintf(&b, "AUTHCLI_TOKEN_EXPIRY=%s\n", rec.Expiry.UTC().Format(time.RFC3339))
		}
		if rec.IDToken != "" {
			fmt.Fprintf(&b, "AUTHCLI_ID_TOKEN=%s\n", shellQuote(rec.IDToken))
		}
		_, err := io.WriteString(w, b.String())
		return err
	default:
		_, err := io.WriteString(w, value+"\n")
		return err
	}
}

// shellQuote makes a value safe for eval in POSIX shells.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
