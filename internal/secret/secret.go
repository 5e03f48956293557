// Package secret is the one type for a value that must never reach a log,
// an error or a terminal by accident: every fmt verb prints a redaction,
// and only Reveal gives the value back, so a leak needs a deliberate call.
package secret

import (
	"fmt"
	"io"
)

// Redacted is what every format verb prints for a non-empty Secret.
const Redacted = "[redacted]"

// Secret holds a token, a key or a client secret.
type Secret string

// Reveal returns the value, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// String redacts.
func (s Secret) String() string { return redact(s != "") }

// GoString redacts.
func (s Secret) GoString() string { return redact(s != "") }

// Format redacts under every verb and flag: %v, %+v, %#v, %s, %q, %x, %X,
// %d and the rest. Without it %x or %d of a string type prints its bytes.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redact(s != "")) }

// MarshalText redacts too: a Secret put into JSON or TOML by mistake does
// not leak. Storage formats keep plain strings and convert on purpose.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redact(s != "")), nil }

// Format is a fmt.Formatter body for structs that carry secrets: it
// prints summary under every verb, so no verb can reach the fields.
func Format(f fmt.State, summary string) { _, _ = io.WriteString(f, summary) }

func redact(set bool) string {
	if !set {
		return `""`
	}
	return Redacted
}
