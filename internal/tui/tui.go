// Package tui is the interactive accounts screen of `authcli accounts` (and
// of bare `authcli` on a terminal), built on bubbletea v1.
//
// The package holds no account logic: everything it shows comes from a
// [Backend] (the CLI implements it over the accounts and tokens packages),
// every change goes back through it, and slow work (browser sign-ins,
// refreshes, revocations) runs as tea.Cmd so the screen never freezes.
// A root model routes keys to one model per screen (accounts list, details,
// provider picker, confirmation); keys live in keys.go, styles in styles.go.
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/authcli/authcli/internal/accounts"
	// Keeps bubbletea's init from querying the terminal at every start of
	// the binary; see the package's doc.
	_ "github.com/authcli/authcli/internal/tui/noprobe"
)

// Backend is what the TUI can do to accounts. Every method may do I/O; the
// TUI calls them from tea.Cmd goroutines, one action at a time. Errors are
// shown to the person as they are, so they should read as one sentence that
// says what to do next; the TUI branches only on accounts.ErrLastIdentity,
// tokens.ErrRevocation (the identity is gone, the provider did not confirm)
// and context.Canceled.
type Backend interface {
	// Load reads the accounts (no secrets).
	Load() (*accounts.State, error)
	// Providers lists the configured providers for the link picker.
	Providers() ([]Provider, error)
	// Link runs the browser sign-in at provider and links the identity to
	// account. showURL receives the sign-in page's address, for people whose
	// browser did not open. Cancelling ctx ends the sign-in and stores nothing.
	Link(ctx context.Context, provider, account string, showURL func(url string)) error
	// SignIn runs the browser sign-in again for an identity of account (it
	// must come back as the same identity), or, with account "", a first
	// sign-in that creates an account.
	SignIn(ctx context.Context, provider, account string, showURL func(url string)) error
	// Unlink removes the identity from account, revokes its tokens and
	// deletes them locally.
	Unlink(ctx context.Context, account, provider, subject string) error
	// Refresh gets new tokens for account's identity at provider now, even
	// when the current ones are still valid.
	Refresh(ctx context.Context, provider, account string) error
	// SetDefault makes account the default account.
	SetDefault(account string) error
	// AccessToken returns a fresh access token of account's identity at
	// provider. The TUI only ever sends it to the clipboard.
	AccessToken(ctx context.Context, provider, account string) (string, error)
}

// Provider is one configured provider, as the link picker shows it.
type Provider struct {
	Name        string
	DisplayName string
	// Ready is false when authcli cannot run a browser sign-in with it;
	// Problem then says why.
	Ready   bool
	Problem string
}

// Options is the world the TUI runs in.
type Options struct {
	In  io.Reader // keys; nil: os.Stdin
	Out io.Writer // the terminal; nil: os.Stdout
	// Clipboard receives the OSC 52 sequence that copies a token; nil: Out.
	Clipboard io.Writer
	Getenv    func(string) string // NO_COLOR; nil: os.Getenv
	Now       func() time.Time    // token health; nil: time.Now
}

func (o Options) withDefaults() Options {
	if o.In == nil {
		o.In = os.Stdin
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Clipboard == nil {
		o.Clipboard = o.Out
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// ErrCrashed means the TUI hit a bug and stopped; the terminal was restored.
var ErrCrashed = errors.New("the accounts screen stopped on an internal error")

// Run shows the accounts screen until the person quits or ctx ends. It
// draws on the alternate screen, so the shell's scrollback stays as it was,
// and restores the terminal on every way out, a panic included.
func Run(ctx context.Context, b Backend, opts Options) error {
	opts = opts.withDefaults()
	m := New(ctx, b, opts)
	defer m.stop()
	_, err := tea.NewProgram(m,
		tea.WithContext(ctx),
		tea.WithInput(opts.In),
		tea.WithOutput(opts.Out),
		tea.WithAltScreen(),
	).Run()
	switch {
	case m.crashed != nil:
		return fmt.Errorf("%w; the terminal was restored. Please report this", m.crashed)
	case err == nil:
		return nil
	case errors.Is(err, tea.ErrProgramPanic):
		// A panic outside what the model guards (drawing): bubbletea
		// caught it and restored the terminal.
		return fmt.Errorf("%w (the terminal was restored): %w", ErrCrashed, err)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return fmt.Errorf("run the accounts screen: %w", err)
}
