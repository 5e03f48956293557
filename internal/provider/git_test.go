package provider

import (
	"testing"

	"github.com/authcli/authcli/internal/config"
)

func TestGitDefaults(t *testing.T) {
	tests := []struct {
		name           string
		pc             *config.Provider
		host, username string
	}{
		{"github", &config.Provider{Name: "github", Kind: "github"}, "github.com", "x-access-token"},
		{"github enterprise", &config.Provider{Name: "ghe", Kind: "github", AuthURL: "https://ghe.corp.example/login/oauth/authorize"}, "ghe.corp.example", "x-access-token"},
		{"gitlab", &config.Provider{Name: "gitlab", Kind: "gitlab"}, "gitlab.com", "oauth2"},
		{"self-managed gitlab", &config.Provider{Name: "gl", Kind: "gitlab", Issuer: "https://gitlab.corp.example:8443/"}, "gitlab.corp.example:8443", "oauth2"},
		{"google hosts no git", &config.Provider{Name: "google", Kind: "google"}, "", ""},
		{"oidc", &config.Provider{Name: "corp", Kind: "oidc", Issuer: "https://login.corp.example"}, "", ""},
	}
	for _, tt := range tests {
		if h, u := GitHost(tt.pc), GitUsername(tt.pc.Kind); h != tt.host || u != tt.username {
			t.Errorf("%s: host %q username %q, want %q %q", tt.name, h, u, tt.host, tt.username)
		}
	}
}

func TestGitScopeNote(t *testing.T) {
	tests := []struct {
		name string
		pc   *config.Provider
		note bool
	}{
		{"github defaults", &config.Provider{Name: "github", Kind: "github"}, true},
		{"github with repo", &config.Provider{Name: "github", Kind: "github", Scopes: []string{"read:user", "repo"}}, false},
		{"gitlab defaults", &config.Provider{Name: "gitlab", Kind: "gitlab"}, true},
		{"gitlab read_repository", &config.Provider{Name: "gitlab", Kind: "gitlab", Scopes: []string{"openid", "read_repository"}}, false},
		{"oidc", &config.Provider{Name: "corp", Kind: "oidc", Issuer: "https://x"}, false},
	}
	for _, tt := range tests {
		if got := GitScopeNote(tt.pc); (got != "") != tt.note {
			t.Errorf("%s: %q", tt.name, got)
		}
	}
}
