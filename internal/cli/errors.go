package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/auth"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/provider"
	"github.com/authcli/authcli/internal/termtext"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// Exit codes of ../shared/CLI.md.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitSignIn      = 3
	ExitNeedsLink   = 4
	ExitVault       = 5
	ExitInterrupted = 130
)

// exitError carries an exit code and a sentence for the user. The wrapped
// error is only shown with --verbose.
type exitError struct {
	code int
	msg  string
	err  error
}

func (e *exitError) Error() string { return e.msg }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a mistake in how the command was called (exit 2).
func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, msg: fmt.Sprintf(format, args...)}
}

// describe turns any error into an exit code and one sentence that says
// what happened and what to do next. It is the one place exit codes are
// chosen: from sentinel errors and error types, never from error text.
func describe(err error) (int, string) {
	var ee *exitError
	var ce *config.Error
	var pe *flow.ProviderError
	var pce *provider.ConfigError
	var ie *auth.IdentityError
	var cme *companionError
	who, inner, account, subject := "", err, "", ""
	if errors.As(err, &ie) {
		who, inner, account, subject = ie.Provider, ie.Err, ie.Account, ie.Subject
	}
	switch {
	case errors.As(err, &ee):
		return ee.code, ee.msg
	case errors.As(err, &cme):
		return ExitFailure, fmt.Sprintf("authcli %s runs %s, which is missing or cannot run (%s: %s); reinstall authcli from its release archive or package, which ship both programs side by side, or install the single binary with: go install github.com/authcli/authcli/cmd/authcli@latest",
			cme.command, companionName, cme.path, sentence(cme.err))
	case errors.As(err, &pce):
		return ExitUsage, sentence(pce) + " in the config file"
	case errors.As(err, &ce):
		// The config package's sentences already name the file, line and
		// key, and say what to do.
		return ExitUsage, ce.Error()
	case errors.Is(err, auth.ErrNoIdentity):
		return ExitSignIn, fmt.Sprintf("no %s identity is signed in%s%s; sign in with: authcli login %s",
			who, forAccount(account), forSubject(subject), who)
	case errors.Is(err, auth.ErrSignInRequired):
		return ExitSignIn, fmt.Sprintf("the %s tokens cannot be refreshed (%s); sign in again with: authcli login %s",
			who, detail(inner, auth.ErrSignInRequired), who)
	case errors.Is(err, flow.ErrRefreshCheck):
		return ExitFailure, fmt.Sprintf("the provider's answer to the %s refresh failed verification (%s); its new refresh token was kept and nothing else was used, so the next run refreshes again (if this repeats, check issuer and client_id in the config and report it)",
			who, detail(inner, flow.ErrRefreshCheck))
	case errors.Is(err, flow.ErrUnreachable):
		return ExitFailure, fmt.Sprintf("%s (%s); check the network connection and any proxy settings, then try again",
			unreachable(who), detail(inner, flow.ErrUnreachable))
	case errors.Is(err, auth.ErrNoIDToken):
		return ExitUsage, "this identity has no ID token (the provider is not OpenID Connect, or openid was not requested); print the access token without --id-token"
	case errors.Is(err, auth.ErrNoBrowserSignIn):
		return ExitUsage, fmt.Sprintf("provider %s uses grant = \"client_credentials\", which has no sign-in; get its tokens with: authcli token %s", who, who)
	case errors.Is(err, auth.ErrProviderGone):
		return ExitUsage, fmt.Sprintf("provider %s is no longer in the config file; add its table back to refresh or revoke these tokens", who)
	case errors.Is(err, tokens.ErrLockWait):
		return ExitFailure, sentence(tokens.ErrLockWait) + "; if no other authcli is running, try again"
	case errors.Is(err, flow.ErrCanceled):
		return ExitInterrupted, "the sign-in was canceled; nothing was stored"
	case errors.Is(err, flow.ErrDeviceTimeout):
		return ExitFailure, "the code was not approved within --timeout; run the command again and approve it sooner, or give more time with --timeout"
	case errors.Is(err, flow.ErrTimeout):
		return ExitFailure, "the sign-in did not finish within --timeout; run the command again and finish in the browser sooner (if the provider said the redirect URI is not registered, register the redirect_uri that authcli providers --json shows)"
	case errors.Is(err, flow.ErrStartReused):
		return ExitFailure, sentence(err) + "; nothing was stored, so run the command again (and check which programs on this machine can read other users' processes)"
	case errors.Is(err, flow.ErrRedirect):
		return ExitFailure, sentence(err) + "; nothing was sent there and nothing was stored (check the provider's endpoints in the config, and report it if they are right)"
	case errors.Is(err, flow.ErrDeviceDenied):
		return ExitFailure, sentence(err) + "; run the command again and approve the code"
	case errors.Is(err, flow.ErrDeviceExpired):
		return ExitFailure, sentence(err) + "; run the command again and enter the code before it expires"
	case errors.Is(err, flow.ErrNoDeviceEndpoint):
		return ExitUsage, sentence(err) + "; sign in with the browser instead (without --device), or set device_auth_url in the config"
	case errors.Is(err, flow.ErrListen):
		return ExitFailure, sentence(err) + "; free the port or pass a different --port"
	case errors.As(err, &pe):
		if pe.Code == "access_denied" {
			return ExitFailure, sentence(pe) + "; run the command again and allow access at the provider"
		}
		return ExitFailure, sentence(pe) + "; check the provider settings in the config, then try again"
	case errors.Is(err, accounts.ErrNeedsLink):
		return ExitNeedsLink, sentence(err) + " (or sign in again with --yes); nothing was stored"
	case errors.Is(err, accounts.ErrNotFound):
		return ExitSignIn, sentence(err)
	case errors.Is(err, accounts.ErrLastIdentity), errors.Is(err, accounts.ErrAmbiguous),
		errors.Is(err, accounts.ErrLinkedElsewhere), errors.Is(err, accounts.ErrNoAccount), errors.Is(err, accounts.ErrInvalid):
		return ExitUsage, sentence(err)
	case isVaultError(err):
		code, msg := describe(vaultError(err))
		return code, msg
	case isSecurityRefusal(err) && ie != nil:
		return ExitFailure, fmt.Sprintf("the %s refresh was refused: %s; the stored tokens were kept (check the issuer and client_id in the config, and report it if they are right)", who, sentence(inner))
	case isSecurityRefusal(err):
		return ExitFailure, "sign-in refused: " + sentence(err) + "; nothing was stored (check the issuer and client_id in the config, and report it if they are right)"
	}
	if ie != nil {
		return ExitFailure, fmt.Sprintf("%s: %s", who, sentence(inner))
	}
	return ExitFailure, sentence(err)
}

// detail is err's sentence without the sentinel's own words in front.
func detail(err, sentinel error) string {
	s := sentence(err)
	if i := strings.Index(s, sentinel.Error()); i >= 0 {
		s = s[i+len(sentinel.Error()):]
	}
	return strings.TrimSpace(strings.TrimLeft(s, ":("))
}

func unreachable(name string) string {
	if name == "" {
		return sentence(flow.ErrUnreachable)
	}
	return "the " + name + " provider could not be reached"
}

func forAccount(account string) string {
	if account == "" {
		return ""
	}
	return " on account " + account
}

func forSubject(subject string) string {
	if subject == "" {
		return ""
	}
	return " with subject " + termtext.Line(subject)
}

func isVaultError(err error) bool {
	for _, target := range []error{vault.ErrUnavailable, vault.ErrDecrypt, vault.ErrNoKey, vault.ErrPermissions, vault.ErrCorrupt} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

func isSecurityRefusal(err error) bool {
	for _, target := range []error{flow.ErrIDToken, flow.ErrIssuerMismatch, flow.ErrSubjectMismatch, flow.ErrTokenResponse, flow.ErrDiscovery, flow.ErrInsecureURL, flow.ErrUserinfo} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// sentence flattens an error chain to one line.
func sentence(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	return strings.TrimSuffix(s, ".")
}
