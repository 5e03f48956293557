package flow

import (
	"errors"
	"fmt"
	"strings"

	"github.com/authcli/authcli/internal/termtext"
)

// Sentinel errors callers branch on. Their text is written for a person: the
// CLI prints them as the first half of its one-sentence message.
var (
	ErrTimeout         = errors.New("the sign-in did not finish within --timeout")
	ErrCanceled        = errors.New("the sign-in was canceled")
	ErrListen          = errors.New("cannot listen for the redirect on the loopback interface")
	ErrIssuerMismatch  = errors.New("the authorization response names a different issuer (a possible mix-up attack)")
	ErrIDToken         = errors.New("the ID token failed verification")
	ErrSubjectMismatch = errors.New("the userinfo subject differs from the ID token's subject")
	ErrTokenResponse   = errors.New("the token response is not usable")
	ErrDiscovery       = errors.New("the provider's discovery document could not be used")
	ErrInsecureURL     = errors.New("an http:// URL is only allowed on a loopback address")
	ErrUserinfo        = errors.New("the provider's userinfo answer could not be used")
)

// ProviderError is an OAuth error answered by the provider: an `error`
// redirect or a token endpoint error (RFC 6749 §4.1.2.1 and §5.2).
type ProviderError struct {
	Stage       string // "authorization", "token", "refresh", "device"
	Code        string // e.g. access_denied, invalid_grant
	Description string // provider-supplied text: print it, never interpret it as markup
}

func (e *ProviderError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the provider refused the %s request (%s", e.Stage, e.Code)
	if d := termtext.Short(e.Description); d != "" {
		fmt.Fprintf(&b, ": %s", d)
	}
	b.WriteString(")")
	return b.String()
}

// libError shows an error from go-oidc or x/oauth2 as text for a person:
// their "oidc: " and "oauth2: " package prefixes dropped, the chain kept.
type libError struct{ err error }

func (e libError) Error() string { return libText(e.err.Error()) }
func (e libError) Unwrap() error { return e.err }

func libText(s string) string {
	for _, p := range []string{"oauth2: cannot fetch token: ", "oidc: ", "oauth2: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	return s
}
