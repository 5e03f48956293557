package provider

import (
	"context"
	"net/http"
	"testing"
)

func TestGitLabSignIn(t *testing.T) {
	f := newFakeProvider(t)
	f.discovery = func(base string) map[string]any {
		return oidcDiscovery(base, base, map[string]any{
			"userinfo_endpoint":   base + "/oauth/userinfo",
			"revocation_endpoint": base + "/oauth/revoke",
			"scopes_supported":    []string{"api", "read_user", "openid", "profile", "email"},
		})
	}
	f.idToken = func(r authRequest) map[string]any {
		return idClaims(f.url(), r, map[string]any{"sub": "1234567", "auth_time": 1700000000, "sub_legacy": "2f1d"})
	}
	// Access tokens last two hours; the refresh token is replaced on use.
	f.token = func(authRequest) (string, string) {
		return jsonToken(map[string]any{"access_token": "glo-at", "token_type": "Bearer", "expires_in": 7200, "refresh_token": "glo-rt", "scope": "openid profile email", "created_at": 1700000000})
	}
	f.mux.HandleFunc("/oauth/userinfo", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer glo-at" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		writeJSON(w, map[string]any{"sub": "1234567", "sub_legacy": "2f1d", "name": "Ada Lovelace", "nickname": "ada",
			"preferred_username": "ada", "email": "ada@example.com", "email_verified": true, "website": "",
			"profile": "https://gitlab.example/ada", "picture": "https://gitlab.example/uploads/-/system/user/avatar/1234567/avatar.png",
			"groups": []string{"analytical-engines"}})
	})
	var revoked *http.Request
	f.mux.HandleFunc("POST /oauth/revoke", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		revoked = r
		writeJSON(w, map[string]any{})
	})

	p, err := Build(parseProvider(t, "gitlab", `
client_id = "a1b2c3"
client_secret = "gloas-secret"
issuer = "`+f.url()+`"
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.DeviceAuthURL != f.url()+"/oauth/authorize_device" || p.RevocationURL != f.url()+"/oauth/revoke" {
		t.Errorf("self-managed endpoints: device %q revoke %q", p.DeviceAuthURL, p.RevocationURL)
	}
	res, err := signIn(t, p, nil)
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	got := res.Profile
	if got.Subject != "1234567" || got.Email != "ada@example.com" || !got.EmailVerified || got.Name != "Ada Lovelace" ||
		got.AvatarURL != "https://gitlab.example/uploads/-/system/user/avatar/1234567/avatar.png" {
		t.Errorf("profile = %+v", got)
	}
	if err := p.Revoke(context.Background(), http.DefaultClient, res.Token); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if revoked == nil || revoked.PostForm.Get("token") != "glo-rt" || revoked.PostForm.Get("token_type_hint") != "refresh_token" {
		t.Fatalf("revocation request: %v", revoked)
	}
	if id, secret, ok := revoked.BasicAuth(); !ok || id != "a1b2c3" || secret != "gloas-secret" {
		t.Error("a confidential application must authenticate its revocation")
	}
}
