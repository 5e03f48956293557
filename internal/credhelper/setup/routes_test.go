package setup

import (
	"errors"
	"testing"

	"github.com/authcli/authcli/internal/config"
)

const authcliDoc = `# my config
[providers.github]
client_id = "c" # from the app page

[providers.corp]
kind = "oidc"
issuer = "https://login.corp.example"
client_id = "authcli"
`

func TestAuthcliRoute(t *testing.T) {
	gh := config.Route{Host: "github.com", Provider: "github", Username: "x-access-token"}
	tests := []struct {
		name, in, table string
		route           config.Route
		want            string
		change          Change
	}{
		{"appended", authcliDoc, config.RouteGit, gh, authcliDoc + "\n[git.\"github.com\"]\nprovider = \"github\"\nusername = \"x-access-token\"\n", Added},
		{"no newline at the end", "[providers.github]\nclient_id = \"c\"", config.RouteDocker, config.Route{Host: "ghcr.io", Provider: "github", IDToken: true, Account: "work"},
			"[providers.github]\nclient_id = \"c\"\n\n[docker.\"ghcr.io\"]\nprovider = \"github\"\naccount = \"work\"\nid_token = true\n", Added},
		{"same again", authcliDoc + "\n[git.\"GitHub.com\"] # mine\nprovider = \"github\"\nusername = \"x-access-token\"\n", config.RouteGit, gh,
			authcliDoc + "\n[git.\"GitHub.com\"] # mine\nprovider = \"github\"\nusername = \"x-access-token\"\n", Unchanged},
		{"replaced between tables", authcliDoc + "\n[git.\"github.com\"]\nprovider = \"corp\"\n\n# docker next\n[docker.\"ghcr.io\"]\nprovider = \"github\"\n", config.RouteGit, gh,
			authcliDoc + "\n[git.\"github.com\"]\nprovider = \"github\"\nusername = \"x-access-token\"\n\n# docker next\n[docker.\"ghcr.io\"]\nprovider = \"github\"\n", Updated},
		{"other table untouched", authcliDoc + "[docker.\"github.com\"]\nprovider = \"corp\"\n", config.RouteGit, gh,
			authcliDoc + "[docker.\"github.com\"]\nprovider = \"corp\"\n\n[git.\"github.com\"]\nprovider = \"github\"\nusername = \"x-access-token\"\n", Added},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, change, err := AuthcliRoute([]byte(tt.in), tt.table, tt.route)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want || change != tt.change {
				t.Errorf("%s:\n%s\nwant %s:\n%s", change, out, tt.change, tt.want)
			}
		})
	}
}

func TestAuthcliRouteRefuses(t *testing.T) {
	gh := config.Route{Host: "github.com", Provider: "github"}
	for name, in := range map[string]string{
		"inline table":  "[providers.github]\nclient_id = \"c\"\n[git]\n\"github.com\" = { provider = \"corp\" }\n[providers.corp]\nkind=\"oidc\"\n",
		"broken file":   "[providers.github\n",
		"unknown prov.": "[providers.corp]\nkind = \"oidc\"\n",
	} {
		_, _, err := AuthcliRoute([]byte(in), config.RouteGit, gh)
		if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzAuthcliRoute(f *testing.F) {
	f.Add(authcliDoc)
	f.Add(authcliDoc + "[git.\"github.com\"]\nprovider = \"corp\"\n[git.\"x\"]\nprovider = \"corp\"\n")
	f.Add("[providers.github]\n[[git]]\n")
	gh := config.Route{Host: "github.com", Provider: "github", Username: "x-access-token"}
	f.Fuzz(func(t *testing.T, in string) {
		out, change, err := AuthcliRoute([]byte(in), config.RouteGit, gh)
		if err != nil {
			return
		}
		again, change2, err := AuthcliRoute(out, config.RouteGit, gh)
		if err != nil || change2 != Unchanged || string(again) != string(out) {
			t.Fatalf("not idempotent after %s: %v %s", change, err, change2)
		}
	})
}
