package provider

import (
	"time"

	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
)

// Google facts, from https://developers.google.com/identity/protocols/oauth2/native-app
// ("OAuth 2.0 for desktop apps") unless noted:
//   - OpenID provider: discovery at https://accounts.google.com; userinfo
//     answers sub, email, email_verified, name, picture.
//   - "Desktop app" clients redirect to a loopback IP address on any port
//     (the loopback flow stays supported for desktop clients per
//     https://developers.google.com/identity/protocols/oauth2/resources/loopback-migration).
//     A desktop client registers no redirect URI at all, so the per-provider
//     path /callback/NAME needs nothing new at Google.
//   - Desktop apps are public clients that "cannot keep secrets", yet the
//     token request still carries the desktop client's client_secret, so
//     the preset requires it.
//   - A refresh token comes only with access_type=offline; prompt=consent
//     makes Google issue one again on later sign-ins. Refresh tokens are not
//     rotated, which the common refresh path handles.
//   - Revocation: POST https://oauth2.googleapis.com/revoke with the token.
//   - The device grant exists only for "TVs and Limited Input devices"
//     clients, a separate client type, and for limited scopes.
//   - ID tokens may carry iss "accounts.google.com" without the scheme;
//     go-oidc accepts exactly that variant for this issuer.
const (
	googleIssuer     = "https://accounts.google.com"
	googleRevocation = "https://oauth2.googleapis.com/revoke"
)

var googleKind = presetKind{
	kind:  config.Kind{Name: "google", Brand: "Google", OpenID: true},
	build: func(pc *config.Provider) (preset, error) { return googlePreset(pc), nil },
}

func googlePreset(pc *config.Provider) preset {
	revocation := googleRevocation
	if pc.Issuer != "" {
		revocation = "" // another issuer's discovery names its own
	}
	return preset{
		issuer:        googleIssuer,
		revocationURL: revocation,
		scopes:        []string{"openid", "email", "profile"},
		authParams:    map[string]string{"access_type": "offline", "prompt": "consent"},
		grants:        []string{GrantRefreshToken, GrantDeviceCode},
		check: func(pc *config.Provider) *ConfigError {
			if pc.ClientSecret == "" {
				return &ConfigError{Provider: pc.Name, Key: "client_secret", Problem: "is required: Google's token endpoint wants the desktop client's secret (for a desktop app it is not treated as confidential)"}
			}
			return nil
		},
		finish: func(_ *config.Provider, p *flow.Provider, now func() time.Time) error {
			// Google's revoke endpoint takes the token alone, no client
			// authentication.
			p.Revoke = rfc7009Revoker(*p, now, false)
			return nil
		},
	}
}
