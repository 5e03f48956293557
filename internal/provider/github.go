package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
)

// GitHub facts:
//   - Not an OpenID provider for users: no ID token. Who signed in comes
//     from GET /user (id, login, name, email, avatar_url; email is null
//     unless the user made one public) and GET /user/emails, which lists
//     {email, primary, verified, visibility} and needs the user:email scope
//     (https://docs.github.com/en/rest/users/emails). The subject is the
//     numeric id: logins can be renamed.
//   - Endpoints: https://github.com/login/oauth/authorize and
//     /login/oauth/access_token, which answers form-encoded unless asked for
//     JSON (x/oauth2 reads both) and takes client_id and client_secret as
//     parameters; device grant at /login/device/code, GA since
//     https://github.blog/changelog/2020-12-04-oauth-2-0-device-authorization-flow-now-ga
//     (enable it in the app's settings).
//   - PKCE (S256 only) is supported, not required, for OAuth and GitHub Apps
//     since https://github.blog/changelog/2025-07-14-pkce-support-for-oauth-and-github-app-authentication
//   - The port of a loopback redirect_uri need not match the registered
//     callback URL's, and its path may be a subdirectory of the callback
//     URL's path (docs.github.com, "Authorizing OAuth apps", redirect URLs).
//     So register http://127.0.0.1/callback/NAME (NAME: the table's name):
//     an app registered at the old shared http://127.0.0.1/callback keeps
//     working, but accepts every provider's /callback/OTHER too, which
//     reopens the mix-up attack (RFC 9700 §4.4) to any other provider in
//     the same config; GitHub sends no RFC 9207 iss to tell them apart.
//   - OAuth app tokens never expire and come without a refresh token. GitHub
//     App user tokens that expire last 8 hours with a 6-month refresh token;
//     using a refresh token rotates both
//     (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens).
//     The common token code handles both: no expiry means never expires.
//   - Revocation: DELETE /applications/{client_id}/token with the token in a
//     JSON body and HTTP Basic client_id:client_secret
//     (https://docs.github.com/en/rest/apps/oauth-applications#delete-an-app-token).
//   - GitHub Enterprise Server: set auth_url, token_url and userinfo_url
//     (https://HOST/api/v3/user); the emails and revocation endpoints follow
//     userinfo_url.
//   - Git over HTTPS takes a token as the password with the user name
//     x-access-token (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/authenticating-as-a-github-app-installation);
//     the repositories live on the host of auth_url (github.com, or the
//     Enterprise Server's host). Private repositories need the repo scope.
const (
	githubGitUsername = "x-access-token"

	githubAuthURL    = "https://github.com/login/oauth/authorize"
	githubTokenURL   = "https://github.com/login/oauth/access_token"
	githubDeviceURL  = "https://github.com/login/device/code"
	githubUserURL    = "https://api.github.com/user"
	githubAPIVersion = "2022-11-28"
)

var githubKind = presetKind{
	kind:        config.Kind{Name: "github", Brand: "GitHub"},
	build:       func(pc *config.Provider) (preset, error) { return githubPreset(pc), nil },
	gitUsername: githubGitUsername,
}

func githubPreset(pc *config.Provider) preset {
	gitHost := "github.com"
	if u, err := url.Parse(pc.AuthURL); err == nil && pc.AuthURL != "" {
		gitHost = u.Host
	}
	return preset{
		gitHost:       gitHost,
		gitScopes:     []string{"repo", "public_repo"},
		authURL:       githubAuthURL,
		tokenURL:      githubTokenURL,
		userinfoURL:   githubUserURL,
		deviceAuthURL: githubDeviceURL,
		scopes:        []string{"read:user", "user:email"},
		authStyle:     oauth2.AuthStyleInParams,
		grants:        []string{GrantRefreshToken, GrantDeviceCode},
		check: func(pc *config.Provider) *ConfigError {
			if pc.ClientSecret == "" {
				return &ConfigError{Provider: pc.Name, Key: "client_secret", Problem: "is required: GitHub's token endpoint authenticates OAuth and GitHub Apps with their client secret"}
			}
			if pc.UserinfoURL != "" {
				if _, ok := trimURL(pc.UserinfoURL, "/user"); !ok {
					return &ConfigError{Provider: pc.Name, Key: "userinfo_url", Problem: "must end in /user (GitHub's API root followed by /user) so authcli can find /user/emails and the revocation endpoint"}
				}
			}
			return nil
		},
		finish: func(_ *config.Provider, p *flow.Provider, _ func() time.Time) error {
			p.Profile = githubProfile(p.UserinfoURL)
			if p.RevocationURL == "" {
				base, _ := trimURL(p.UserinfoURL, "/user") // checked above
				p.RevocationURL = base + "/applications/" + url.PathEscape(p.ClientID) + "/token"
			}
			p.Revoke = githubRevoker(p.RevocationURL, p.ClientID, p.ClientSecret.Reveal())
			return nil
		},
	}
}

// githubEmail is one entry of GET /user/emails.
type githubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// githubProfile reads GET /user, then GET /user/emails for the primary
// verified address, and returns OpenID-named claims (sub, name, email,
// email_verified, picture) alongside GitHub's own fields.
func githubProfile(userURL string) flow.ProfileFunc {
	return func(ctx context.Context, client *http.Client, accessToken string) (map[string]any, error) {
		var user map[string]any
		if _, err := githubGet(ctx, client, userURL, accessToken, &user); err != nil {
			return nil, fmt.Errorf("%w: GET /user: %w", flow.ErrUserinfo, err)
		}
		id, ok := user["id"].(json.Number)
		if !ok || id.String() == "" {
			return nil, fmt.Errorf("%w: GET /user has no numeric id", flow.ErrUserinfo)
		}
		claims := make(map[string]any, len(user)+4)
		for k, v := range user {
			claims[k] = v
		}
		claims["sub"] = id.String()
		name, _ := user["name"].(string)
		if name == "" {
			name, _ = user["login"].(string)
		}
		claims["name"] = name
		if avatar, ok := user["avatar_url"].(string); ok {
			claims["picture"] = avatar
		}
		// The public address on /user says nothing about verification.
		claims["email_verified"] = false

		u, err := url.Parse(userURL)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", flow.ErrUserinfo, err)
		}
		u.Path += "/emails"
		var emails []githubEmail
		status, err := githubGet(ctx, client, u.String(), accessToken, &emails)
		switch {
		case err == nil:
			for _, e := range emails {
				if e.Primary && e.Verified && e.Email != "" {
					claims["email"], claims["email_verified"] = e.Email, true
				}
			}
		case status == http.StatusForbidden || status == http.StatusNotFound:
			// No user:email scope, or a GitHub App without the email
			// permission: keep the public address, unverified.
		default:
			return nil, fmt.Errorf("%w: GET /user/emails: %w", flow.ErrUserinfo, err)
		}
		return claims, nil
	}
}

func githubGet(ctx context.Context, client *http.Client, endpoint, accessToken string, out any) (int, error) {
	if err := checkEndpoint("GitHub API endpoint", endpoint); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", githubAPIVersion)
	return call(client, req, out)
}

// githubRevoker deletes the access token (the one GitHub's endpoint takes;
// an expiring user token's refresh token goes with its grant).
func githubRevoker(endpoint, clientID, clientSecret string) flow.RevokeFunc {
	return func(ctx context.Context, client *http.Client, tok *oauth2.Token) error {
		if tok == nil || tok.AccessToken == "" {
			return nil
		}
		if clientSecret == "" {
			return errors.New("revoking a GitHub token needs the app's client_secret")
		}
		if err := checkEndpoint("revocation endpoint", endpoint); err != nil {
			return err
		}
		body, err := json.Marshal(map[string]string{"access_token": tok.AccessToken})
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, endpoint, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", githubAPIVersion)
		req.SetBasicAuth(clientID, clientSecret)
		if _, err := call(client, req, nil); err != nil {
			return fmt.Errorf("the revocation request failed: %w", err)
		}
		return nil
	}
}
