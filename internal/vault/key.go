package vault

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// KeySize is the length of a raw file-vault key.
const KeySize = 32

// Key unlocks a File vault: either a raw 32-byte key, used directly, or a
// passphrase, stretched with Argon2id using the salt and parameters stored in
// the vault file (so stretching happens only when a vault is actually read or
// created). Its String and Format methods never reveal the secret.
type Key struct {
	raw        *[KeySize]byte
	passphrase string
}

// KeyFromBytes makes a raw key; b must be exactly 32 bytes. The bytes are
// copied, so the caller may clear b.
func KeyFromBytes(b []byte) (Key, error) {
	if len(b) != KeySize {
		return Key{}, fmt.Errorf("%w: a raw vault key must be %d bytes, got %d", ErrInvalidConfig, KeySize, len(b))
	}
	var raw [KeySize]byte
	copy(raw[:], b)
	return Key{raw: &raw}, nil
}

// KeyFromPassphrase makes a passphrase key. An empty passphrase is ErrNoKey.
func KeyFromPassphrase(p string) (Key, error) {
	if p == "" {
		return Key{}, ErrNoKey
	}
	return Key{passphrase: p}, nil
}

// KeyFromEnv reads AUTHCLI_VAULT_KEY (base64 of 32 bytes) or
// AUTHCLI_VAULT_PASSPHRASE through getenv. Neither set is ErrNoKey; both set,
// bad base64 or a wrong length is ErrInvalidConfig naming the variable (never
// its value).
func KeyFromEnv(getenv func(string) string) (Key, error) {
	encoded := strings.TrimSpace(getenv(EnvVaultKey))
	pass := getenv(EnvVaultPassphrase)
	switch {
	case encoded != "" && pass != "":
		return Key{}, fmt.Errorf("%w: both %s and %s are set; set only one", ErrInvalidConfig, EnvVaultKey, EnvVaultPassphrase)
	case encoded != "":
		b, err := decodeBase64Key(encoded)
		if err != nil {
			return Key{}, fmt.Errorf("%w: %s is not valid base64 (generate one with: openssl rand -base64 32)", ErrInvalidConfig, EnvVaultKey)
		}
		defer clear(b)
		if len(b) != KeySize {
			return Key{}, fmt.Errorf("%w: %s must be base64 of exactly %d bytes, it decodes to %d bytes", ErrInvalidConfig, EnvVaultKey, KeySize, len(b))
		}
		return KeyFromBytes(b)
	case pass != "":
		return KeyFromPassphrase(pass)
	default:
		return Key{}, ErrNoKey
	}
}

// decodeBase64Key accepts standard and URL-safe base64, padded or not,
// because users paste keys from different tools.
func decodeBase64Key(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

func (k Key) isZero() bool { return k.raw == nil && k.passphrase == "" }

// String describes the kind of key without revealing it.
func (k Key) String() string {
	switch {
	case k.raw != nil:
		return "vault.Key(raw, redacted)"
	case k.passphrase != "":
		return "vault.Key(passphrase, redacted)"
	default:
		return "vault.Key(none)"
	}
}

// GoString keeps %#v from printing the key bytes.
func (k Key) GoString() string { return k.String() }

// Format keeps every fmt verb (including %d and %x) from printing the key.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }
