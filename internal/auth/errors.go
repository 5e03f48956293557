package auth

import (
	"errors"
	"fmt"

	"github.com/authcli/authcli/internal/tokens"
)

// Sentinel errors the CLI maps to exit codes. They carry facts; what to
// type next is the CLI's to say.
var (
	// ErrNoIdentity: no identity of the provider is signed in (matching
	// the account and subject asked for). Exit 3.
	ErrNoIdentity = errors.New("no identity is signed in")
	// ErrSignInRequired: the identity's tokens cannot be refreshed (none
	// stored, no refresh token, or the provider rejected it). Exit 3.
	ErrSignInRequired = tokens.ErrSignInRequired
	// ErrNoIDToken: --id-token for an identity without one. Exit 2.
	ErrNoIDToken = errors.New("this identity has no ID token")
	// ErrNoBrowserSignIn: a machine identity has no sign-in. Exit 2.
	ErrNoBrowserSignIn = errors.New("this provider uses the client credentials grant, which has no sign-in")
	// ErrProviderGone: the identity's provider table was removed from the
	// config, so its tokens cannot be refreshed or revoked. Exit 2.
	ErrProviderGone = errors.New("the identity's provider is no longer configured")
)

// IdentityError says which identity an error is about, for messages.
type IdentityError struct {
	Provider string
	Account  string // as asked for; "" when none was named
	Subject  string // as asked for
	Err      error
}

func (e *IdentityError) Error() string {
	s := fmt.Sprintf("%s: %v", e.Provider, e.Err)
	if e.Account != "" {
		s += " (account " + e.Account + ")"
	}
	return s
}

func (e *IdentityError) Unwrap() error { return e.Err }
