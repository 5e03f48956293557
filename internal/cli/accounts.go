package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/termtext"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/tui"
)

func newAccountsCmd(env *Env, g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "accounts",
		Short: "Manage accounts interactively: link, unlink, refresh, choose the default",
		Long: `Opens the accounts screen: every account with its identities and their token
health. From there you can link a provider to an account, unlink an identity,
refresh tokens now, sign in again, make an account the default, and copy an
access token to the clipboard (OSC 52; it is never shown). Press ? for keys.
Bare authcli opens it too when run on a terminal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAccounts(cmd.Context(), env, g)
		},
	}
}

func runAccounts(ctx context.Context, env *Env, g *globalOptions) error {
	if !env.InTTY || !env.OutTTY {
		return usageErrorf("authcli accounts needs a terminal; in scripts use authcli status, link and unlink")
	}
	if err := g.validate(); err != nil {
		return err
	}
	keeper, err := openKeeper(env)
	if err != nil {
		return err
	}
	b := &tuiBackend{env: env, g: g, keeper: keeper}
	err = tui.Run(ctx, b, tui.Options{In: env.In, Out: env.Out, Getenv: env.Getenv, Now: env.Now})
	if err != nil && ctx.Err() != nil {
		return &exitError{code: ExitInterrupted, msg: "interrupted; the accounts screen was closed", err: err}
	}
	return err
}

// forceRefresh as a minimum TTL makes every token look too old to keep.
const forceRefresh = 100 * 365 * 24 * time.Hour

// tuiBackend is the TUI's way to the same code the commands run: the
// accounts store and vault through the Keeper, sign-ins through
// signInAndSave, tokens through freshToken, revocation through revoker.
type tuiBackend struct {
	env    *Env
	g      *globalOptions
	keeper *tokens.Keeper
}

func (b *tuiBackend) Load() (*accounts.State, error) {
	st, err := b.keeper.Store.Load()
	return st, friendly(err)
}

func (b *tuiBackend) Providers() ([]tui.Provider, error) {
	cfg, err := b.g.loadConfig(b.env)
	if err != nil {
		return nil, friendly(err)
	}
	var out []tui.Provider
	for _, name := range cfg.Names() {
		pc := cfg.Providers[name]
		p := tui.Provider{Name: name, DisplayName: pc.DisplayName, Ready: true}
		if _, err := flowProvider(b.env, pc, b.g); err != nil {
			p.Ready, p.Problem = false, sentence(friendly(err))
		}
		out = append(out, p)
	}
	return out, nil
}

func (b *tuiBackend) Link(ctx context.Context, provider, account string, showURL func(string)) error {
	g := *b.g
	g.Account = account
	return friendly(signInAndSave(ctx, b.quiet(showURL), &g, provider, account))
}

func (b *tuiBackend) SignIn(ctx context.Context, provider, account string, showURL func(string)) error {
	// With the account named, a different person signing in is refused
	// (it would need a link) instead of silently creating an account.
	g := *b.g
	g.Account = account
	return friendly(signInAndSave(ctx, b.quiet(showURL), &g, provider, ""))
}

func (b *tuiBackend) Unlink(ctx context.Context, account, provider, subject string) error {
	cfg, err := b.g.loadConfig(b.env)
	if err != nil {
		return friendly(err)
	}
	_, err = b.keeper.Unlink(account, provider, subject, revoker(ctx, b.env, cfg))
	return friendly(err)
}

func (b *tuiBackend) Refresh(ctx context.Context, provider, account string) error {
	g := *b.g
	g.Account = account
	_, err := freshToken(ctx, b.quiet(nil), &g, provider, tokens.Want{MinTTL: forceRefresh})
	return friendly(err)
}

func (b *tuiBackend) SetDefault(account string) error {
	return friendly(b.keeper.Store.Update(func(st *accounts.State) error {
		return st.SetDefault(account)
	}))
}

func (b *tuiBackend) AccessToken(ctx context.Context, provider, account string) (string, error) {
	g := *b.g
	g.Account = account
	rec, err := freshToken(ctx, b.quiet(nil), &g, provider, tokens.Want{MinTTL: time.Minute})
	if err != nil {
		return "", friendly(err)
	}
	return rec.AccessToken, nil
}

// quiet is the environment for work behind the TUI: nothing may reach the
// terminal the TUI draws on. Sign-in chatter (the address, browser output)
// goes to a writer that hands the address to showURL; the summary that
// login prints on stdout is dropped; no prompt can read the TUI's keys.
// The opener is set explicitly so a machine without a browser gets the
// address to open (which the TUI shows and copies) rather than the device
// grant, whose code the TUI has no place for.
func (b *tuiBackend) quiet(showURL func(string)) *Env {
	env := *b.env
	spotter := &urlSpotter{show: showURL}
	env.In = strings.NewReader("")
	env.Out = io.Discard
	env.Err = spotter
	env.InTTY, env.OutTTY, env.ErrTTY = false, false, false
	if env.Open == nil {
		env.Open = flow.SystemOpener(env.Getenv, spotter)
	}
	return &env
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

// urlSpotter reads sign-in chatter line by line and passes the first line
// that is only an http(s) address (the flow prints the authorization URL
// that way) to show. It is written to from the flow and from the browser
// command's output copier at once.
type urlSpotter struct {
	mu   sync.Mutex
	show func(string)
	buf  []byte
	done bool
}

// maxSpotLine bounds what a line without a newline may hold.
const maxSpotLine = 64 << 10

func (w *urlSpotter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > maxSpotLine {
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

func (w *urlSpotter) line(s string) {
	s = strings.TrimSpace(s)
	if w.done || w.show == nil || strings.ContainsAny(s, " \t") {
		return
	}
	if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
		w.done = true
		w.show(termtext.Line(s))
	}
}
