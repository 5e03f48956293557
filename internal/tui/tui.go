// Package tui is the interactive accounts screen of `authcli accounts` (and
// of bare `authcli` on a terminal), built on Bubble Tea v2.
//
// The package holds no account logic: everything it shows comes from a
// [Backend] (the CLI implements it over the accounts and tokens packages),
// every change goes back through it, and slow work (browser sign-ins,
// refreshes, revocations) runs as tea.Cmd so the screen never freezes.
// A root model routes keys to one model per screen (accounts list, details,
// provider picker, confirmation); keys live in keys.go, styles in styles.go.
//
// Every authcli command links this package, so nothing it brings in may
// look at the terminal when the binary starts; a test runs the binary on
// a silent terminal to hold that. It uses Bubble Tea v2 and bubbles' key
// bindings, which do not, and styles text itself rather than with Lip
// Gloss v2, which does (see styles.go). Colours are decided inside Run,
// from the colour profile the program detects (tea.ColorProfileMsg) and
// NO_COLOR.
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/authcli/authcli/internal/accounts"
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
	// Link runs the sign-in at provider and links the identity to account.
	// show receives what the person must do elsewhere: the sign-in page's
	// address, for people whose browser did not open, or, where the CLI
	// would use the device grant (no browser here), the page and the code
	// to enter there. Cancelling ctx ends the sign-in and stores nothing.
	Link(ctx context.Context, provider, account string, show func(SignInPrompt)) error
	// SignIn runs the sign-in again for an identity of account (it must
	// come back as the same identity), or, with account "", a first
	// sign-in that creates an account.
	SignIn(ctx context.Context, provider, account string, show func(SignInPrompt)) error
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

// SignInPrompt is what a running sign-in needs the person to do: open URL
// in a browser, and, with the device grant, enter UserCode on that page.
type SignInPrompt struct {
	URL      string
	UserCode string // "" for the browser sign-in
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
	// Getenv is the environment: NO_COLOR, and what Bubble Tea reads to
	// know the terminal (TERM, COLORTERM, …; see teaEnvironment). nil:
	// os.Getenv.
	Getenv func(string) string
	Now    func() time.Time // token health; nil: time.Now
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
// draws on the alternate screen (see View), so the shell's scrollback stays
// as it was, and restores the terminal on every way out, a panic included.
func Run(ctx context.Context, b Backend, opts Options) error {
	opts = opts.withDefaults()
	m := New(ctx, b, opts)
	defer m.stop()
	_, err := tea.NewProgram(m,
		tea.WithContext(ctx),
		tea.WithInput(opts.In),
		tea.WithOutput(opts.Out),
		tea.WithEnvironment(teaEnvironment(opts.Getenv)),
		// The size of an output that is not a terminal (a terminal
		// reports its own): without one nothing would be drawn.
		tea.WithWindowSize(defaultWidth, defaultHeight),
	).Run()
	switch {
	case m.crashed != nil:
		return fmt.Errorf("%w; the terminal was restored. Please report this", m.crashed)
	case err == nil:
		return nil
	case errors.Is(err, tea.ErrProgramPanic):
		// A panic outside what the model guards (drawing): Bubble Tea
		// caught it and restored the terminal.
		return fmt.Errorf("%w (the terminal was restored): %w", ErrCrashed, err)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return fmt.Errorf("run the accounts screen: %w", err)
}

// teaEnvNames are the variables Bubble Tea and its colour-profile detection
// read (terminal type, colour switches, size fallbacks, tmux and SSH hints).
func teaEnvNames() []string {
	return []string{
		"TERM", "COLORTERM", "TERM_PROGRAM", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE",
		"TTY_FORCE", "TMUX", "SSH_TTY", "WT_SESSION", "GOOGLE_CLOUD_SHELL", "COLUMNS", "LINES",
	}
}

// teaEnvironment is the environment Bubble Tea sees, taken from getenv so
// the program depends on the injected environment, not the process's.
// It is never nil: nil would make Bubble Tea read os.Environ.
func teaEnvironment(getenv func(string) string) []string {
	names := teaEnvNames()
	env := make([]string, 0, len(names))
	for _, name := range names {
		if v := getenv(name); v != "" {
			env = append(env, name+"="+v)
		}
	}
	return env
}
