package devidp

import (
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// opClient adapts a Client to op.Client. Public clients are native apps
// (auth method none, PKCE enforced in CreateAuthRequest); clients with a
// secret are confidential web clients using client_secret_basic or _post.
type opClient struct {
	c        Client
	issuer   string
	tokenTTL time.Duration
}

var _ op.HasRedirectGlobs = opClient{}

func (o opClient) public() bool                         { return o.c.Secret == "" }
func (o opClient) GetID() string                        { return o.c.ID }
func (o opClient) RedirectURIs() []string               { return o.c.RedirectURIs }
func (o opClient) PostLogoutRedirectURIs() []string     { return nil }
func (o opClient) PostLogoutRedirectURIGlobs() []string { return nil }
func (o opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (o opClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (o opClient) IDTokenLifetime() time.Duration      { return o.tokenTTL }
func (o opClient) DevMode() bool                       { return false }
func (o opClient) IsScopeAllowed(string) bool          { return false }
func (o opClient) ClockSkew() time.Duration            { return 0 }

// IDTokenUserinfoClaimsAssertion puts the profile and email claims into the
// ID token even though an access token is issued too, so a client gets them
// without a userinfo round trip.
func (o opClient) IDTokenUserinfoClaimsAssertion() bool { return true }

func (o opClient) ApplicationType() op.ApplicationType {
	if o.public() {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (o opClient) AuthMethod() oidc.AuthMethod {
	if o.public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (o opClient) GrantTypes() []oidc.GrantType {
	if o.public() {
		return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeDeviceCode}
	}
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeDeviceCode, oidc.GrantTypeClientCredentials}
}

func (o opClient) LoginURL(authRequestID string) string {
	return o.issuer + loginPath + "?id=" + url.QueryEscape(authRequestID)
}

func (o opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

func (o opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

// SubPathWildcard ends a registered redirect URI that accepts any one path
// segment below it ("http://127.0.0.1/callback/*" takes /callback/corp).
const SubPathWildcard = "*"

// RedirectURIGlobs lets a confidential client's loopback redirect URIs match
// on any port too (the library does this itself only for native clients):
// "http://127.0.0.1/cb" becomes a glob matching "http://127.0.0.1:PORT/cb"
// where PORT is one to five digits and nothing else (a looser "*" would let
// "http://127.0.0.1:1@evil.example/cb" through).
func (o opClient) RedirectURIGlobs() []string {
	var globs []string
	for _, raw := range o.c.RedirectURIs {
		u, ok := op.HTTPLoopbackOrLocalhost(raw)
		if !ok || u.Port() != "" {
			continue
		}
		host := u.Host
		rest := strings.TrimPrefix(raw, u.Scheme+"://"+host)
		sub := ""
		if r, ok := strings.CutSuffix(rest, "/"+SubPathWildcard); ok {
			// One path segment below the registered path, as GitHub
			// accepts sub-paths of a callback URL: "*" never crosses "/".
			rest, sub = r+"/", "*"
		}
		globs = append(globs, globEscape(u.Scheme+"://"+host+":")+portGlob+globEscape(rest)+sub)
	}
	return globs
}

const portGlob = "{[0-9],[0-9][0-9],[0-9][0-9][0-9],[0-9][0-9][0-9][0-9],[0-9][0-9][0-9][0-9][0-9]}"

// globEscape quotes the characters doublestar treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\*?[]{}`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
