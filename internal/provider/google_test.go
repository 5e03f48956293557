package provider

import (
	"context"
	"net/http"
	"testing"

	"golang.org/x/oauth2"
)

// newGoogle serves Google's documented shapes: discovery, a token response
// with a refresh token (access_type=offline), userinfo, and /revoke.
func newGoogle(t *testing.T) (*fakeProvider, *[]*http.Request) {
	f := newFakeProvider(t)
	f.discovery = func(base string) map[string]any {
		return oidcDiscovery(base, base, map[string]any{
			"userinfo_endpoint":   base + "/userinfo",
			"revocation_endpoint": base + "/revoke",
		})
	}
	f.idToken = func(r authRequest) map[string]any {
		return idClaims(f.url(), r, map[string]any{"sub": "110169484474386276334", "email": "ada@gmail.com", "email_verified": true})
	}
	f.token = func(authRequest) (string, string) {
		return jsonToken(map[string]any{"access_token": "ya29.at", "expires_in": 3599, "refresh_token": "1//rt", "scope": "openid https://www.googleapis.com/auth/userinfo.email", "token_type": "Bearer"})
	}
	f.mux.HandleFunc("/userinfo", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer ya29.at" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		writeJSON(w, map[string]any{"sub": "110169484474386276334", "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace",
			"picture": "https://lh3.googleusercontent.com/a/ada", "email": "ada@gmail.com", "email_verified": true})
	})
	var revoked []*http.Request
	f.mux.HandleFunc("/revoke", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		revoked = append(revoked, r)
		w.WriteHeader(http.StatusOK)
	})
	return f, &revoked
}

func TestGoogleSignIn(t *testing.T) {
	f, revoked := newGoogle(t)
	pc := parseProvider(t, "google", `
client_id = "123-abc.apps.googleusercontent.com"
client_secret = "GOCSPX-desktop"
issuer = "`+f.url()+`"
`)
	p, err := Build(pc, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := signIn(t, p, nil)
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	got := res.Profile
	if got.Subject != "110169484474386276334" || got.Email != "ada@gmail.com" || !got.EmailVerified || got.Name != "Ada Lovelace" || got.AvatarURL != "https://lh3.googleusercontent.com/a/ada" {
		t.Errorf("profile = %+v", got)
	}
	if res.Token.RefreshToken != "1//rt" {
		t.Error("no refresh token kept")
	}
	q := f.lastAuth()
	if q.Get("access_type") != "offline" || q.Get("prompt") != "consent" || q.Get("scope") != "openid email profile" {
		t.Errorf("authorization request lacks Google's parameters: %v", q)
	}
	// The desktop client's secret goes with the token request.
	if id, secret, ok := basicAuth(f.lastToken().Header); !ok || id != pc.ClientID || secret != "GOCSPX-desktop" {
		t.Error("the token request did not authenticate with the client secret")
	}

	if err := p.Revoke(context.Background(), http.DefaultClient, res.Token); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if len(*revoked) != 1 {
		t.Fatalf("revoke calls = %d", len(*revoked))
	}
	r := (*revoked)[0]
	if r.PostForm.Get("token") != "1//rt" || r.PostForm.Get("token_type_hint") != "refresh_token" {
		t.Errorf("revoked %v, want the refresh token", r.PostForm)
	}
	if _, _, ok := r.BasicAuth(); ok {
		t.Error("Google's revoke endpoint was sent client credentials it does not take")
	}
}

func TestGoogleUserAuthParamsWin(t *testing.T) {
	pc := parseProvider(t, "google", `
client_id = "x"
client_secret = "y"
auth_params = { prompt = "select_account", hd = "example.com" }
`)
	p, err := Build(pc, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"access_type": "offline", "prompt": "select_account", "hd": "example.com"}
	for k, v := range want {
		if p.AuthParams[k] != v {
			t.Errorf("auth param %s = %q, want %q", k, p.AuthParams[k], v)
		}
	}
	if p.Issuer != googleIssuer || p.RevocationURL != googleRevocation || p.AuthStyle != oauth2.AuthStyleAutoDetect {
		t.Errorf("preset defaults not applied: issuer %q revocation %q", p.Issuer, p.RevocationURL)
	}
}

func basicAuth(h http.Header) (string, string, bool) {
	r := &http.Request{Header: h}
	return r.BasicAuth()
}
