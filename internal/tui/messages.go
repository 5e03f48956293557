package tui

import "github.com/authcli/authcli/internal/accounts"

// Messages are named for what happened. The ones that end an action carry
// the identity or account they were about and the Backend's error.

// accountsLoadedMsg: the accounts (and the configured providers) were read.
type accountsLoadedMsg struct {
	state        *accounts.State
	err          error
	providers    []Provider
	providersErr error
}

// signInPromptShownMsg: the running sign-in published what the person
// must do: its page's address, and the device grant's code.
type signInPromptShownMsg struct {
	op     int
	prompt SignInPrompt
}

// identityLinkedMsg: a link sign-in ended.
type identityLinkedMsg struct {
	provider, account string
	err               error
}

// signedInAgainMsg: a sign-in for an existing identity (or a first one) ended.
type signedInAgainMsg struct {
	provider, account string
	err               error
}

// identityUnlinkedMsg: an unlink ended.
type identityUnlinkedMsg struct {
	ref identityRef
	err error
}

// tokensRefreshedMsg: a forced refresh ended.
type tokensRefreshedMsg struct {
	ref identityRef
	err error
}

// defaultChangedMsg: setting the default account ended.
type defaultChangedMsg struct {
	account string
	err     error
}

// tokenCopiedMsg: the access token was sent to the clipboard (or not).
type tokenCopiedMsg struct {
	ref identityRef
	err error
}

// urlCopiedMsg: the sign-in address was sent to the clipboard (or not).
type urlCopiedMsg struct{ err error }

// identityRef names one identity on one account.
type identityRef struct {
	account, provider, subject string
}
