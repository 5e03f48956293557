package agent

import (
	"errors"
	"fmt"

	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// Sentinel errors for what callers branch on.
var (
	// ErrNotRunning means nothing answers on the socket.
	ErrNotRunning = errors.New("agent: no agent answers on the socket")
	// ErrVersion means the agent speaks another protocol version.
	ErrVersion = errors.New("agent: protocol version mismatch")
	// ErrLocked means the agent holds no vault: its lifetime ended or
	// someone ran authcli agent lock.
	ErrLocked = errors.New("agent: the agent is locked")
	// ErrForbidden means the request is not allowed from this connection
	// (another user, or a forwarded connection asking for more than tokens
	// of the allowed providers).
	ErrForbidden = errors.New("agent: not allowed")
	// ErrDenied means a forwarded request was not confirmed.
	ErrDenied = errors.New("agent: the request was not confirmed")
	// ErrUsage means the request named something that does not exist (an
	// unknown provider or account) or was malformed.
	ErrUsage = errors.New("agent: bad request")
	// ErrFailed is any other failure the agent reported (network,
	// provider).
	ErrFailed = errors.New("agent: the request failed")
	// ErrUnsupported means this operating system cannot run the agent.
	ErrUnsupported = errors.New("agent: not supported on this operating system")
)

// Error is a failure the agent reported. Its message is the agent's one
// sentence; errors.Is matches the sentinel for its code (and, for
// not_found and sign_in, vault.ErrNotFound and tokens.ErrSignInRequired,
// so code written against a local vault branches the same way).
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap gives the sentinels the code stands for.
func (e *Error) Unwrap() []error {
	switch e.Code {
	case CodeNotFound:
		return []error{vault.ErrNotFound}
	case CodeSignIn:
		return []error{tokens.ErrSignInRequired}
	case CodeLocked:
		return []error{ErrLocked}
	case CodeForbidden:
		return []error{ErrForbidden}
	case CodeDenied:
		return []error{ErrDenied}
	case CodeUsage, CodeBadRequest:
		return []error{ErrUsage}
	case CodeVersion:
		return []error{ErrVersion}
	default:
		return []error{ErrFailed}
	}
}

// failure picks the code for an error returned by the injected functions.
// describe, when set, gives the sentence and may refine the code.
func failure(err error, describe func(error) (string, string)) *Failure {
	code := CodeFailed
	var ae *Error
	switch {
	case errors.As(err, &ae):
		code = ae.Code
	case errors.Is(err, ErrLocked):
		code = CodeLocked
	case errors.Is(err, tokens.ErrSignInRequired):
		code = CodeSignIn
	case errors.Is(err, vault.ErrNotFound):
		code = CodeNotFound
	case errors.Is(err, vault.ErrInvalidName), errors.Is(err, vault.ErrTooLarge):
		code = CodeBadRequest
	case isVaultErr(err):
		code = CodeVault
	}
	msg := err.Error()
	if describe != nil {
		c, m := describe(err)
		if c != "" {
			code = c
		}
		if m != "" {
			msg = m
		}
	}
	return &Failure{Code: code, Message: msg}
}

func isVaultErr(err error) bool {
	for _, s := range []error{vault.ErrUnavailable, vault.ErrDecrypt, vault.ErrNoKey, vault.ErrCorrupt, vault.ErrPermissions, vault.ErrInvalidConfig} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func failf(code, format string, args ...any) *Failure {
	return &Failure{Code: code, Message: fmt.Sprintf(format, args...)}
}
