package accounts

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/authcli/authcli/internal/termtext"
)

// What an identity keeps of the provider's profile. accounts.json is read
// by every `authcli token`, so a provider must not be able to grow it: a
// 400 KiB name once made it 800 KB. Honest values are far below these.
const (
	// MaxNameBytes bounds the display name; a longer one is cut, with "…".
	MaxNameBytes = 256
	// MaxEmailBytes bounds the email (RFC 5321 paths are at most 256
	// octets); a longer one is not an address and is not kept.
	MaxEmailBytes = 320
	// MaxAvatarURLBytes bounds the avatar URL; a cut URL would point
	// elsewhere, so a longer one is not kept.
	MaxAvatarURLBytes = 2048
	// MaxClaimBytes bounds one raw claim, JSON-encoded; a larger claim is
	// left out of the stored claims (a cut value would be a lie).
	MaxClaimBytes = 1024
	// MaxClaimsBytes bounds all stored claims together; claims are kept in
	// name order until the next would pass it.
	MaxClaimsBytes = 16 << 10
)

// displayName is p.Name safe and short enough to store.
func displayName(s string) string { return termtext.Truncate(termtext.Line(s), MaxNameBytes) }

// boundedLine is s made safe, or "" when it is longer than max.
func boundedLine(s string, max int) string {
	s = termtext.Line(s)
	if len(s) > max {
		return ""
	}
	return s
}

// capClaims returns the claims worth storing: each at most MaxClaimBytes
// encoded, all together at most MaxClaimsBytes.
func capClaims(claims map[string]any) map[string]any {
	if claims == nil {
		return nil
	}
	out := make(map[string]any, len(claims))
	total := 0
	for _, k := range slices.Sorted(maps.Keys(claims)) {
		b, err := json.Marshal(claims[k])
		size := len(k) + len(b)
		if err != nil || size > MaxClaimBytes || total+size > MaxClaimsBytes {
			continue
		}
		total += size
		out[k] = claims[k]
	}
	return out
}
