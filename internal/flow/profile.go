package flow

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Profile is the provider's user, normalised: the same five fields whatever
// shape the provider answered in, plus the raw claims for `status --json`.
type Profile struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	AvatarURL     string
	Claims        map[string]any
}

// ClaimMap names where each profile field lives in the provider's JSON, as
// dotted paths for nested objects ("picture.data.url"). Empty fields use the
// OpenID Connect standard claim names.
type ClaimMap struct {
	Subject       string
	Email         string
	EmailVerified string
	Name          string
	AvatarURL     string
}

func (m ClaimMap) withDefaults() ClaimMap {
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	return ClaimMap{
		Subject:       def(m.Subject, "sub"),
		Email:         def(m.Email, "email"),
		EmailVerified: def(m.EmailVerified, "email_verified"),
		Name:          def(m.Name, "name"),
		AvatarURL:     def(m.AvatarURL, "picture"),
	}
}

// NormalizeProfile maps raw claims to a Profile. The subject is required:
// an identity without one cannot be recognised on the next sign-in.
func NormalizeProfile(claims map[string]any, m ClaimMap) (Profile, error) {
	m = m.withDefaults()
	p := Profile{Claims: claims}
	sub, ok := subjectClaim(claims, m)
	if !ok {
		return Profile{}, fmt.Errorf("%w: no %q claim", ErrUserinfo, m.Subject)
	}
	p.Subject = sub
	if p.Subject == "" {
		return Profile{}, fmt.Errorf("%w: claim %q is empty or not a string or number", ErrUserinfo, m.Subject)
	}
	if v, ok := lookup(claims, m.Email); ok {
		p.Email = scalarString(v)
	}
	if v, ok := lookup(claims, m.EmailVerified); ok {
		p.EmailVerified = truthy(v)
	}
	if v, ok := lookup(claims, m.Name); ok {
		p.Name = scalarString(v)
	}
	if v, ok := lookup(claims, m.AvatarURL); ok {
		p.AvatarURL = scalarString(v)
	}
	return p, nil
}

// subjectClaim is the subject of claims under m: ok is false when the
// claim is absent, and the subject empty when it is neither a string nor
// a number.
func subjectClaim(claims map[string]any, m ClaimMap) (sub string, ok bool) {
	v, ok := lookup(claims, m.withDefaults().Subject)
	if !ok {
		return "", false
	}
	return scalarString(v), true
}

// lookup follows a dotted path through nested JSON objects.
func lookup(claims map[string]any, path string) (any, bool) {
	var cur any = claims
	for part := range strings.SplitSeq(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[part]; !ok || cur == nil {
			return nil, false
		}
	}
	return cur, true
}

// scalarString renders strings and numbers; numeric subjects (GitHub's id)
// must not turn into 1.2e+07.
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	default:
		return ""
	}
}

// truthy accepts the boolean and the string form: Apple sends
// email_verified as "true".
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	default:
		return false
	}
}
