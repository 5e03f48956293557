package provider

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
)

// Microsoft Entra ID facts, from
// https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc,
// .../id-token-claims-reference and .../reply-url:
//   - OpenID provider per tenant: the authority is
//     https://login.microsoftonline.com/{tenant}/v2.0 where {tenant} is
//     common, organizations, consumers, a tenant ID or a domain name.
//   - The common and organizations documents announce the templated issuer
//     https://login.microsoftonline.com/{tenantid}/v2.0; each ID token's iss
//     carries the user's tenant ID, as does its tid claim (personal accounts:
//     9188040d-6c67-4c5b-b112-36a304b66dad). authcli checks iss against the
//     template and the tid claim (tenantIssuer) instead of switching issuer
//     checks off. A domain tenant's document names its GUID issuer.
//   - sub is pairwise (per application) and immutable: the subject. email is
//     optional and "isn't guaranteed to be correct", and there is no
//     email_verified, so the address is never treated as verified; name and
//     preferred_username come with the profile scope. The ID token is the
//     whole profile: the Graph userinfo endpoint adds nothing but a picture
//     URL that itself needs a token, so authcli skips it.
//   - Loopback redirects: http://localhost is accepted with any port (the
//     port is ignored when matching); http://127.0.0.1 must be added through
//     the app manifest; [::1] is not supported. The path is matched, so
//     register http://localhost/callback/NAME (or set redirect_path to
//     what is registered).
//   - Public clients have no secret; the documented token requests carry a
//     confidential client's secret in the body. PKCE, refresh tokens
//     (offline_access, rotated on use), the device grant and client
//     credentials are all offered. There is no standard revocation endpoint.
const (
	microsoftLogin          = "https://login.microsoftonline.com"
	microsoftConsumerTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
	tenantPlaceholder       = "{tenantid}"
	// microsoftDefaultTenant lets any Entra ID or personal account sign in.
	microsoftDefaultTenant = "common"
)

var microsoftKind = presetKind{
	kind: config.Kind{
		Name: "microsoft", Brand: "Microsoft", OpenID: true,
		Settings: []config.Setting{{Key: "tenant", Default: microsoftDefaultTenant}},
		Check: func(pc *config.Provider) error {
			if !validTenant(pc.Settings["tenant"]) {
				return &config.KeyError{Key: "tenant", Problem: "must be common, organizations, consumers, a tenant ID or a domain name"}
			}
			return nil
		},
	},
	build: microsoftPreset,
}

func microsoftPreset(pc *config.Provider) (preset, error) {
	tenant := pc.Settings["tenant"]
	if tenant == "" {
		tenant = microsoftDefaultTenant
	}
	if isGUID(tenant) || isTenantKeyword(tenant) {
		tenant = strings.ToLower(tenant)
	}
	suffix := "/" + tenant + "/v2.0"
	issuer := microsoftLogin + suffix
	if pc.Issuer != "" {
		issuer = strings.TrimSuffix(pc.Issuer, "/")
	}
	base, ok := trimURL(issuer, suffix)
	if !ok {
		return preset{}, &ConfigError{Provider: pc.Name, Key: "issuer", Problem: fmt.Sprintf("must end in %s to match tenant %q, like %s%s", suffix, tenant, microsoftLogin, suffix)}
	}
	check := tenantIssuer{base: base, tenant: tenant}
	return preset{
		issuer:            issuer,
		scopes:            []string{"openid", "profile", "email", "offline_access"},
		authStyle:         oauth2.AuthStyleInParams,
		grants:            []string{GrantRefreshToken, GrantDeviceCode},
		clientCredentials: true,
		finish: func(_ *config.Provider, p *flow.Provider, _ func() time.Time) error {
			p.IssuerCheck = check
			p.Profile = idTokenOnly
			return nil
		},
	}, nil
}

// idTokenOnly is a ProfileFunc for providers whose ID token is the profile.
func idTokenOnly(context.Context, *http.Client, string) (map[string]any, error) {
	return nil, nil
}

// tenantIssuer is the flow.IssuerCheck for one configured tenant.
type tenantIssuer struct {
	base   string // "https://login.microsoftonline.com", or a test server
	tenant string // as configured: a keyword, a GUID or a domain
}

func (t tenantIssuer) issuerFor(tenant string) string { return t.base + "/" + tenant + "/v2.0" }

// tenantOf returns the tenant segment of a v2.0 issuer under base.
func (t tenantIssuer) tenantOf(iss string) (string, bool) {
	rest, ok := strings.CutPrefix(iss, t.base+"/")
	if !ok {
		return "", false
	}
	tenant, ok := strings.CutSuffix(rest, "/v2.0")
	if !ok || tenant == "" || strings.Contains(tenant, "/") {
		return "", false
	}
	return tenant, true
}

// Discovered accepts the issuer Microsoft documents for the tenant: the
// template for common and organizations, the consumer tenant's for
// consumers (or the template), the tenant's own for a tenant ID, and some
// tenant ID's for a domain name.
func (t tenantIssuer) Discovered(iss string) error {
	template := t.issuerFor(tenantPlaceholder)
	switch {
	case t.tenant == "common" || t.tenant == "organizations":
		if iss == template {
			return nil
		}
	case t.tenant == "consumers":
		if iss == template || iss == t.issuerFor(microsoftConsumerTenant) {
			return nil
		}
	case isGUID(t.tenant):
		if iss == t.issuerFor(t.tenant) {
			return nil
		}
	default:
		if tid, ok := t.tenantOf(iss); ok && isGUID(tid) {
			return nil
		}
	}
	return fmt.Errorf("the document names issuer %q, which is not Microsoft's issuer for tenant %s", iss, t.tenant)
}

// Token accepts iss only when it is the discovered issuer with a tenant ID
// filled in, that tenant is one the configured tenant admits, and the
// token's tid claim names the same tenant.
func (t tenantIssuer) Token(discovered, iss string, claims map[string]any) error {
	tenant, ok := t.tenantOf(iss)
	if !ok || !isGUID(tenant) {
		return fmt.Errorf("issuer %q is not a Microsoft v2.0 tenant issuer", iss)
	}
	want := discovered
	if strings.Contains(discovered, tenantPlaceholder) {
		want = strings.Replace(discovered, tenantPlaceholder, tenant, 1)
	}
	if iss != want {
		return fmt.Errorf("issuer %q does not match %q", iss, discovered)
	}
	switch {
	case t.tenant == "organizations" && tenant == microsoftConsumerTenant:
		return fmt.Errorf("tenant organizations admits work and school accounts only, not a personal Microsoft account")
	case t.tenant == "consumers" && tenant != microsoftConsumerTenant:
		return fmt.Errorf("tenant consumers admits personal Microsoft accounts only, not tenant %s", tenant)
	}
	if claims == nil {
		return nil // an RFC 9207 iss parameter: its shape is all there is
	}
	if tid, _ := claims["tid"].(string); tid != tenant {
		return fmt.Errorf("its tid %q does not name the issuer's tenant %s", tid, tenant)
	}
	return nil
}

// validTenant keeps the tenant safe to put in a URL path: a GUID, a domain
// name or one of Microsoft's keywords.
func validTenant(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '-' && c != '.') {
			return false
		}
	}
	return s != "" && !strings.Contains(s, "..")
}

func isTenantKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "common", "organizations", "consumers":
		return true
	}
	return false
}

// isGUID accepts the 8-4-4-4-12 hex form of a tenant ID.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
