package flow

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
)

// randomToken returns 256 bits from the system CSPRNG, base64url without
// padding: state and nonce need at least 128 unguessable bits (RFC 9700 §4.7).
func randomToken() string {
	b := make([]byte, 32)
	// crypto/rand.Read never returns an error on supported platforms; it
	// crashes the program instead of handing out predictable bytes.
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// equalSecret compares two protocol values without leaking through timing
// how long their common prefix is.
func equalSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
