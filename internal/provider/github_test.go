package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authcli/authcli/internal/flow"
)

// githubUser is GET /user for a user who keeps their email private (email
// is null) and never set a name, as the REST reference shows it.
const githubUser = `{"login":"octocat","id":58394201234,"node_id":"MDQ6VXNlcjE=","avatar_url":"https://avatars.githubusercontent.com/u/583231?v=4",
"type":"User","site_admin":false,"name":null,"company":"@github","blog":"https://github.blog","location":"San Francisco","email":null,
"hireable":null,"bio":null,"public_repos":8,"followers":9999,"following":9,"created_at":"2011-01-25T18:44:36Z"}`

// githubEmails is GET /user/emails: the primary verified address is not the
// first entry, and an unverified address is also marked primary-looking
// noise elsewhere.
const githubEmails = `[
 {"email":"old@example.com","verified":false,"primary":false,"visibility":null},
 {"email":"octocat@users.noreply.github.com","verified":true,"primary":false,"visibility":null},
 {"email":"octocat@github.com","verified":true,"primary":true,"visibility":"private"}]`

type githubFake struct {
	*fakeProvider
	emailsStatus int    // 0: 200 with githubEmails
	tokenForm    string // the token endpoint's form-encoded answer
	revoked      []*http.Request
	revokedBody  []map[string]string
}

func newGitHub(t *testing.T) *githubFake {
	g := &githubFake{fakeProvider: newFakeProvider(t)}
	g.tokenForm = "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=read%3Auser%2Cuser%3Aemail&token_type=bearer"
	// GitHub answers form-encoded unless asked for JSON.
	g.token = func(authRequest) (string, string) { return "application/x-www-form-urlencoded", g.tokenForm }
	auth := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "Bearer gho_16C7e42F292c6912E7710c838347Ae178B4a" || r.Header.Get("X-GitHub-Api-Version") == "" {
			http.Error(w, `{"message":"Requires authentication"}`, http.StatusUnauthorized)
			return false
		}
		return true
	}
	g.mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		if auth(w, r) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write([]byte(githubUser))
		}
	})
	g.mux.HandleFunc("GET /user/emails", func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		if g.emailsStatus != 0 {
			http.Error(w, `{"message":"Resource not accessible by integration"}`, g.emailsStatus)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write([]byte(githubEmails))
	})
	g.mux.HandleFunc("DELETE /applications/{client}/token", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		g.revoked = append(g.revoked, r)
		g.revokedBody = append(g.revokedBody, body)
		if id, secret, ok := r.BasicAuth(); !ok || id != r.PathValue("client") || secret != "gh-secret" {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return g
}

func (g *githubFake) config() string {
	return `
client_id = "Iv1.8a61f9b3a7aba766"
client_secret = "gh-secret"
auth_url = "` + g.url() + `/authorize"
token_url = "` + g.url() + `/token"
userinfo_url = "` + g.url() + `/user"
`
}

func TestGitHubSignIn(t *testing.T) {
	tests := []struct {
		name         string
		emailsStatus int
		tokenForm    string
		wantEmail    string
		wantVerified bool
		wantExpiry   bool
		wantRefresh  bool
	}{
		{name: "OAuth app token that never expires, private email from /user/emails",
			wantEmail: "octocat@github.com", wantVerified: true},
		{name: "GitHub App expiring token with refresh token",
			tokenForm: "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&expires_in=28800&refresh_token=ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c3&refresh_token_expires_in=15811200&scope=&token_type=bearer",
			wantEmail: "octocat@github.com", wantVerified: true, wantExpiry: true, wantRefresh: true},
		{name: "no email permission: no email at all", emailsStatus: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGitHub(t)
			g.emailsStatus = tt.emailsStatus
			if tt.tokenForm != "" {
				g.tokenForm = tt.tokenForm
			}
			p, err := Build(parseProvider(t, "github", g.config()), nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := signIn(t, p, nil)
			if err != nil {
				t.Fatalf("sign-in: %v", err)
			}
			got := res.Profile
			// The numeric id, exactly: never the login, never 5.8e+10.
			if got.Subject != "58394201234" {
				t.Errorf("subject = %q, want the numeric id", got.Subject)
			}
			if got.Name != "octocat" || got.AvatarURL != "https://avatars.githubusercontent.com/u/583231?v=4" {
				t.Errorf("name %q avatar %q", got.Name, got.AvatarURL)
			}
			if got.Email != tt.wantEmail || got.EmailVerified != tt.wantVerified {
				t.Errorf("email %q verified %t, want %q %t", got.Email, got.EmailVerified, tt.wantEmail, tt.wantVerified)
			}
			if got.Claims["login"] != "octocat" {
				t.Error("raw /user fields are not kept in the claims")
			}
			if !res.Token.Expiry.IsZero() != tt.wantExpiry || (res.Token.RefreshToken != "") != tt.wantRefresh {
				t.Errorf("expiry %v refresh %t", res.Token.Expiry, res.Token.RefreshToken != "")
			}
			form := g.lastToken().Form
			if form.Get("client_secret") != "gh-secret" || form.Get("client_id") != "Iv1.8a61f9b3a7aba766" {
				t.Error("the client secret was not sent as a parameter")
			}
			if q := g.lastAuth(); q.Get("scope") != "read:user user:email" || q.Get("code_challenge_method") != "S256" {
				t.Errorf("authorization request: %v", q)
			}
		})
	}
}

func TestGitHubTokenErrorIn200(t *testing.T) {
	g := newGitHub(t)
	// GitHub reports a bad code with HTTP 200 and an error field.
	g.tokenForm = "error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired.&error_uri=https%3A%2F%2Fdocs.github.com"
	p, err := Build(parseProvider(t, "github", g.config()), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = signIn(t, p, nil)
	var pe *flow.ProviderError
	if !errors.As(err, &pe) || pe.Code != "bad_verification_code" {
		t.Fatalf("error = %v, want the provider's bad_verification_code", err)
	}
}

func TestGitHubRevoke(t *testing.T) {
	g := newGitHub(t)
	p, err := Build(parseProvider(t, "github", g.config()), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := g.url() + "/applications/Iv1.8a61f9b3a7aba766/token"
	if p.RevocationURL != want {
		t.Errorf("revocation URL %q, want %q", p.RevocationURL, want)
	}
	tok := tokenOf("gho_abc", "")
	if err := p.Revoke(context.Background(), http.DefaultClient, tok); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if len(g.revoked) != 1 || g.revokedBody[0]["access_token"] != "gho_abc" || g.revoked[0].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("revocation request: %d calls, body %v", len(g.revoked), g.revokedBody)
	}

	// A wrong secret is reported without the token in the message.
	pc := parseProvider(t, "github", strings.Replace(g.config(), "gh-secret", "wrong", 1))
	p, err = Build(pc, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Revoke(context.Background(), http.DefaultClient, tok)
	errorMentions(t, err, "404")
	if strings.Contains(err.Error(), "gho_abc") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("error leaks a secret: %v", err)
	}
}

func TestGitHubEnterpriseEndpoints(t *testing.T) {
	pc := parseProvider(t, "ghe", `
kind = "github"
client_id = "x"
client_secret = "y"
auth_url = "https://ghe.example/login/oauth/authorize"
token_url = "https://ghe.example/login/oauth/access_token"
userinfo_url = "https://ghe.example/api/v3/user"
`)
	p, err := Build(pc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.RevocationURL != "https://ghe.example/api/v3/applications/x/token" {
		t.Errorf("revocation URL = %q", p.RevocationURL)
	}
	if p.DeviceAuthURL != githubDeviceURL {
		t.Errorf("device URL = %q", p.DeviceAuthURL)
	}
	u, _ := url.Parse(p.UserinfoURL)
	if u.Host != "ghe.example" {
		t.Errorf("userinfo override lost: %q", p.UserinfoURL)
	}
}
