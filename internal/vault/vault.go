// Package vault keeps authcli's secrets by key, in the OS keyring or in an
// encrypted file, so that nothing secret ever lands on disk in plaintext.
//
// Keys look like "PROVIDER/SUBJECT". The package does not know what a token
// is: values are opaque bytes, stored and returned whole or not at all.
package vault

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/authcli/authcli/internal/statedir"
)

// Vault is what the rest of authcli needs from secret storage. Both backends
// (Keyring and File) implement it.
type Vault interface {
	// Get returns the whole value stored under key, or an error; never a
	// partial value. A missing key is ErrNotFound.
	Get(key string) ([]byte, error)
	// Set stores value under key, replacing any previous value.
	Set(key string, value []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(key string) error
	// List returns the sorted keys that start with prefix.
	List(prefix string) ([]string, error)
}

// Unflushed is a Vault that can store a value without waiting for the
// disk: written so that a killed process leaves the old value or the new,
// but left to the kernel to flush, so that a crash of the machine soon
// after may take it back. For a sign-in's tokens, whose loss costs a
// sign-in again; a refresh's rotated refresh token must never be lost,
// and is stored with Set. The file vault is one; the OS keyring keeps its
// own durability.
type Unflushed interface {
	SetUnflushed(key string, value []byte) error
}

// Sentinel errors for what callers branch on. The CLI maps them to exit codes.
var (
	// ErrNotFound means the key has no value.
	ErrNotFound = errors.New("vault: no value for this key")
	// ErrUnavailable means the OS keyring cannot be reached or is locked
	// (no D-Bus session, no Secret Service, locked collection or keychain).
	ErrUnavailable = errors.New("vault: the OS keyring is unavailable or locked")
	// ErrDecrypt means the vault file cannot be opened with the given key:
	// the key or passphrase is wrong, or the file was damaged or tampered with.
	ErrDecrypt = errors.New("vault: cannot decrypt the vault file (wrong key or passphrase, or the file was damaged or tampered with)")
	// ErrNoKey means the file vault was selected without AUTHCLI_VAULT_KEY
	// or AUTHCLI_VAULT_PASSPHRASE.
	ErrNoKey = errors.New("vault: the file vault needs AUTHCLI_VAULT_KEY (base64 of 32 random bytes) or AUTHCLI_VAULT_PASSPHRASE")
	// ErrCorrupt means a stored value is damaged or incomplete, for example a
	// keyring index whose chunks are missing.
	ErrCorrupt = errors.New("vault: stored value is damaged or incomplete")
	// ErrInvalidName means a key name cannot be stored (see CheckName).
	ErrInvalidName = errors.New("vault: invalid key name")
	// ErrTooLarge means a value exceeds MaxValueSize or a backend limit.
	ErrTooLarge = errors.New("vault: value too large")
	// ErrPermissions means the vault file or its directory is accessible by
	// other users; authcli refuses to use it until the user tightens it.
	ErrPermissions = errors.New("vault: unsafe file permissions")
	// ErrInvalidConfig means the vault environment variables are malformed.
	ErrInvalidConfig = errors.New("vault: invalid configuration")
)

// Environment variables that select and unlock a vault (see CLI.md).
const (
	EnvVault           = "AUTHCLI_VAULT"
	EnvVaultKey        = "AUTHCLI_VAULT_KEY"
	EnvVaultPassphrase = "AUTHCLI_VAULT_PASSPHRASE"
)

// Service is the keyring service name users see in their keyring UI.
const Service = "authcli"

// MaxValueSize bounds one value. Token bundles are a few KiB; the bound keeps
// the number of keyring chunks and the decoder's allocations small.
const MaxValueSize = 1 << 20

// MaxNameLen bounds a key name. Windows limits a credential's user name to
// 513 characters and a chunk item name adds up to 32 to the key, so 384
// leaves room while fitting any OIDC subject (at most 255 ASCII characters).
const MaxNameLen = 384

// CheckName reports whether key can be stored by every backend: non-empty,
// at most MaxNameLen bytes of UTF-8 without control characters, and without
// '#', which the keyring backend reserves for its chunk and index items.
// Both backends apply the same rule so switching backends never changes
// which keys are valid.
func CheckName(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidName)
	case len(key) > MaxNameLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidName, MaxNameLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidName)
	case strings.ContainsRune(key, '#'):
		return fmt.Errorf("%w: %q contains '#'", ErrInvalidName, key)
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("%w: %q contains a control character", ErrInvalidName, key)
		}
	}
	return nil
}

// Open returns the vault selected by AUTHCLI_VAULT: the OS keyring ("" or
// "keyring", with its lock in stateDir) or the encrypted file vault in
// stateDir ("file", unlocked by KeyFromEnv). It does no I/O on the keyring,
// so an unavailable keyring shows up as ErrUnavailable on first use.
func Open(getenv func(string) string, stateDir string) (Vault, error) {
	if stateDir == "" {
		return nil, fmt.Errorf("%w: no state directory for the vault", ErrInvalidConfig)
	}
	// Both backends keep their locks here, and the file vault its file:
	// a directory another user can write to is refused before either is
	// used.
	if err := statedir.Check(stateDir); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPermissions, err)
	}
	switch sel := getenv(EnvVault); sel {
	case "", "keyring":
		return NewKeyring(Service, WithLockDir(stateDir)), nil
	case "file":
		key, err := KeyFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return OpenFile(stateDir, key)
	default:
		return nil, fmt.Errorf("%w: %s=%q is not supported; use \"keyring\" or \"file\"", ErrInvalidConfig, EnvVault, sel)
	}
}

// WithoutSecrets returns environ (os.Environ's form) without the variables
// that unlock the file vault: children authcli starts (a browser, the
// command of `authcli exec`) must not inherit the key to every token.
func WithoutSecrets(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if name != EnvVaultKey && name != EnvVaultPassphrase {
			out = append(out, kv)
		}
	}
	return out
}
