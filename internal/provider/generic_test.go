package provider

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
)

// TestOAuth2FewLinesOfConfig: any OAuth 2.0 server with a JSON profile is a
// few lines of config, nested fields by dotted path.
func TestOAuth2FewLinesOfConfig(t *testing.T) {
	f := newFakeProvider(t)
	f.token = func(authRequest) (string, string) {
		return jsonToken(map[string]any{"access_token": "at", "token_type": "bearer", "expires_in": 600})
	}
	f.mux.HandleFunc("/api/me", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"data": map[string]any{"user": map[string]any{
			"id": 4242, "mail": "ada@example.com", "mail_ok": "true", "display": "Ada", "avatar": map[string]any{"large": "https://img.example/ada"},
		}}})
	})
	p, err := Build(parseProvider(t, "forge", `
kind = "oauth2"
client_id = "forge-cli"
auth_url = "`+f.url()+`/authorize"
token_url = "`+f.url()+`/token"
userinfo_url = "`+f.url()+`/api/me"
claims = { subject = "data.user.id", email = "data.user.mail", email_verified = "data.user.mail_ok", name = "data.user.display", avatar_url = "data.user.avatar.large" }
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := signIn(t, p, nil)
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	want := flow.Profile{Subject: "4242", Email: "ada@example.com", EmailVerified: true, Name: "Ada", AvatarURL: "https://img.example/ada"}
	got := res.Profile
	got.Claims = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("profile = %+v, want %+v", got, want)
	}
	if q := f.lastAuth(); q.Has("scope") {
		t.Errorf("kind oauth2 without scopes sent scope %q", q.Get("scope"))
	}
	if err := p.Revoke(context.Background(), http.DefaultClient, res.Token); !errors.Is(err, flow.ErrNoRevocation) {
		t.Errorf("revoke without an endpoint = %v, want ErrNoRevocation", err)
	}
}

// TestOIDCRevokesAtDiscoveredEndpoint: kind oidc finds revocation_endpoint
// in discovery when revocation_url is not set.
func TestOIDCRevokesAtDiscoveredEndpoint(t *testing.T) {
	f := newFakeProvider(t)
	f.discovery = func(base string) map[string]any {
		return oidcDiscovery(base, base, map[string]any{"revocation_endpoint": base + "/revoke"})
	}
	var form string
	f.mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		form = r.PostForm.Encode()
	})
	p, err := Build(parseProvider(t, "corp", "kind = \"oidc\"\nclient_id = \"cli\"\nissuer = \""+f.url()+"\"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Scopes, []string{"openid", "email", "profile", "offline_access"}) {
		t.Errorf("scopes = %v", p.Scopes)
	}
	if err := p.Revoke(context.Background(), http.DefaultClient, tokenOf("at", "")); err != nil {
		t.Fatal(err)
	}
	if form != "client_id=cli&token=at&token_type_hint=access_token" {
		t.Errorf("revocation form = %q", form)
	}
}

// TestConfigErrorsNameTheKey: each preset's unusable table says which
// setting to add or fix, in Status and in Build.
func TestConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, body, key string
	}{
		{"google", "client_id = \"x\"\n", "client_secret"},
		{"github", "client_id = \"x\"\n", "client_secret"},
		{"github", "client_id = \"x\"\nclient_secret = \"y\"\nissuer = \"https://github.com\"\n", "issuer"},
		{"github", "client_id = \"x\"\nclient_secret = \"y\"\nuserinfo_url = \"https://ghe.example/api/v3/me\"\n", "userinfo_url"},
		{"github", "client_id = \"x\"\nclient_secret = \"y\"\ngrant = \"client_credentials\"\n", "grant"},
		{"facebook", "client_id = \"x\"\nredirect_port = 53682\n", "client_secret"},
		{"facebook", "client_id = \"x\"\nclient_secret = \"y\"\n", "redirect_port"},
		{"apple", "client_id = \"x\"\nclient_secret = \"y\"\n", "redirect_uri"},
		{"microsoft", "client_id = \"x\"\ntenant = \"consumers\"\nissuer = \"https://login.microsoftonline.com/common/v2.0\"\n", "issuer"},
		{"gitlab", "client_id = \"x\"\nredirect_host = \"localhost\"\n", "redirect_port"},
		{"gitlab", "client_id = \"x\"\nredirect_uri = \"https://relay.example/cb\"\n", "redirect_port"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.key, func(t *testing.T) {
			pc := parseProvider(t, tt.name, tt.body)
			ready, problem := Status(pc)
			if ready || !strings.HasPrefix(problem, tt.key+" ") {
				t.Errorf("Status = %t %q, want a problem about %s", ready, problem, tt.key)
			}
			_, err := Build(pc, nil)
			var cerr *ConfigError
			if !errors.As(err, &cerr) || cerr.Key != tt.key || cerr.Provider != tt.name {
				t.Fatalf("Build error = %v, want a ConfigError about %s", err, tt.key)
			}
			errorMentions(t, err, "provider "+tt.name, tt.key)
		})
	}
}

func TestReadyPresets(t *testing.T) {
	for _, tt := range []struct{ name, body string }{
		{"google", "client_id = \"x\"\nclient_secret = \"y\"\n"},
		{"github", "client_id = \"x\"\nclient_secret = \"y\"\n"},
		{"facebook", "client_id = \"x\"\nclient_secret = \"y\"\nredirect_port = 53682\n"},
		{"microsoft", "client_id = \"x\"\n"},
		{"gitlab", "client_id = \"x\"\n"},
		{"corp", "kind = \"oidc\"\nissuer = \"https://login.corp.example\"\nclient_id = \"x\"\n"},
	} {
		ready, problem := Status(parseProvider(t, tt.name, tt.body))
		if !ready || problem != "" {
			t.Errorf("%s: Status = %t %q", tt.name, ready, problem)
		}
	}
}

func TestGrants(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"google", "client_id = \"x\"\n", []string{"authorization_code", "refresh_token", "device_code"}},
		{"github", "client_id = \"x\"\n", []string{"authorization_code", "refresh_token", "device_code"}},
		{"apple", "client_id = \"x\"\nclient_secret = \"y\"\n", []string{"authorization_code", "refresh_token"}},
		{"facebook", "client_id = \"x\"\n", []string{"authorization_code"}},
		{"microsoft", "client_id = \"x\"\n", []string{"authorization_code", "refresh_token", "device_code"}},
		{"gitlab", "client_id = \"x\"\n", []string{"authorization_code", "refresh_token", "device_code"}},
		{"svc", "kind = \"oidc\"\nissuer = \"https://id.example\"\nclient_id = \"x\"\nclient_secret = \"y\"\ngrant = \"client_credentials\"\n", []string{"client_credentials"}},
		{"forge", "kind = \"oauth2\"\nclient_id = \"x\"\nauth_url = \"https://f.example/a\"\ntoken_url = \"https://f.example/t\"\nuserinfo_url = \"https://f.example/u\"\ndevice_auth_url = \"https://f.example/d\"\n",
			[]string{"authorization_code", "refresh_token", "device_code"}},
	}
	for _, tt := range tests {
		if got := Grants(parseProvider(t, tt.name, tt.body)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Grants = %v, want %v", tt.name, got, tt.want)
		}
	}
	if Grants(nil) != nil {
		t.Error("Grants(nil) is not nil")
	}
	if ready, _ := Status(nil); ready {
		t.Error("Status(nil) is ready")
	}
	if _, err := Build(&config.Provider{Name: "x", Kind: "nope", ClientID: "c"}, nil); err == nil {
		t.Error("an unknown kind was built")
	}
}

// TestOIDCOfflineAccessAsksForConsent: OpenID Connect Core §11 lets a
// provider ignore offline_access without prompt=consent, and strict ones
// (node-oidc-provider) do. The table's own prompt wins.
func TestOIDCOfflineAccessAsksForConsent(t *testing.T) {
	tests := []struct {
		name, extra, want string
	}{
		{"default scopes", "", "consent"},
		{"scopes without offline_access", `scopes = ["openid", "email"]`, ""},
		{"the table's own prompt", `auth_params = { prompt = "login" }`, "login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Build(parseProvider(t, "corp", "kind = \"oidc\"\nissuer = \"https://login.corp.example\"\nclient_id = \"cli\"\n"+tt.extra), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.AuthParams["prompt"]; got != tt.want {
				t.Errorf("prompt = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestGenericKindRules: what an oidc or oauth2 table must say, since no
// preset says it for them.
func TestGenericKindRules(t *testing.T) {
	const forge = "[providers.forge]\nkind = \"oauth2\"\nclient_id = \"x\"\n"
	configRules(t, []configRule{
		{name: "oidc needs issuer", doc: "[providers.corp]\nkind = \"oidc\"\nclient_id = \"x\"\n", key: "providers.corp.issuer", line: 1, problem: "is required for kind oidc (the provider's OpenID issuer URL)"},
		{name: "oidc scopes need openid", doc: "[providers.corp]\nkind = \"oidc\"\nissuer = \"https://id.example\"\nclient_id = \"x\"\nscopes = [\"email\", \"profile\"]\n", key: "providers.corp.scopes", line: 5, problem: "must include openid for kind oidc, or the provider returns no ID token"},
		{name: "oauth2 needs auth_url", doc: forge + "token_url = \"https://f.example/t\"\nuserinfo_url = \"https://f.example/u\"\n", key: "providers.forge.auth_url", line: 1, problem: "is required for kind oauth2"},
		{name: "oauth2 needs token_url", doc: forge + "auth_url = \"https://f.example/a\"\nuserinfo_url = \"https://f.example/u\"\n", key: "providers.forge.token_url", line: 1, problem: "is required for kind oauth2"},
		{name: "oauth2 needs userinfo_url", doc: forge + "auth_url = \"https://f.example/a\"\ntoken_url = \"https://f.example/t\"\n", key: "providers.forge.userinfo_url", line: 1, problem: "is required for kind oauth2 (authcli reads who signed in from it)"},
		{name: "oauth2 client credentials needs only token_url", doc: forge + "grant = \"client_credentials\"\n", key: "providers.forge.client_secret", line: 1, problem: "is required for the client_credentials grant"},
		{name: "oauth2 refuses issuer", doc: forge + "auth_url = \"https://f.example/a\"\ntoken_url = \"https://f.example/t\"\nuserinfo_url = \"https://f.example/u\"\nissuer = \"https://f.example\"\n", key: "providers.forge.issuer", line: 7, problem: "applies only to OpenID providers; kind oauth2 uses auth_url, token_url and userinfo_url"},
		{name: "claims only for oauth2", doc: "[providers.corp]\nkind = \"oidc\"\nissuer = \"https://id.example\"\nclient_id = \"x\"\nclaims = { subject = \"id\" }\n", key: "providers.corp.claims", line: 5, problem: "applies only to kind oauth2; other kinds read the profile from the ID token or their preset"},
	})
}
