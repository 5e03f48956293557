// Package accounts groups the identities a person holds at several
// providers into local accounts, decides what a finished sign-in means for
// them (the three outcomes of CLI.md), and keeps them in accounts.json.
//
// The package holds no secrets: provider tokens live in the vault under
// [Identity.Key]; the store only records what `authcli status` shows about
// them (expiry, scopes, whether a refresh token exists, whether the user
// must sign in again). It never talks to a provider.
package accounts

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Sentinel errors callers branch on (the CLI maps them to exit codes). The
// package returns them wrapped in an error whose message is one plain
// sentence naming the accounts and identities involved; test with errors.Is.
var (
	// ErrNotFound means no identity matches (exit 3: sign in first).
	ErrNotFound = errors.New("no matching identity")
	// ErrLastIdentity means the change would leave an account with no way to sign in.
	ErrLastIdentity = errors.New("last identity of the account")
	// ErrLinkedElsewhere means the identity already belongs to another account.
	ErrLinkedElsewhere = errors.New("identity linked to another account")
	// ErrAmbiguous means several identities match; the error is an *AmbiguousError.
	ErrAmbiguous = errors.New("several identities match")
	// ErrNoAccount means the named account does not exist.
	ErrNoAccount = errors.New("no such account")
	// ErrNeedsLink means the sign-in matched an existing account by email (or
	// named one with --account) and must be confirmed with Link (exit 4).
	ErrNeedsLink = errors.New("identity needs an explicit link")
	// ErrChanged means the state no longer matches the Resolution being applied;
	// resolve again against the current state.
	ErrChanged = errors.New("accounts changed since the sign-in was resolved")
	// ErrInvalid means a name, provider or subject is not acceptable (exit 2).
	ErrInvalid = errors.New("invalid accounts input")
	// ErrCorrupt means accounts.json exists but cannot be used; it is never
	// treated as empty.
	ErrCorrupt = errors.New("accounts store is corrupt")
)

// ruleError carries a sentence for people and a sentinel for code.
type ruleError struct {
	kind error
	msg  string
}

func (e *ruleError) Error() string { return e.msg }
func (e *ruleError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &ruleError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// AmbiguousError lists every identity that matched so the CLI or TUI can
// offer them; Candidates are "account/provider/subject" strings in store
// order, Hint says which flag picks one.
type AmbiguousError struct {
	What       string
	Candidates []string
	Hint       string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("more than one %s is linked (%s); %s", e.What, strings.Join(e.Candidates, ", "), e.Hint)
}

// Is makes errors.Is(err, ErrAmbiguous) true.
func (e *AmbiguousError) Is(target error) bool { return target == ErrAmbiguous }

// Profile is what the sign-in flow learned about the user from the ID token
// and userinfo. Claims should hold profile claims only, never tokens.
type Profile struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	AvatarURL     string
	Claims        map[string]any
}

// Identity is one user at one provider. Its tokens are in the vault under
// Key(); the fields here describe them without revealing them. Claims read
// back from the store hold numbers as json.Number, exactly as written.
type Identity struct {
	Provider      string         `json:"provider"`
	Subject       string         `json:"subject"`
	Email         string         `json:"email,omitempty"`
	EmailVerified bool           `json:"email_verified,omitempty"`
	Name          string         `json:"name,omitempty"`
	AvatarURL     string         `json:"avatar_url,omitempty"`
	LinkedAt      time.Time      `json:"linked_at"`
	LastUsedAt    time.Time      `json:"last_used_at"`
	Scopes        []string       `json:"scopes,omitempty"`
	TokenExpiry   time.Time      `json:"token_expiry,omitzero"`
	Refreshable   bool           `json:"refreshable,omitempty"`
	NeedsSignIn   bool           `json:"needs_sign_in,omitempty"`
	Claims        map[string]any `json:"claims,omitempty"`
}

// Key is "PROVIDER/SUBJECT", the vault key for the identity's tokens.
// Provider names never contain "/", so the first "/" separates the parts.
func (i Identity) Key() string { return i.Provider + "/" + i.Subject }

// Health is the token state shown by `status`; the values are part of the
// stable JSON output.
type Health string

// The four token health values of CLI.md.
const (
	HealthValid       Health = "valid"
	HealthExpiring    Health = "expiring"
	HealthExpired     Health = "expired"
	HealthNeedsSignIn Health = "needs_sign_in"
)

// DefaultExpiringWithin is how close to expiry StatusJSON reports a token as
// "expiring".
const DefaultExpiringWithin = 5 * time.Minute

// Health reports the access token's state at now. A zero TokenExpiry means
// the provider gave no expiry (GitHub OAuth apps), which counts as valid.
// Expired says nothing about the refresh token: see Refreshable.
func (i Identity) Health(now time.Time, within time.Duration) Health {
	switch {
	case i.NeedsSignIn:
		return HealthNeedsSignIn
	case i.TokenExpiry.IsZero():
		return HealthValid
	}
	left := i.TokenExpiry.Sub(now)
	switch {
	case left <= 0:
		return HealthExpired
	case left <= within:
		return HealthExpiring
	default:
		return HealthValid
	}
}

// Account groups the identities of one person. It always has at least one.
type Account struct {
	Name       string     `json:"name"`
	Identities []Identity `json:"identities"`
	CreatedAt  time.Time  `json:"created_at"`
}

// SchemaVersion is the accounts.json format this package reads and writes.
const SchemaVersion = 1

// State is the content of accounts.json. Mutate it through its methods so
// the invariants hold (Store.Update checks them before writing anything):
// unique account names, every account non-empty, every (provider, subject)
// on at most one account, and Default naming an account whenever any exist.
type State struct {
	Version  int       `json:"version"`
	Default  string    `json:"default"`
	Accounts []Account `json:"accounts"`
}

// maxNameLen bounds account names so they stay usable in tables and flags.
const maxNameLen = 64

// ValidateName reports whether name can be an account name: 1 to 64 ASCII
// letters, digits, '.', '_' or '-', starting with a letter or digit. The CLI
// can call it on --account before starting a sign-in.
func ValidateName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return errorf(ErrInvalid, "account name %q must be 1 to %d characters", name, maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i == 0 && !alnum {
			return errorf(ErrInvalid, "account name %q must start with a letter or digit", name)
		}
		if !alnum && c != '.' && c != '_' && c != '-' {
			return errorf(ErrInvalid, "account name %q may only hold letters, digits, '.', '_' and '-'", name)
		}
	}
	return nil
}

// nameBytes classes the bytes of an account name: 1 may start one, 2 may
// follow (ValidateName's rules, as a table for the index's pass over
// every account line).
var nameBytes = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			t[c] = 1 | 2
		case c == '.', c == '_', c == '-':
			t[c] = 2
		}
	}
	return t
}()

// validName reports whether ValidateName accepts name, without building
// the error.
func validName(name string) bool {
	if name == "" || len(name) > maxNameLen || nameBytes[name[0]]&1 == 0 {
		return false
	}
	for i := 1; i < len(name); i++ {
		if nameBytes[name[i]]&2 == 0 {
			return false
		}
	}
	return true
}

// validateID checks a provider name or subject: non-empty, printable, and
// for providers free of '/' so Key stays unambiguous.
func validateID(what, v string) error {
	if v == "" {
		return errorf(ErrInvalid, "%s is empty", what)
	}
	if len(v) > 1024 {
		return errorf(ErrInvalid, "%s is longer than 1024 bytes", what)
	}
	if what == "provider" && strings.Contains(v, "/") {
		return errorf(ErrInvalid, "provider %q must not contain '/'", v)
	}
	for _, r := range v {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return errorf(ErrInvalid, "%s %q holds control or invalid characters", what, v)
		}
	}
	return nil
}
