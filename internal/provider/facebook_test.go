package provider

import (
	"context"
	"net/http"
	"testing"
)

func TestFacebookSignIn(t *testing.T) {
	f := newFakeProvider(t)
	f.token = func(authRequest) (string, string) {
		return jsonToken(map[string]any{"access_token": "EAAGm0PX4ZCpsBA", "token_type": "bearer", "expires_in": 5183944})
	}
	var fields string
	f.mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer EAAGm0PX4ZCpsBA" {
			http.Error(w, `{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190}}`, http.StatusBadRequest)
			return
		}
		fields = r.URL.Query().Get("fields")
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		// Graph nests the picture: picture.data.url.
		_, _ = w.Write([]byte(`{"id":"10158923456789012","name":"Ada Lovelace","email":"ada@example.com",
"picture":{"data":{"height":50,"is_silhouette":false,"url":"https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10158923456789012","width":50}}}`))
	})
	var revoked *http.Request
	f.mux.HandleFunc("DELETE /me/permissions", func(w http.ResponseWriter, r *http.Request) {
		revoked = r
		writeJSON(w, map[string]any{"success": true})
	})

	port := freePort(t)
	p, err := Build(parseProvider(t, "facebook", `
client_id = "1234567890"
client_secret = "app-secret"
redirect_port = `+fmtPort(port)+`
auth_url = "`+f.url()+`/authorize"
token_url = "`+f.url()+`/token"
userinfo_url = "`+f.url()+`/me?fields=id,name,email,picture"
revocation_url = "`+f.url()+`/me/permissions"
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := signIn(t, p, nil)
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	got := res.Profile
	if got.Subject != "10158923456789012" || got.Name != "Ada Lovelace" || got.Email != "ada@example.com" {
		t.Errorf("profile = %+v", got)
	}
	if got.AvatarURL != "https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10158923456789012" {
		t.Errorf("avatar = %q, want picture.data.url", got.AvatarURL)
	}
	if got.EmailVerified {
		t.Error("Facebook asserts no email verification, yet the email counts as verified")
	}
	if fields != "id,name,email,picture" {
		t.Errorf("fields = %q", fields)
	}
	if res.Token.RefreshToken != "" {
		t.Error("Facebook gives no refresh token")
	}
	if q := f.lastAuth(); q.Get("redirect_uri") != "http://127.0.0.1:"+fmtPort(port)+"/callback/facebook" || q.Get("scope") != "public_profile email" {
		t.Errorf("authorization request: %v", q)
	}
	if f.lastToken().Form.Get("client_secret") != "app-secret" {
		t.Error("the app secret was not sent as a parameter")
	}

	if err := p.Revoke(context.Background(), http.DefaultClient, res.Token); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if revoked == nil || revoked.Header.Get("Authorization") != "Bearer EAAGm0PX4ZCpsBA" {
		t.Error("DELETE /me/permissions was not called with the user's token")
	}
}

func TestFacebookDefaults(t *testing.T) {
	p, err := Build(parseProvider(t, "facebook", "client_id = \"1\"\nclient_secret = \"s\"\nredirect_port = 53682\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.UserinfoURL != "https://graph.facebook.com/v25.0/me?fields=id,name,email,picture" ||
		p.AuthURL != "https://www.facebook.com/v25.0/dialog/oauth" || p.Claims.AvatarURL != "picture.data.url" {
		t.Errorf("preset endpoints: %q %q %+v", p.UserinfoURL, p.AuthURL, p.Claims)
	}
}
