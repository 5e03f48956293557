package flow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authcli/authcli/internal/secret"
)

// Provider is what the flow needs to know about one configured provider.
// The CLI builds it from the config file (and presets); the flow never reads
// files itself.
type Provider struct {
	Name     string
	Issuer   string // set for OpenID providers: endpoints come from discovery
	ClientID string
	// ClientSecret travels as a secret.Secret: no log line, error or
	// format verb can print it; oauth2Config reveals it to x/oauth2 only.
	ClientSecret secret.Secret
	Scopes       []string

	// Endpoint overrides; for plain OAuth 2.0 providers they are the only
	// source of endpoints.
	AuthURL       string
	TokenURL      string
	UserinfoURL   string
	JWKSURL       string
	DeviceAuthURL string
	RevocationURL string

	// AuthParams are extra authorization request parameters
	// (access_type=offline for Google, for instance).
	AuthParams map[string]string

	RedirectHost string // "127.0.0.1" (default) or "localhost"
	RedirectPort int    // 0: ephemeral
	RedirectPath string // default "/callback/" + Name: each provider its own (see redirectPath)
	// RequireIss refuses an authorization response without the RFC 9207
	// iss parameter even when discovery does not promise one: what makes a
	// redirect URI shared with another provider safe.
	RequireIss bool

	Claims ClaimMap // where the profile lives in userinfo JSON (plain OAuth 2.0)

	// RedirectURI, when set, is the redirect URI sent to the provider instead
	// of the loopback listener's: an HTTPS relay for providers that refuse
	// loopback redirects (Apple). The relay forwards the browser to
	// http://RedirectHost:RedirectPort/RedirectPath, so RedirectPort must be
	// fixed.
	RedirectURI string
	// AuthStyle, when not AuthStyleAutoDetect, is how a confidential client
	// authenticates at the token endpoint; providers that only take the
	// secret in the body (Apple, Facebook, GitHub) set AuthStyleInParams.
	AuthStyle oauth2.AuthStyle
	// Profile, when set, replaces the userinfo GET (see ProfileFunc).
	Profile ProfileFunc
	// CallbackClaims, when set, reads claims from the authorization
	// response's extra fields (see CallbackClaimsFunc).
	CallbackClaims CallbackClaimsFunc
	// IssuerCheck, when set, replaces the exact issuer comparison of
	// discovery and ID tokens (see IssuerCheck).
	IssuerCheck IssuerCheck
	// Revoke, when set, revokes tokens at the provider; nil means the
	// provider offers no revocation.
	Revoke RevokeFunc
}

// Format prints a summary under every verb, never ClientSecret.
func (p Provider) Format(f fmt.State, _ rune) {
	secret.Format(f, fmt.Sprintf("flow.Provider{name: %q, issuer: %q, client_id: %q, client secret set: %t}", p.Name, p.Issuer, p.ClientID, p.ClientSecret != ""))
}

// Endpoints are a provider's resolved endpoints and ID token verifier.
type Endpoints struct {
	Issuer       string
	Auth         string
	Token        string
	Userinfo     string
	DeviceAuth   string
	Revocation   string
	JWKS         string
	AuthStyle    oauth2.AuthStyle
	IssParameter bool // RFC 9207 authorization_response_iss_parameter_supported
	// SigningAlgs are the ID token algorithms discovery announces.
	SigningAlgs []string
	Verifier    *oidc.IDTokenVerifier
	// keys, when set, are the keys Verifier checks against, fetched before
	// a refresh grant (RefreshEndpoints).
	keys *keySet
	// awaitKeys, when set, waits for keys and Verifier, which are being
	// parsed from the key cache (RefreshEndpoints).
	awaitKeys    func() error
	oidcProvider *oidc.Provider

	// issuerCheck and discovered come from Provider.IssuerCheck: Verifier
	// then skips its own issuer comparison and VerifyIDToken runs this one.
	issuerCheck IssuerCheck
	discovered  string
}

// discoveryExtras are discovery fields go-oidc does not expose directly.
type discoveryExtras struct {
	Issuer       string   `json:"issuer"`
	JWKSURI      string   `json:"jwks_uri"`
	Revocation   string   `json:"revocation_endpoint"`
	DeviceAuth   string   `json:"device_authorization_endpoint"`
	IssParameter bool     `json:"authorization_response_iss_parameter_supported"`
	SigningAlgs  []string `json:"id_token_signing_alg_values_supported"`
}

// Resolve finds the provider's endpoints: by OpenID discovery when Issuer is
// set (go-oidc refuses a document whose issuer differs from the configured
// one), then applies explicit overrides. Every endpoint must be https, or
// http on a loopback address.
func (p Provider) Resolve(ctx context.Context, client *http.Client, now func() time.Time) (*Endpoints, error) {
	if err := checkURL("issuer", p.Issuer); err != nil {
		return nil, err
	}
	ctx = oidc.ClientContext(ctx, client)
	e := &Endpoints{Issuer: p.Issuer}
	if p.Issuer != "" {
		dctx := ctx
		if p.IssuerCheck != nil {
			// go-oidc's exact match would refuse a templated issuer; the
			// announced one goes through IssuerCheck.Discovered instead.
			dctx = oidc.InsecureIssuerURLContext(ctx, p.Issuer)
		}
		op, err := oidc.NewProvider(dctx, p.Issuer)
		if err != nil {
			if isNetworkError(err) {
				return nil, reachError("discovery", err)
			}
			return nil, fmt.Errorf("%w: %w", ErrDiscovery, libError{err})
		}
		var x discoveryExtras
		if err := op.Claims(&x); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
		}
		if p.IssuerCheck != nil {
			if err := p.IssuerCheck.Discovered(x.Issuer); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
			}
			e.issuerCheck, e.discovered = p.IssuerCheck, x.Issuer
		}
		ep := op.Endpoint()
		e.Auth, e.Token, e.AuthStyle = ep.AuthURL, ep.TokenURL, ep.AuthStyle
		e.Userinfo = op.UserInfoEndpoint()
		e.JWKS, e.Revocation, e.DeviceAuth = x.JWKSURI, x.Revocation, x.DeviceAuth
		e.IssParameter = x.IssParameter
		e.SigningAlgs = asymmetric(x.SigningAlgs)
		e.oidcProvider = op
	}
	override := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	override(&e.Auth, p.AuthURL)
	override(&e.Token, p.TokenURL)
	override(&e.Userinfo, p.UserinfoURL)
	override(&e.JWKS, p.JWKSURL)
	override(&e.DeviceAuth, p.DeviceAuthURL)
	override(&e.Revocation, p.RevocationURL)
	for _, u := range []struct{ what, url string }{
		{"authorization endpoint", e.Auth}, {"token endpoint", e.Token},
		{"userinfo endpoint", e.Userinfo}, {"JWKS URI", e.JWKS},
		{"device authorization endpoint", e.DeviceAuth}, {"revocation endpoint", e.Revocation},
	} {
		if err := checkURL(u.what, u.url); err != nil {
			return nil, err
		}
	}
	if e.Token == "" {
		return nil, errors.New("the provider has no token endpoint; set token_url in the config")
	}
	if p.Issuer != "" {
		if e.JWKS == "" {
			return nil, fmt.Errorf("%w: no jwks_uri", ErrDiscovery)
		}
		cfg := &oidc.Config{ClientID: p.ClientID, Now: now, SkipIssuerCheck: e.issuerCheck != nil}
		if p.JWKSURL == "" {
			// Signing algorithms come from discovery, filtered by go-oidc
			// to asymmetric ones: "none" and HMAC never verify.
			e.Verifier = e.oidcProvider.VerifierContext(ctx, cfg)
		} else {
			e.Verifier = oidc.NewVerifier(p.Issuer, oidc.NewRemoteKeySet(ctx, e.JWKS), cfg)
		}
	}
	return e, nil
}

func (p Provider) oauth2Config(e *Endpoints, redirectURI string) *oauth2.Config {
	scopes := p.Scopes
	if len(scopes) == 0 && p.Issuer != "" {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	// Never leave x/oauth2 to auto-detect: on any failure it retries the
	// exchange, spending the single-use code twice and hiding the error.
	style := e.AuthStyle
	switch {
	case p.ClientSecret == "":
		style = oauth2.AuthStyleInParams // public client: client_id in the body
	case p.AuthStyle != oauth2.AuthStyleAutoDetect:
		style = p.AuthStyle
	case style == oauth2.AuthStyleAutoDetect:
		style = oauth2.AuthStyleInHeader // RFC 6749 §2.3.1: servers must support Basic
	}
	return &oauth2.Config{
		ClientID:     p.ClientID,
		ClientSecret: p.ClientSecret.Reveal(),
		Endpoint: oauth2.Endpoint{
			AuthURL:       e.Auth,
			TokenURL:      e.Token,
			DeviceAuthURL: e.DeviceAuth,
			AuthStyle:     style,
		},
		RedirectURL: redirectURI,
		Scopes:      slices.Clone(scopes),
	}
}
