package flow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
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
	// ErrRefreshCheck: the provider answered a refresh with tokens that
	// failed a check. It may have rotated, so its refresh token is kept.
	ErrRefreshCheck = errors.New("the provider's answer to the refresh failed verification")
	// ErrUnknownKey: an ID token signed with a key the known key set lacks
	// (the provider may have rotated its keys).
	ErrUnknownKey = errors.New("the ID token is signed with a key the provider's key set does not list")
	// ErrUnreachable: no answer from the provider at all (DNS, refused
	// connection, timeout), as opposed to an answer authcli refused.
	ErrUnreachable = errors.New("the provider could not be reached")
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
	if d := sanitize(e.Description); d != "" {
		fmt.Fprintf(&b, ": %s", d)
	}
	b.WriteString(")")
	return b.String()
}

// sanitize makes provider text safe for one terminal line: no control
// characters (an escape sequence could rewrite the screen) and bounded length.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 300 {
			b.WriteString("…")
			break
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = ' '
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// isNetworkError reports an error that means no answer came back: DNS,
// a refused or reset connection, a timeout.
func isNetworkError(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	var ne net.Error
	return errors.As(err, &op) || errors.As(err, &dns) || (errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, context.DeadlineExceeded)
}

// reachError says which request got no answer.
func reachError(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrUnreachable, what, libError{err})
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
