package provider

import (
	"net/url"
	"strings"
	"time"

	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
)

// GitLab facts, from https://docs.gitlab.com/integration/openid_connect_provider
// and https://docs.gitlab.com/api/oauth2:
//   - OpenID provider (doorkeeper-openid_connect): discovery at
//     https://gitlab.com/.well-known/openid-configuration, or the same path
//     on a self-managed instance (set issuer). Select the openid scope on the
//     application. Userinfo (/oauth/userinfo) answers sub, name, nickname,
//     preferred_username, email, email_verified, picture, groups.
//   - Flows: authorization code with PKCE (recommended), and the Device
//     Authorization Grant from GitLab 17.1 (/oauth/authorize_device). A
//     confidential application sends its secret; a non-confidential one has
//     none.
//   - Access tokens expire after two hours (since GitLab 15.0); the refresh
//     token is replaced on use.
//   - Revocation: /oauth/revoke (RFC 7009).
//   - Redirect URIs: doorkeeper ignores the port of a loopback IP redirect
//     URI (http://127.0.0.1, RFC 8252 §7.3, doorkeeper-gem/doorkeeper#1182),
//     but a registered http://localhost URI must match with its port
//     (gitlab-org/gitlab#435764), hence redirect_port with localhost. The
//     path must match: register http://127.0.0.1/callback/NAME.
//   - Git over HTTPS takes an OAuth access token as the password only with
//     the user name oauth2 (https://docs.gitlab.com/api/oauth2, "Access Git
//     over HTTPS with access token"), and the read_repository or
//     write_repository scope; the repositories live on the issuer's host.
const (
	gitlabIssuer      = "https://gitlab.com"
	gitlabGitUsername = "oauth2"
)

var gitlabKind = presetKind{
	kind:        config.Kind{Name: "gitlab", Brand: "GitLab", OpenID: true},
	build:       func(pc *config.Provider) (preset, error) { return gitlabPreset(pc), nil },
	gitUsername: gitlabGitUsername,
}

func gitlabPreset(pc *config.Provider) preset {
	issuer := gitlabIssuer
	if pc.Issuer != "" {
		issuer = strings.TrimSuffix(pc.Issuer, "/")
	}
	gitHost := ""
	if u, err := url.Parse(issuer); err == nil {
		gitHost = u.Host
	}
	return preset{
		gitHost:       gitHost,
		gitScopes:     []string{"read_repository", "write_repository", "api"},
		issuer:        issuer,
		deviceAuthURL: issuer + "/oauth/authorize_device",
		revocationURL: issuer + "/oauth/revoke",
		scopes:        []string{"openid", "profile", "email"},
		grants:        []string{GrantRefreshToken, GrantDeviceCode},
		check: func(pc *config.Provider) *ConfigError {
			if pc.RedirectHost == "localhost" && pc.RedirectPort == 0 {
				return &ConfigError{Provider: pc.Name, Key: "redirect_port", Problem: "is required with redirect_host = \"localhost\": GitLab matches a localhost redirect URI with its port (leave redirect_host at 127.0.0.1 to use any port)"}
			}
			return nil
		},
		finish: func(_ *config.Provider, p *flow.Provider, now func() time.Time) error {
			p.Revoke = rfc7009Revoker(*p, now, true)
			return nil
		},
	}
}
