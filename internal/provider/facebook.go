package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
)

// Facebook facts:
//   - Plain OAuth 2.0 against a versioned Graph API ("Latest Graph API
//     Version: v25.0" on
//     https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived):
//     login dialog https://www.facebook.com/vN/dialog/oauth, token endpoint
//     https://graph.facebook.com/vN/oauth/access_token with the app secret as
//     a parameter (https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow).
//   - Profile: GET /me?fields=id,name,email,picture; picture is nested as
//     picture.data.url, email is absent when the person has none or declined
//     it, and there is no email_verified, so the address is never treated
//     as verified.
//   - No refresh tokens. Web-login user tokens are short-lived (hours); the
//     separate fb_exchange_token grant trades one for a long-lived (~60
//     days) token, which authcli does not do yet: sign in again when it
//     expires.
//   - Redirect URIs are matched exactly ("Strict Mode", on for every app
//     since March 2018: https://developers.facebook.com/blog/post/2017/12/18/strict-uri-matching/),
//     so the loopback port must be fixed (redirect_port) and registered.
//     PROVIDERS.md's "localhost in development mode" could not be confirmed
//     in Facebook's documentation.
//   - PKCE: Facebook documents an OIDC code flow with PKCE for manually
//     built login flows, marked "still in testing"
//     (https://developers.facebook.com/docs/facebook-login/guides/advanced/oidc-token);
//     authcli sends the PKCE parameters like everywhere else.
//   - Device login is Facebook's own API (graph.facebook.com/device/login
//     with an app client token), not RFC 8628: authcli cannot use it.
//   - Revocation: DELETE /me/permissions with the user's token removes the
//     app's login.
const (
	facebookGraphVersion = "v25.0"
	facebookAuthURL      = "https://www.facebook.com/" + facebookGraphVersion + "/dialog/oauth"
	facebookGraph        = "https://graph.facebook.com/" + facebookGraphVersion
	facebookTokenURL     = facebookGraph + "/oauth/access_token"
	facebookProfileURL   = facebookGraph + "/me?fields=id,name,email,picture"
	facebookRevokeURL    = facebookGraph + "/me/permissions"
)

var facebookKind = presetKind{
	kind:  config.Kind{Name: "facebook", Brand: "Facebook"},
	build: func(*config.Provider) (preset, error) { return facebookPreset(), nil },
}

func facebookPreset() preset {
	return preset{
		authURL:       facebookAuthURL,
		tokenURL:      facebookTokenURL,
		userinfoURL:   facebookProfileURL,
		revocationURL: facebookRevokeURL,
		scopes:        []string{"public_profile", "email"},
		claims:        flow.ClaimMap{Subject: "id", Email: "email", Name: "name", AvatarURL: "picture.data.url"},
		authStyle:     oauth2.AuthStyleInParams,
		check: func(pc *config.Provider) *ConfigError {
			switch {
			case pc.ClientSecret == "":
				return &ConfigError{Provider: pc.Name, Key: "client_secret", Problem: "is required: set it to the app secret from the app's basic settings"}
			case pc.RedirectPort == 0:
				return &ConfigError{Provider: pc.Name, Key: "redirect_port", Problem: "is required: Facebook matches redirect URIs exactly, so register http://" + pc.RedirectHost + ":PORT" + pc.RedirectPath + " and set the same port here"}
			}
			return nil
		},
		finish: func(_ *config.Provider, p *flow.Provider, _ func() time.Time) error {
			p.Revoke = facebookRevoker(p.RevocationURL)
			return nil
		},
	}
}

// facebookRevoker deletes the app's permissions for the person, which logs
// the app out of their account.
func facebookRevoker(endpoint string) flow.RevokeFunc {
	return func(ctx context.Context, client *http.Client, tok *oauth2.Token) error {
		if tok == nil || tok.AccessToken == "" {
			return nil
		}
		if err := checkEndpoint("revocation endpoint", endpoint); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, endpoint, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		var answer struct {
			Success bool `json:"success"`
		}
		if _, err := call(client, req, &answer); err != nil {
			return fmt.Errorf("the revocation request failed: %w", err)
		}
		if !answer.Success {
			return errors.New("facebook did not confirm the revocation")
		}
		return nil
	}
}
