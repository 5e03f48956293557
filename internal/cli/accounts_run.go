//go:build !authcli_lean

// The accounts screen (Bubble Tea) is linked into the single binary and
// the companion, not into the lean release authcli (see companion.go).

package cli

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/auth"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/tui"
)

func runAccounts(ctx context.Context, env *Env, g *globalOptions) error {
	if !env.InTTY || !env.OutTTY {
		return usageErrorf("authcli accounts needs a terminal; in scripts use authcli status, link and unlink")
	}
	if err := g.validate(); err != nil {
		return err
	}
	svc, err := newService(env, g)
	if err != nil {
		return err
	}
	if _, err := svc.Vault.List(""); err != nil {
		return vaultError(err)
	}
	b := &tuiBackend{env: env, g: g, svc: svc}
	err = tui.Run(ctx, b, tui.Options{In: env.In, Out: env.Out, Getenv: env.Getenv, Now: env.Now})
	if err != nil && ctx.Err() != nil {
		return &exitError{code: ExitInterrupted, msg: "interrupted; the accounts screen was closed", err: err}
	}
	return err
}

// forceRefresh as a minimum TTL makes every token look too old to keep.
const forceRefresh = 100 * 365 * 24 * time.Hour

// tuiBackend is the TUI's way to the use cases the commands run: the same
// auth.Service, with nothing written to the terminal the TUI draws on.
type tuiBackend struct {
	env *Env
	g   *globalOptions
	svc *auth.Service
}

func (b *tuiBackend) Load() (*accounts.State, error) {
	st, err := b.svc.Store.Load()
	return st, friendly(err)
}

func (b *tuiBackend) Providers() ([]tui.Provider, error) {
	cfg, err := b.svc.Config()
	if err != nil {
		return nil, friendly(err)
	}
	var out []tui.Provider
	for _, name := range cfg.Names() {
		pc, err := cfg.Provider(name)
		if err != nil {
			out = append(out, tui.Provider{Name: name, DisplayName: name, Problem: sentence(friendly(err))})
			continue
		}
		p := tui.Provider{Name: name, DisplayName: pc.DisplayName, Ready: true}
		if _, err := b.svc.Build(pc, b.g.Port, b.g.Scopes); err != nil {
			p.Ready, p.Problem = false, sentence(friendly(err))
		}
		out = append(out, p)
	}
	return out, nil
}

func (b *tuiBackend) Link(ctx context.Context, provider, account string, show func(tui.SignInPrompt)) error {
	return b.signIn(ctx, provider, account, account, show)
}

func (b *tuiBackend) SignIn(ctx context.Context, provider, account string, show func(tui.SignInPrompt)) error {
	// With the account named, a different person signing in is refused
	// (it would need a link) instead of silently creating an account.
	return b.signIn(ctx, provider, account, "", show)
}

// signIn runs a sign-in behind the TUI: the sign-in address, or where the
// CLI would use the device grant (no browser here) the page and the code,
// come through the flow's hooks (show), the chatter and the browser's own
// output go nowhere, and no prompt can read the TUI's keys (--yes still
// confirms).
func (b *tuiBackend) signIn(ctx context.Context, provider, account, linkTo string, show func(tui.SignInPrompt)) error {
	in := signInRequest(b.env, b.g, signInPlan{autoDevice: b.env.Open == nil})
	in.Provider, in.Account, in.LinkTo = provider, account, linkTo
	in.Stderr, in.Terminal = io.Discard, false
	if show != nil {
		in.OnURL = func(url string) { show(tui.SignInPrompt{URL: url}) }
		in.OnCode = func(code, url string) { show(tui.SignInPrompt{URL: url, UserCode: code}) }
	}
	in.Confirm = func(accounts.SignIn, accounts.Resolution) (bool, error) { return b.g.Yes, nil }
	in.Open = b.env.Open
	if in.Open == nil {
		in.Open = flow.SystemOpener(b.env.Getenv, io.Discard)
	}
	if b.g.NoBrowser {
		in.Open = nil
	}
	_, err := b.svc.SignIn(ctx, in)
	return friendly(err)
}

func (b *tuiBackend) Unlink(ctx context.Context, account, provider, subject string) error {
	_, err := b.svc.Unlink(ctx, account, provider, subject)
	return friendly(err)
}

func (b *tuiBackend) Refresh(ctx context.Context, provider, account string) error {
	_, err := b.svc.Fresh(ctx, auth.Want{Provider: provider, Account: account, MinTTL: forceRefresh})
	return friendly(err)
}

func (b *tuiBackend) SetDefault(account string) error {
	return friendly(b.svc.Store.Update(func(st *accounts.State) error {
		return st.SetDefault(account)
	}))
}

func (b *tuiBackend) AccessToken(ctx context.Context, provider, account string) (string, error) {
	rec, err := b.svc.Fresh(ctx, auth.Want{Provider: provider, Account: account, MinTTL: time.Minute})
	if err != nil {
		return "", friendly(err)
	}
	return rec.AccessToken, nil
}

// friendly gives the TUI the CLI's one-sentence message for err while
// keeping the chain for errors.Is; a sign-in the person canceled also
// matches context.Canceled.
func friendly(err error) error {
	if err == nil {
		return nil
	}
	code, msg := describe(err)
	if errors.Is(err, flow.ErrCanceled) {
		err = errors.Join(err, context.Canceled)
	}
	if msg == "" {
		msg = sentence(err)
	}
	return &exitError{code: code, msg: msg, err: err}
}
