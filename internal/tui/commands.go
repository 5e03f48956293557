package tui

import (
	"context"
	"errors"
	"io"

	tea "charm.land/bubbletea/v2"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/termtext"
	"github.com/authcli/authcli/internal/tokens"
)

// crashedMsg: a command panicked; the TUI quits and Run reports it.
type crashedMsg struct{ value any }

// guard turns a panic in a command (a Backend bug) into crashedMsg, so the
// TUI can stop cleanly with one sentence instead of a stack dump.
func guard(cmd tea.Cmd) tea.Cmd {
	return func() (msg tea.Msg) {
		defer func() {
			if r := recover(); r != nil {
				msg = crashedMsg{value: r}
			}
		}()
		return cmd()
	}
}

// load reads the accounts and the providers off the event loop.
func (m *Model) load() tea.Cmd {
	b := m.backend
	return guard(func() tea.Msg {
		st, err := b.Load()
		providers, perr := b.Providers()
		return accountsLoadedMsg{state: st, err: err, providers: providers, providersErr: perr}
	})
}

// start begins a slow action. work runs in a tea.Cmd goroutine with a
// context that esc cancels, and a show whose prompt reaches the screen as
// a signInPromptShownMsg. Nothing starts while another action runs.
func (m *Model) start(label string, work func(ctx context.Context, show func(SignInPrompt)) tea.Msg) tea.Cmd {
	if m.busy != nil {
		return nil
	}
	m.nextOp++
	id := m.nextOp
	ctx, cancel := context.WithCancel(m.ctx)
	m.busy = &operation{id: id, label: label, cancel: cancel}
	m.status = status{}
	prompts := make(chan SignInPrompt, 1)
	show := func(p SignInPrompt) {
		select {
		case prompts <- p:
		default: // the first prompt is the one to show
		}
	}
	run := guard(func() tea.Msg { return work(ctx, show) })
	wait := func() tea.Msg {
		select {
		case p := <-prompts:
			return signInPromptShownMsg{op: id, prompt: p}
		case <-ctx.Done():
			return nil
		}
	}
	m.spin = 0
	return tea.Batch(run, wait, spinTick(id))
}

func (m *Model) link(p Provider, account string) tea.Cmd {
	b, name := m.backend, p.Name
	return m.start("Signing in to "+displayName(p)+" to link it to account "+account, func(ctx context.Context, show func(SignInPrompt)) tea.Msg {
		return identityLinkedMsg{provider: name, account: account, err: b.Link(ctx, name, account, show)}
	})
}

func (m *Model) firstSignIn(p Provider) tea.Cmd {
	b, name := m.backend, p.Name
	return m.start("Signing in to "+displayName(p), func(ctx context.Context, show func(SignInPrompt)) tea.Msg {
		return signedInAgainMsg{provider: name, err: b.SignIn(ctx, name, "", show)}
	})
}

func (m *Model) signInAgain(ref identityRef) tea.Cmd {
	b := m.backend
	return m.start("Signing in to "+providerName(ref.provider, m.providerNames())+" again", func(ctx context.Context, show func(SignInPrompt)) tea.Msg {
		return signedInAgainMsg{provider: ref.provider, account: ref.account, err: b.SignIn(ctx, ref.provider, ref.account, show)}
	})
}

func (m *Model) unlink(ref identityRef) tea.Cmd {
	b := m.backend
	return m.start("Unlinking "+m.identityLabel(ref), func(ctx context.Context, _ func(SignInPrompt)) tea.Msg {
		return identityUnlinkedMsg{ref: ref, err: b.Unlink(ctx, ref.account, ref.provider, ref.subject)}
	})
}

func (m *Model) refresh(ref identityRef) tea.Cmd {
	b := m.backend
	return m.start("Refreshing the tokens of "+m.identityLabel(ref), func(ctx context.Context, _ func(SignInPrompt)) tea.Msg {
		return tokensRefreshedMsg{ref: ref, err: b.Refresh(ctx, ref.provider, ref.account)}
	})
}

func (m *Model) setDefault(account string) tea.Cmd {
	if m.state != nil && m.state.Default == account {
		m.setStatus(statusInfo, account+" is already the default account.")
		return nil
	}
	b := m.backend
	return m.start("Making "+account+" the default account", func(context.Context, func(SignInPrompt)) tea.Msg {
		return defaultChangedMsg{account: account, err: b.SetDefault(account)}
	})
}

// copyToken sends the access token to the terminal's clipboard. The token
// goes from the Backend straight into the OSC 52 sequence: it is never part
// of the model, a message or the screen.
func (m *Model) copyToken(ref identityRef) tea.Cmd {
	b, w := m.backend, m.opts.Clipboard
	return m.start("Getting the access token of "+m.identityLabel(ref), func(ctx context.Context, _ func(SignInPrompt)) tea.Msg {
		tok, err := b.AccessToken(ctx, ref.provider, ref.account)
		if err == nil {
			err = writeClipboard(w, tok)
		}
		return tokenCopiedMsg{ref: ref, err: err}
	})
}

func copyURL(w io.Writer, url string) tea.Cmd {
	return guard(func() tea.Msg { return urlCopiedMsg{err: writeClipboard(w, url)} })
}

func displayName(p Provider) string {
	if p.DisplayName != "" {
		return termtext.Line(p.DisplayName)
	}
	return termtext.Line(p.Name)
}

// canceled reports whether an action ended because the person pressed esc.
func canceled(err error, asked bool) bool {
	return errors.Is(err, context.Canceled) || asked && err != nil
}

// finished ends the running action with its result message: the status line
// says what happened, and the accounts are read again to show it.
func (m *Model) finished(msg tea.Msg) (tea.Cmd, bool) {
	asked := false
	end := func() {
		if m.busy != nil {
			asked = m.busy.canceled
			m.busy.cancel()
			m.busy = nil
		}
	}
	switch msg := msg.(type) {
	case identityLinkedMsg:
		end()
		name := providerName(msg.provider, m.providerNames())
		switch {
		case msg.err == nil:
			m.setStatus(statusDone, "Linked the "+name+" identity to account "+msg.account+".")
		case canceled(msg.err, asked):
			m.setStatus(statusInfo, "Sign-in canceled; nothing was stored.")
		default:
			m.setStatus(statusError, "Not linked: "+sentence(msg.err)+".")
		}
	case signedInAgainMsg:
		end()
		name := providerName(msg.provider, m.providerNames())
		switch {
		case msg.err == nil && msg.account == "":
			m.setStatus(statusDone, "Signed in to "+name+".")
		case msg.err == nil:
			m.setStatus(statusDone, "Signed in to "+name+" again; account "+msg.account+" has fresh tokens.")
		case canceled(msg.err, asked):
			m.setStatus(statusInfo, "Sign-in canceled; nothing was stored.")
		default:
			m.setStatus(statusError, "Not signed in: "+sentence(msg.err)+".")
		}
	case identityUnlinkedMsg:
		end()
		who := m.identityLabel(msg.ref)
		switch {
		case msg.err == nil:
			m.setStatus(statusDone, "Unlinked "+who+" from account "+msg.ref.account+"; its tokens were revoked and deleted.")
		case errors.Is(msg.err, tokens.ErrRevocation):
			m.setStatus(statusWarn, "Unlinked "+who+" from account "+msg.ref.account+" and deleted its tokens here, but "+sentence(msg.err)+".")
		case errors.Is(msg.err, accounts.ErrLastIdentity):
			m.setStatus(statusWarn, "Not unlinked: "+sentence(msg.err)+". Nothing changed.")
		case canceled(msg.err, asked):
			m.setStatus(statusInfo, "Unlink canceled; nothing changed.")
		default:
			m.setStatus(statusError, "Not unlinked: "+sentence(msg.err)+".")
		}
	case tokensRefreshedMsg:
		end()
		who := m.identityLabel(msg.ref)
		switch {
		case msg.err == nil:
			m.setStatus(statusDone, "Refreshed the tokens of "+who+".")
		case canceled(msg.err, asked):
			m.setStatus(statusInfo, "Refresh canceled.")
		default:
			m.setStatus(statusError, "Not refreshed: "+sentence(msg.err)+".")
		}
	case defaultChangedMsg:
		end()
		if msg.err != nil {
			m.setStatus(statusError, "The default account was not changed: "+sentence(msg.err)+".")
		} else {
			m.setStatus(statusDone, msg.account+" is now the default account.")
		}
	case tokenCopiedMsg:
		end()
		who := m.identityLabel(msg.ref)
		switch {
		case msg.err == nil:
			m.setStatus(statusDone, "Copied the access token of "+who+" to the clipboard (OSC 52; it is never shown here).")
		case canceled(msg.err, asked):
			m.setStatus(statusInfo, "Copy canceled.")
		default:
			m.setStatus(statusError, "The token was not copied: "+sentence(msg.err)+".")
		}
	default:
		return nil, false
	}
	return m.load(), true
}
