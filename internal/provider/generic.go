package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
)

// The generic kinds, configured entirely from the file.
const (
	KindOIDC   = "oidc"
	KindOAuth2 = "oauth2"
)

var oidcKind = presetKind{
	kind:  config.Kind{Name: KindOIDC, OpenID: true, Check: checkOIDC},
	build: func(*config.Provider) (preset, error) { return oidcPreset(), nil },
}

func checkOIDC(pc *config.Provider) error {
	var errs keyErrors
	if pc.Issuer == "" {
		errs.add("issuer", "is required for kind oidc (the provider's OpenID issuer URL)")
	}
	// A machine identity gets no ID token whatever it asks for, so its
	// scopes are the API's own.
	if pc.Grant == config.GrantAuthorizationCode && pc.Scopes != nil && !slices.Contains(pc.Scopes, "openid") {
		errs.add("scopes", "must include openid for kind oidc, or the provider returns no ID token")
	}
	return errs.err()
}

// oidcPreset is kind "oidc": everything comes from the issuer's discovery
// document; revocation uses its revocation_endpoint (RFC 7009) unless
// revocation_url overrides it.
func oidcPreset() preset {
	return preset{
		scopes:            []string{"openid", "email", "profile", "offline_access"},
		grants:            []string{GrantRefreshToken},
		clientCredentials: true,
		finish: func(_ *config.Provider, p *flow.Provider, now func() time.Time) error {
			askConsentForOffline(p)
			p.Revoke = rfc7009Revoker(*p, now, true)
			return nil
		},
	}
}

// askConsentForOffline adds prompt=consent when offline_access is asked
// for: OpenID Connect Core §11 lets a provider ignore offline_access
// otherwise, and strict ones do (node-oidc-provider then issues no refresh
// token at all). A table's own auth_params.prompt wins.
func askConsentForOffline(p *flow.Provider) {
	if !slices.Contains(p.Scopes, "offline_access") {
		return
	}
	if _, set := p.AuthParams["prompt"]; set {
		return
	}
	if p.AuthParams == nil {
		p.AuthParams = map[string]string{}
	}
	p.AuthParams["prompt"] = "consent"
}

var oauth2Kind = presetKind{
	kind:  config.Kind{Name: KindOAuth2, Claims: true, Check: checkOAuth2},
	build: func(pc *config.Provider) (preset, error) { return oauth2Preset(pc), nil },
}

func checkOAuth2(pc *config.Provider) error {
	var errs keyErrors
	authCode := pc.Grant == config.GrantAuthorizationCode
	if pc.Issuer != "" {
		errs.add("issuer", "applies only to OpenID providers; kind oauth2 uses auth_url, token_url and userinfo_url")
	}
	if authCode && pc.AuthURL == "" {
		errs.add("auth_url", "is required for kind oauth2")
	}
	if pc.TokenURL == "" {
		errs.add("token_url", "is required for kind oauth2")
	}
	if authCode && pc.UserinfoURL == "" {
		errs.add("userinfo_url", "is required for kind oauth2 (authcli reads who signed in from it)")
	}
	return errs.err()
}

// oauth2Preset is kind "oauth2": explicit endpoints and a claim mapping
// into the userinfo JSON ("additional providers are a few lines of
// config"). Scopes default to none: the provider's own default applies.
func oauth2Preset(pc *config.Provider) preset {
	c := pc.Claims
	return preset{
		claims:            flow.ClaimMap{Subject: c.Subject, Email: c.Email, EmailVerified: c.EmailVerified, Name: c.Name, AvatarURL: c.AvatarURL},
		grants:            []string{GrantRefreshToken},
		clientCredentials: true,
		finish: func(_ *config.Provider, p *flow.Provider, now func() time.Time) error {
			p.Revoke = rfc7009Revoker(*p, now, true)
			return nil
		},
	}
}

// rfc7009Revoker revokes at an RFC 7009 endpoint: revocation_url, else the
// one discovery announces. The refresh token goes first because revoking it
// ends the whole grant (RFC 7009 §2.1). authenticate=false sends only the
// client_id, for endpoints that take no client credentials (Google).
func rfc7009Revoker(p flow.Provider, now func() time.Time, authenticate bool) flow.RevokeFunc {
	return func(ctx context.Context, client *http.Client, tok *oauth2.Token) error {
		if tok == nil {
			return nil
		}
		endpoint := p.RevocationURL
		if endpoint == "" && p.Issuer != "" {
			e, err := p.Resolve(ctx, client, now)
			if err != nil {
				return err
			}
			endpoint = e.Revocation
		}
		if endpoint == "" {
			return flow.ErrNoRevocation
		}
		secret := ""
		if authenticate {
			secret = p.ClientSecret.Reveal()
		}
		token, hint := tok.RefreshToken, "refresh_token"
		if token == "" {
			token, hint = tok.AccessToken, "access_token"
		}
		return flow.Revoke(ctx, client, endpoint, p.ClientID, secret, token, hint)
	}
}

// checkEndpoint refuses what a hook must never send a token to: anything
// but https, or http on a loopback address (a local test server).
func checkEndpoint(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("the %s is not an absolute URL", what)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && flow.IsLoopbackHost(u.Hostname()):
		return nil
	default:
		return fmt.Errorf("%w: %s %s", flow.ErrInsecureURL, what, raw)
	}
}

// call sends one request a preset hook needs and, on a 2xx answer, decodes
// the JSON body into out (when out is not nil). Numbers stay exact. The
// returned status lets callers treat some refusals as "not available".
func call(client *http.Client, req *http.Request, out any) (int, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("the answer is not the JSON expected: %w", err)
	}
	return resp.StatusCode, nil
}

// postForm posts an application/x-www-form-urlencoded body, for revocation
// endpoints that want the client credentials in the body (Apple).
func postForm(ctx context.Context, client *http.Client, endpoint string, form url.Values) error {
	if err := checkEndpoint("revocation endpoint", endpoint); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := call(client, req, nil); err != nil {
		return fmt.Errorf("the revocation request failed: %w", err)
	}
	return nil
}
