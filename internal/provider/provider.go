// Package provider turns a validated config table into the flow.Provider a
// sign-in needs. Each preset (google.go, github.go, apple.go, facebook.go,
// microsoft.go, gitlab.go) knows its provider's endpoints, default scopes,
// extra authorization parameters, profile shape, revocation and what it
// cannot do; generic.go maps the oidc and oauth2 kinds. Every endpoint a
// preset knows can be overridden from the config file, which is also how
// the tests point a preset at a local server.
//
// The provider facts each preset encodes were checked against the
// provider's own documentation; the comments name the page.
//
// # Adding a preset
//
// A preset is one file, NAME.go, with its tests beside it in NAME_test.go.
// The file holds:
//
//   - the provider's facts, in a comment naming the documentation pages,
//     and its endpoints as constants;
//   - var NAMEKind = presetKind{...}, the kind declared once;
//   - in it, kind: the config.Kind the config loader knows it by. Name is
//     the value of the kind key, and the table name that implies it; Brand
//     its display name ("GitHub"), which only the generic kinds lack;
//     OpenID says it has an issuer, so require_iss applies; Settings are
//     the keys only it understands, each with its Default and whether it
//     is a Path (they arrive in config.Provider.Settings); Check holds its
//     load-time rules and
//     returns *config.KeyError values, so a table that breaks one is
//     refused with the file, line and key;
//   - in it, build: the preset laid out for one table (see preset: issuer or
//     endpoints, default scopes and authorization parameters, profile
//     shape, grants, revocation, git host and scopes, a readiness check,
//     the hooks of its quirks);
//   - in it, gitUsername, when the provider is a forge.
//
// The one line outside the file is NAMEKind in the presets list in
// provider.go, which sets the order kinds are listed in;
// TestEveryKindIsListed fails until it is there. Nothing else changes:
// config, the CLI and the credential helpers learn the kind from Kinds().
// The tests sign in against a fake of the provider (fake_test.go) and
// check the defaults and the config rules (configRules), as apple_test.go
// and microsoft_test.go do. README.md ("Presets") and docs/CLI.md then
// tell users.
//
// There are two kinds of rules, on purpose: breaking a config.Kind's
// Check makes the table invalid (config.File.Problems, with a line
// number), while preset.check only makes it not ready (Status, `authcli
// providers`), for what a table may say but cannot sign in with yet, like
// a missing Apple relay or an unreadable key file.
package provider

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/secret"
)

// Grant names, as `authcli providers` lists them.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantDeviceCode        = "device_code"
	GrantClientCredentials = "client_credentials"
)

// ConfigError is a provider table that cannot be used as it stands: Key is
// the setting to add or fix, so the message alone tells the user what to do.
// The CLI reports it as a configuration error.
type ConfigError struct {
	Provider string // the table name
	Key      string // e.g. "client_secret"
	Problem  string // the rest of the sentence, e.g. "is required: …"
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("provider %s: %s %s", e.Provider, e.Key, e.Problem)
}

// presetKind is everything one kind is, declared once, in its file.
type presetKind struct {
	// kind is what the config loader knows of it: name, brand, kind-only
	// settings and their defaults, and the rules a table must follow.
	kind config.Kind
	// build lays the preset out for one table: its endpoints, defaults and
	// hooks. An error is a *ConfigError.
	build func(pc *config.Provider) (preset, error)
	// gitUsername is the user name the forge documents for an OAuth token
	// sent over HTTPS (git, its container registry); "" when it hosts none.
	gitUsername string
}

// presets is every kind authcli knows, in the order errors list them:
// the generic kinds, then the presets. It is an explicit list rather than
// an init() registering each preset from its file because the project has
// no init() side effects or global registries (DESIGN.md), and because the
// order is shown to users; TestEveryKindIsListed fails when a preset's
// file declares a kind that is missing here.
var presets = []presetKind{oidcKind, oauth2Kind, googleKind, githubKind, appleKind, facebookKind, microsoftKind, gitlabKind}

// Kinds is the catalog config.Load and config.Parse take: every kind
// authcli knows, oidc and oauth2 first, then the presets.
func Kinds() []config.Kind {
	kinds := make([]config.Kind, len(presets))
	for i, p := range presets {
		kinds[i] = p.kind
		kinds[i].Settings = slices.Clone(p.kind.Settings)
	}
	return kinds
}

func lookup(kind string) *presetKind {
	for i := range presets {
		if presets[i].kind.Name == kind {
			return &presets[i]
		}
	}
	return nil
}

// keyErrors collects the *config.KeyError values a kind's Check returns.
type keyErrors []error

func (e *keyErrors) add(key, problem string) {
	*e = append(*e, &config.KeyError{Key: key, Problem: problem})
}

func (e keyErrors) err() error { return errors.Join(e...) }

// preset is what one kind adds to the config table: defaults for whatever
// the table leaves out, and the hooks of its quirks.
type preset struct {
	// issuer is the OpenID issuer whose discovery supplies the endpoints;
	// empty for plain OAuth 2.0 providers.
	issuer        string
	authURL       string
	tokenURL      string
	userinfoURL   string
	deviceAuthURL string
	revocationURL string

	scopes     []string
	authParams map[string]string
	claims     flow.ClaimMap
	authStyle  oauth2.AuthStyle

	// grants are the grants beyond authorization_code the provider offers
	// to an authcli client (refresh_token, device_code).
	grants []string
	// clientCredentials says grant = "client_credentials" makes sense.
	clientCredentials bool
	// oauthOnly presets refuse an issuer: they have no discovery. It is
	// the opposite of the kind's config.Kind.OpenID, set by presetFor.
	oauthOnly bool

	// gitHost is the forge's git host ("github.com"); "" when the provider
	// hosts no git repositories.
	gitHost string
	// gitScopes are the scopes of which one lets a token use git over
	// HTTPS on the forge.
	gitScopes []string

	// check reports what keeps the table from working with this preset.
	check func(pc *config.Provider) *ConfigError
	// finish adds the preset's hooks once p holds the merged settings.
	finish func(pc *config.Provider, p *flow.Provider, now func() time.Time) error
}

// Build turns a validated config table into what the flow needs: the
// preset's endpoints, default scopes, extra authorization parameters, claim
// mapping or profile fetching, revocation, issuer rules and client
// authentication. Settings in the table win over the preset's. Errors about
// the table are *ConfigError. now dates Apple's client secret (nil:
// time.Now).
func Build(pc *config.Provider, now func() time.Time) (flow.Provider, error) {
	if pc == nil {
		return flow.Provider{}, errors.New("no provider configuration")
	}
	if now == nil {
		now = time.Now
	}
	ps, err := presetFor(pc)
	if err != nil {
		return flow.Provider{}, err
	}
	if cerr := checkAll(pc, ps); cerr != nil {
		return flow.Provider{}, cerr
	}
	p := merge(pc, ps)
	if ps.finish != nil {
		if err := ps.finish(pc, &p, now); err != nil {
			return flow.Provider{}, err
		}
	}
	return p, nil
}

// Status says whether a provider can be used and, if not, which setting is
// missing or wrong, as one sentence for `authcli providers`. It reads
// Apple's key file but talks to no server.
func Status(pc *config.Provider) (ready bool, problem string) {
	if pc == nil {
		return false, "no provider configuration"
	}
	ps, err := presetFor(pc)
	var cerr *ConfigError
	switch {
	case errors.As(err, &cerr):
	case err != nil:
		return false, err.Error()
	default:
		cerr = checkAll(pc, ps)
	}
	if cerr != nil {
		return false, cerr.Key + " " + cerr.Problem
	}
	return true, ""
}

// Grants lists the OAuth grants authcli can use with a provider: the
// configured client_credentials grant alone, else authorization_code and
// what the provider adds (refresh_token, device_code).
func Grants(pc *config.Provider) []string {
	if pc == nil {
		return nil
	}
	if pc.Grant == config.GrantClientCredentials {
		return []string{GrantClientCredentials}
	}
	ps, err := presetFor(pc)
	if err != nil {
		return []string{GrantAuthorizationCode}
	}
	grants := append([]string{GrantAuthorizationCode}, ps.grants...)
	if pc.DeviceAuthURL != "" && !slices.Contains(grants, GrantDeviceCode) {
		grants = append(grants, GrantDeviceCode)
	}
	return grants
}

// GitUsername is the user name a forge documents for sending an OAuth
// token over HTTPS (git, and its container registry); "" when the kind has
// none and the route table must say.
func GitUsername(kind string) string {
	if pk := lookup(kind); pk != nil {
		return pk.gitUsername
	}
	return ""
}

// GitHost is the git host of a forge preset (the provider's own host for a
// self-managed instance); "" for providers that host no repositories.
func GitHost(pc *config.Provider) string {
	if pc == nil {
		return ""
	}
	ps, err := presetFor(pc)
	if err != nil {
		return ""
	}
	return ps.gitHost
}

// GitScopeNote says, when the table's scopes (or the preset's defaults)
// cannot reach a forge's repositories over git, which scope to add; ""
// when they can or the kind is not a forge.
func GitScopeNote(pc *config.Provider) string {
	if pc == nil {
		return ""
	}
	ps, err := presetFor(pc)
	if err != nil || ps.gitScopes == nil {
		return ""
	}
	scopes := pc.Scopes
	if scopes == nil {
		scopes = ps.scopes
	}
	for _, want := range ps.gitScopes {
		if slices.Contains(scopes, want) {
			return ""
		}
	}
	return fmt.Sprintf("the scopes of %s do not reach repositories over git; add %s to scopes in [providers.%s] and sign in again", pc.Name, strings.Join(ps.gitScopes, " or "), pc.Name)
}

func presetFor(pc *config.Provider) (preset, error) {
	pk := lookup(pc.Kind)
	if pk == nil {
		return preset{}, &ConfigError{Provider: pc.Name, Key: "kind", Problem: fmt.Sprintf("%q is not a kind authcli knows", pc.Kind)}
	}
	ps, err := pk.build(pc)
	if err != nil {
		return preset{}, err
	}
	ps.oauthOnly = !pk.kind.OpenID
	return ps, nil
}

// checkAll runs the rules every kind shares, then the preset's own.
func checkAll(pc *config.Provider, ps preset) *ConfigError {
	fail := func(key, problem string) *ConfigError {
		return &ConfigError{Provider: pc.Name, Key: key, Problem: problem}
	}
	if pc.ClientID == "" {
		return fail("client_id", "is required")
	}
	if pc.Grant == config.GrantClientCredentials {
		if !ps.clientCredentials {
			return fail("grant", fmt.Sprintf("= %q is not offered by the %s preset; remove it to sign in as a user", pc.Grant, pc.Kind))
		}
		if pc.ClientSecret == "" {
			return fail("client_secret", "is required for the client_credentials grant")
		}
	}
	if ps.oauthOnly && pc.Issuer != "" {
		return fail("issuer", fmt.Sprintf("does not apply to the %s preset, which has no OpenID discovery; override auth_url, token_url and userinfo_url instead", pc.Kind))
	}
	if pc.RedirectURI != "" && pc.RedirectPort == 0 {
		return fail("redirect_port", "is required with redirect_uri: the relay forwards the browser to a fixed loopback port")
	}
	if ps.check != nil {
		return ps.check(pc)
	}
	return nil
}

// merge lays the config table over the preset's defaults.
func merge(pc *config.Provider, ps preset) flow.Provider {
	or := func(v, def string) string {
		if v != "" {
			return v
		}
		return def
	}
	scopes := slices.Clone(pc.Scopes)
	if len(scopes) == 0 {
		scopes = slices.Clone(ps.scopes)
	}
	var params map[string]string
	if len(ps.authParams)+len(pc.AuthParams) > 0 {
		params = maps.Clone(ps.authParams)
		if params == nil {
			params = map[string]string{}
		}
		maps.Copy(params, pc.AuthParams)
	}
	return flow.Provider{
		Name:          pc.Name,
		Issuer:        or(pc.Issuer, ps.issuer),
		ClientID:      pc.ClientID,
		ClientSecret:  secret.Secret(pc.ClientSecret),
		Scopes:        scopes,
		AuthURL:       or(pc.AuthURL, ps.authURL),
		TokenURL:      or(pc.TokenURL, ps.tokenURL),
		UserinfoURL:   or(pc.UserinfoURL, ps.userinfoURL),
		JWKSURL:       pc.JWKSURL,
		DeviceAuthURL: or(pc.DeviceAuthURL, ps.deviceAuthURL),
		RevocationURL: or(pc.RevocationURL, ps.revocationURL),
		AuthParams:    params,
		RedirectHost:  pc.RedirectHost,
		RedirectPort:  pc.RedirectPort,
		RedirectPath:  pc.RedirectPath,
		RedirectURI:   pc.RedirectURI,
		RequireIss:    pc.RequireIss,
		Claims:        ps.claims,
		AuthStyle:     ps.authStyle,
	}
}

// trimURL returns raw without the given path suffix, for deriving a
// sibling endpoint from an overridable one; ok is false when raw does not
// end in suffix.
func trimURL(raw, suffix string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || len(u.Path) < len(suffix) || u.Path[len(u.Path)-len(suffix):] != suffix {
		return "", false
	}
	u.Path = u.Path[:len(u.Path)-len(suffix)]
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u.String(), true
}
