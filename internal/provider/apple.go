package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
	secretpkg "github.com/authcli/authcli/internal/secret"
)

// Apple facts, from the Sign in with Apple REST API pages
// (https://developer.apple.com/documentation/signinwithapplerestapi):
//   - OpenID provider at https://appleid.apple.com: /auth/authorize,
//     /auth/token, /auth/keys, /auth/revoke. No userinfo endpoint: the ID
//     token carries sub, email, email_verified and is_private_email, the
//     last two as the strings "true"/"false" as often as booleans.
//   - Scopes name and email. Requesting either requires
//     response_mode=form_post: the answer is a POST to the redirect URI.
//   - The user's name arrives only once, on the first authorization, as a
//     JSON `user` form field {"name":{"firstName","lastName"},"email"}
//     (Sign in with Apple JS, UserI/NameI); it is not signed, so authcli
//     uses it for the display name only.
//   - The client secret is a JWT the developer signs with ES256 using the
//     .p8 key: header kid = key ID; claims iss = team ID, iat, exp (at most
//     15777000 seconds, six months, after iat), aud =
//     https://appleid.apple.com, sub = the client ID (Services ID). The
//     token and revoke requests send client_id and client_secret as form
//     fields.
//   - Redirect URIs must be HTTPS on a domain registered for the Services
//     ID: no loopback, no IP address. authcli therefore sends an HTTPS relay
//     as redirect_uri (see RelaySetup) while its listener waits on a fixed
//     loopback port.
//   - PKCE is not documented, though Apple checks a code_verifier when the
//     authorization request carried a challenge (reported by client
//     libraries in 2024); authcli sends PKCE as everywhere else.
//   - Refresh tokens: yes. Revocation: POST /auth/revoke with token and
//     token_type_hint. No device grant.
const (
	appleIssuer = "https://appleid.apple.com"
	// appleSecretLifetime keeps a generated client secret well inside
	// Apple's six-month limit while outliving a long TUI session.
	appleSecretLifetime = 24 * time.Hour
	// appleMaxSecretLifetime is Apple's documented limit, in seconds.
	appleMaxSecretLifetime = 15777000 * time.Second
)

// RelaySetup documents Apple's redirect relay; it is what `authcli
// providers` points to when redirect_uri is missing.
//
// Apple only redirects to an HTTPS URL on a domain registered for the
// Services ID, so a terminal program cannot receive the answer directly.
// Host any HTTPS endpoint on such a domain that answers the POST with a
// 307 redirect to http://127.0.0.1:PORT/callback/NAME, NAME being the
// provider table's name (a 307 makes the browser
// repeat the POST, form body included, to the loopback listener); register
// its URL as a Return URL of the Services ID; then set redirect_uri to it
// and redirect_port to PORT. The relay sees the one-time code and the
// state but cannot redeem the code: that needs the PKCE verifier and the
// client secret, which never leave this machine.
const RelaySetup = "host an HTTPS URL on a domain registered for the Services ID that answers with a 307 redirect to http://127.0.0.1:PORT/callback/NAME (NAME: this provider table's name, or its redirect_path), then set redirect_uri to it and redirect_port to PORT"

var appleKind = presetKind{
	kind: config.Kind{
		Name: "apple", Brand: "Apple", OpenID: true,
		Settings: []config.Setting{{Key: "team_id"}, {Key: "key_id"}, {Key: "private_key_file", Path: true}},
		Check:    checkAppleKey,
	},
	build: func(pc *config.Provider) (preset, error) { return applePreset(pc), nil },
}

// checkAppleKey: Apple's client secret is either set as it is or signed
// with the Sign in with Apple key that team_id, key_id and
// private_key_file name, never both.
func checkAppleKey(pc *config.Provider) error {
	var errs keyErrors
	for _, key := range []string{"team_id", "key_id", "private_key_file"} {
		_, set := pc.Settings[key]
		switch {
		case pc.ClientSecret != "" && set:
			errs.add(key, "conflicts with client_secret; set either client_secret or team_id, key_id and private_key_file")
		case pc.ClientSecret == "" && !set:
			errs.add(key, "is required for kind apple unless client_secret is set (authcli signs Apple's client secret with this key)")
		}
	}
	return errs.err()
}

func applePreset(pc *config.Provider) preset {
	issuer := appleIssuer
	if pc.Issuer != "" {
		issuer = strings.TrimSuffix(pc.Issuer, "/")
	}
	return preset{
		issuer:        issuer,
		revocationURL: issuer + "/auth/revoke",
		scopes:        []string{"openid", "name", "email"},
		authParams:    map[string]string{"response_mode": "form_post"},
		authStyle:     oauth2.AuthStyleInParams,
		grants:        []string{GrantRefreshToken},
		check:         checkApple,
		finish: func(pc *config.Provider, p *flow.Provider, now func() time.Time) error {
			if p.ClientSecret == "" {
				key, err := loadAppleKey(pc.Settings["private_key_file"])
				if err != nil {
					return &ConfigError{Provider: pc.Name, Key: "private_key_file", Problem: err.Error()}
				}
				secret, err := AppleClientSecret(key, pc.Settings["team_id"], pc.Settings["key_id"], p.ClientID, p.Issuer, now(), appleSecretLifetime)
				if err != nil {
					return fmt.Errorf("sign Apple's client secret: %w", err)
				}
				p.ClientSecret = secretpkg.Secret(secret)
			}
			p.CallbackClaims = appleUserClaims
			p.Revoke = appleRevoker(p.RevocationURL, p.ClientID, p.ClientSecret.Reveal())
			return nil
		},
	}
}

// checkApple is what keeps a valid table from signing in: the relay, and
// a key file that holds a Sign in with Apple key (checkAppleKey made sure
// the settings are there).
func checkApple(pc *config.Provider) *ConfigError {
	fail := func(key, problem string) *ConfigError {
		return &ConfigError{Provider: pc.Name, Key: key, Problem: problem}
	}
	if pc.RedirectURI == "" {
		return fail("redirect_uri", "is required: Apple does not redirect to loopback addresses; "+RelaySetup)
	}
	if pc.ClientSecret != "" {
		return nil
	}
	if _, err := loadAppleKey(pc.Settings["private_key_file"]); err != nil {
		return fail("private_key_file", err.Error())
	}
	return nil
}

// loadAppleKey reads the .p8 file Apple hands out: a PEM PKCS #8 P-256 key.
// Errors name the problem, never the file's content.
func loadAppleKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("names %s, which does not exist; download the key (.p8) from Apple's developer site", path)
		}
		return nil, fmt.Errorf("cannot be read: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("is not a PEM \"PRIVATE KEY\" file like the .p8 key Apple hands out")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("does not hold a PKCS #8 private key")
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("does not hold a P-256 (ES256) key like Sign in with Apple keys")
	}
	return key, nil
}

// AppleClientSecret signs the client secret Apple's token and revoke
// endpoints take: an ES256 JWT from the team (iss) about the client (sub),
// addressed to audience (Apple's issuer), valid for lifetime from now, which
// Apple caps at six months.
func AppleClientSecret(key *ecdsa.PrivateKey, teamID, keyID, clientID, audience string, now time.Time, lifetime time.Duration) (string, error) {
	if lifetime <= 0 || lifetime > appleMaxSecretLifetime {
		return "", fmt.Errorf("lifetime %s is outside Apple's limit of six months", lifetime)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", keyID)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(jwt.Claims{
		Issuer:   teamID,
		Subject:  clientID,
		Audience: jwt.Audience{audience},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(lifetime)),
	}).Serialize()
}

// appleUserClaims reads the first-time `user` form field into a display
// name; a missing or malformed field gives nothing.
func appleUserClaims(form url.Values) map[string]any {
	raw := form.Get("user")
	if raw == "" {
		return nil
	}
	var user struct {
		Name struct {
			FirstName string `json:"firstName"`
			LastName  string `json:"lastName"`
		} `json:"name"`
	}
	if err := json.Unmarshal([]byte(raw), &user); err != nil {
		return nil
	}
	first, last := strings.TrimSpace(user.Name.FirstName), strings.TrimSpace(user.Name.LastName)
	name := strings.TrimSpace(first + " " + last)
	if name == "" {
		return nil
	}
	claims := map[string]any{"name": name}
	if first != "" {
		claims["given_name"] = first
	}
	if last != "" {
		claims["family_name"] = last
	}
	return claims
}

// appleRevoker revokes the refresh token (ending the authorization) or,
// without one, the access token, sending the client credentials as form
// fields as Apple documents.
func appleRevoker(endpoint, clientID, clientSecret string) flow.RevokeFunc {
	return func(ctx context.Context, client *http.Client, tok *oauth2.Token) error {
		if tok == nil {
			return nil
		}
		token, hint := tok.RefreshToken, "refresh_token"
		if token == "" {
			token, hint = tok.AccessToken, "access_token"
		}
		if token == "" {
			return nil
		}
		return postForm(ctx, client, endpoint, url.Values{
			"client_id": {clientID}, "client_secret": {clientSecret},
			"token": {token}, "token_type_hint": {hint},
		})
	}
}
