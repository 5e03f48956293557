package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/provider"
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
// what happened and what to do next.
func describe(err error) (int, string) {
	var ee *exitError
	var ce *config.Error
	var pe *flow.ProviderError
	var pce *provider.ConfigError
	switch {
	case errors.As(err, &pce):
		return ExitUsage, sentence(err) + " in the config file"
	case errors.As(err, &ee):
		return ee.code, ee.msg
	case errors.As(err, &ce):
		// The config package's sentences already name the file, line and
		// key, and say what to do.
		return ExitUsage, ce.Error()
	case errors.Is(err, flow.ErrCanceled):
		return ExitInterrupted, "the sign-in was canceled; nothing was stored"
	case errors.Is(err, flow.ErrDeviceTimeout):
		return ExitFailure, "the code was not approved within --timeout; run the command again and approve it sooner, or give more time with --timeout"
	case errors.Is(err, flow.ErrTimeout):
		return ExitFailure, "the sign-in did not finish within --timeout; run the command again and finish in the browser sooner, or, if the browser already showed the provider's answer, check that the provider is reachable"
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
			return ExitFailure, sentence(err) + "; run the command again and allow access at the provider"
		}
		if pe.Code == "invalid_grant" && pe.Stage == "refresh" {
			return ExitSignIn, sentence(err) + "; sign in again with authcli login"
		}
		return ExitFailure, sentence(err) + "; check the provider settings in the config, then try again"
	case errors.Is(err, accounts.ErrNeedsLink):
		return ExitNeedsLink, sentence(err) + " (or sign in again with --yes); nothing was stored"
	case errors.Is(err, accounts.ErrNotFound):
		if strings.Contains(err.Error(), "authcli login") {
			return ExitSignIn, sentence(err)
		}
		return ExitSignIn, sentence(err) + "; sign in with authcli login PROVIDER"
	case errors.Is(err, accounts.ErrLastIdentity), errors.Is(err, accounts.ErrAmbiguous),
		errors.Is(err, accounts.ErrLinkedElsewhere), errors.Is(err, accounts.ErrNoAccount), errors.Is(err, accounts.ErrInvalid):
		return ExitUsage, sentence(err)
	case isVaultError(err):
		code, msg := describe(vaultError(err))
		return code, msg
	case isSecurityRefusal(err):
		return ExitFailure, "sign-in refused: " + sentence(err) + "; nothing was stored (check the issuer and client_id in the config, and report it if they are right)"
	}
	return ExitFailure, sentence(err)
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
