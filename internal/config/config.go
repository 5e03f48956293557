package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Grants a provider may be configured with. The device grant is not listed:
// it is chosen per sign-in (`login --device`), not per provider.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
)

// Redirect defaults, applied when the file leaves them out.
const (
	DefaultRedirectHost = "127.0.0.1"
	// DefaultRedirectPathPrefix is followed by the provider's name: each
	// provider gets a redirect URI of its own (RFC 9700 §4.4.2), so one
	// provider's authorization response can never be taken for another's.
	DefaultRedirectPathPrefix = "/callback/"
	// LegacyRedirectPath is what every provider shared before per-provider
	// paths; the listener explains the change when a browser arrives there.
	LegacyRedirectPath = "/callback"
	// DefaultSubjectClaim is where the user ID is looked up in the userinfo
	// response of a kind that takes claims (Kind.Claims: oauth2) when
	// claims.subject is not set.
	DefaultSubjectClaim = "sub"
)

// DefaultRedirectPath is the redirect path of the provider called name
// when its table sets none: /callback/NAME.
func DefaultRedirectPath(name string) string { return DefaultRedirectPathPrefix + name }

// File is a loaded, validated config file. Every provider in it passed
// validation, so callers can use the values without re-checking them.
type File struct {
	// Path is where the file was read from; errors mention it.
	Path string
	// DefaultProvider is `default_provider`, empty when unset. When set it
	// names a key of Providers.
	DefaultProvider string
	// Providers holds one entry per usable `[providers.NAME]` table, by NAME.
	Providers map[string]*Provider
	// Problems holds, by NAME, the first problem of each provider table that
	// cannot be used as written (a missing key, an unset ${VAR}, an http://
	// issuer). One half-configured provider does not make the others
	// unusable: Provider(NAME) returns the problem when that one is asked for.
	Problems map[string]*Error
	// Git and Docker are the credential-helper tables ([git."HOST"],
	// [docker."HOST"]) by normalised host; see Route.
	Git    map[string]Route
	Docker map[string]Route
}

// Err returns the earliest problem of any provider table, or nil: for
// callers that want the whole file valid.
func (f *File) Err() error {
	var first *Error
	for _, name := range slices.Sorted(maps.Keys(f.Problems)) {
		e := f.Problems[name]
		if first == nil || (e.Line > 0 && (first.Line == 0 || e.Line < first.Line)) {
			first = e
		}
	}
	if first == nil {
		return nil
	}
	return first
}

// Provider is one `[providers.NAME]` table with defaults applied and
// `${VAR}` references expanded.
type Provider struct {
	Name        string // the table name
	Kind        string // the Name of a Kind of the catalog Parse was given
	DisplayName string

	Issuer       string
	ClientID     string
	ClientSecret string // expanded; never print it
	// Scopes is nil when the file does not set them: the kind's defaults apply.
	Scopes []string

	// Endpoint overrides; empty means discovery or the preset decides.
	AuthURL       string
	TokenURL      string
	UserinfoURL   string
	RevocationURL string
	DeviceAuthURL string
	JWKSURL       string

	RedirectHost string // "127.0.0.1" or "localhost"
	RedirectPort int    // 0 means an ephemeral port
	RedirectPath string // starts with "/"; DefaultRedirectPath(Name) unless set
	RedirectURI  string // optional HTTPS relay URI, for providers that refuse loopback (Apple)

	// TrustEmailVerified lets a verified email from this provider suggest a
	// link to an existing account (after confirmation).
	TrustEmailVerified bool
	// RequireIss makes authcli refuse an authorization response without
	// the RFC 9207 iss parameter, whatever discovery says. Only providers
	// that require it may share a redirect URI (see checkSharedRedirects).
	RequireIss bool
	Grant      string // GrantAuthorizationCode or GrantClientCredentials
	// AuthParams are extra authorization request parameters; the ones authcli
	// sets itself (state, PKCE, redirect_uri, …) are refused at load time.
	AuthParams map[string]string
	// Claims maps the profile out of the userinfo response of a kind that
	// takes claims (Kind.Claims); zero for other kinds.
	Claims Claims

	// Settings holds the kind-only keys the table sets (Kind.Settings), by
	// key, expanded and with defaults applied; paths are absolute unless
	// the config path was relative. nil when there are none.
	Settings map[string]string
}

// Claims are dotted JSON paths ("data.user.id") into an oauth2 provider's
// userinfo response. Subject defaults to "sub"; an empty path means the
// provider does not supply that field.
type Claims struct {
	Subject       string
	Email         string
	EmailVerified string
	Name          string
	AvatarURL     string
}

// Names returns the configured provider names, usable or not, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Providers)+len(f.Problems))
	for name := range f.Providers {
		names = append(names, name)
	}
	for name := range f.Problems {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Provider returns the provider called name. An empty name means the one the
// user most likely wants: default_provider, or the only provider when exactly
// one is configured. Errors are *Error values that list the configured names,
// so the message alone tells the user what to type instead.
func (f *File) Provider(name string) (*Provider, error) {
	names := f.Names()
	if name == "" {
		switch {
		case f.DefaultProvider != "":
			name = f.DefaultProvider
		case len(names) == 1:
			name = names[0]
		case len(names) == 0:
			return nil, &Error{File: f.Path, Problem: "no providers are configured; add a [providers.NAME] table", Err: ErrUnknownProvider}
		default:
			return nil, &Error{
				File:    f.Path,
				Problem: fmt.Sprintf("several providers are configured (%s); name one or set default_provider", strings.Join(names, ", ")),
				Err:     ErrNoDefaultProvider,
			}
		}
	}
	if p, ok := f.Providers[name]; ok && p != nil {
		return p, nil
	}
	if e, ok := f.Problems[name]; ok {
		return nil, e
	}
	problem := fmt.Sprintf("no provider named %s is configured", quoteValue(name))
	if len(names) == 0 {
		problem += "; add a [providers.NAME] table"
	} else {
		problem += "; configured providers: " + strings.Join(names, ", ")
		if s := suggest(name, names); s != "" {
			problem += "; did you mean " + s + "?"
		}
	}
	return nil, &Error{File: f.Path, Problem: problem, Err: ErrUnknownProvider}
}

// defaultDisplayName is what `authcli providers` shows when the file sets no
// display_name: the brand for a preset table named after it, the brand plus
// the table name for a second table of the same preset, else the table name.
func defaultDisplayName(name string, k *Kind) string {
	switch {
	case k == nil || k.Brand == "":
		return name
	case name == k.Name:
		return k.Brand
	default:
		return k.Brand + " (" + name + ")"
	}
}
