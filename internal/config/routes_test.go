package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const routesDoc = `[providers.github]
client_id = "c"

[providers.corp]
kind = "oidc"
issuer = "https://login.corp.example"
client_id = "authcli"

[git."GitHub.com"]
provider = "github"

[git."code.corp.example:8443"]
provider = "corp"
username = "oauth2"
account = "work"

[docker."registry.corp.example"]
provider = "corp"
id_token = true
`

func TestRoutes(t *testing.T) {
	want := map[string]map[string]Route{
		"git": {
			"github.com":             {Host: "github.com", Provider: "github", Kind: "github"},
			"code.corp.example:8443": {Host: "code.corp.example:8443", Provider: "corp", Kind: "oidc", Username: "oauth2", Account: "work"},
		},
		"docker": {"registry.corp.example": {Host: "registry.corp.example", Provider: "corp", Kind: "oidc", IDToken: true}},
	}
	full := mustParse(t, routesDoc)
	lean, err := ParseRoutes(testPath, []byte(routesDoc), nil, testKinds)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][2]map[string]Route{"Parse": {full.Git, full.Docker}, "ParseRoutes": {lean.Git, lean.Docker}} {
		for i, table := range []string{"git", "docker"} {
			if len(got[i]) != len(want[table]) {
				t.Errorf("%s %s: %d routes, want %d", name, table, len(got[i]), len(want[table]))
			}
			for host, w := range want[table] {
				if got[i][host] != w {
					t.Errorf("%s %s[%s] = %+v, want %+v", name, table, host, got[i][host], w)
				}
			}
		}
	}
}

func TestRoutesErrors(t *testing.T) {
	const providers = "[providers.github]\nclient_id = \"c\"\n"
	tests := []struct {
		name, doc, key string
		line           int
		problem        string
	}{
		{"no provider", providers + "[git.\"github.com\"]\nusername = \"x\"\n", `git."github.com"`, 3, "needs provider"},
		{"unknown provider", providers + "[git.\"github.com\"]\nprovider = \"githbu\"\n", `git."github.com".provider`, 4, `did you mean github?`},
		{"scheme in host", providers + "[docker.\"https://ghcr.io\"]\nprovider = \"github\"\n", `docker."https://ghcr.io"`, 3, "must be a host name"},
		{"bad port", providers + "[git.\"github.com:0\"]\nprovider = \"github\"\n", `git."github.com:0"`, 3, "port must be 1 to 65535"},
		{"colon in username", providers + "[git.\"github.com\"]\nprovider = \"github\"\nusername = \"a:b\"\n", `git."github.com".username`, 5, "must not contain a colon"},
		{"empty account", providers + "[git.\"github.com\"]\nprovider = \"github\"\naccount = \"\"\n", `git."github.com".account`, 5, "is empty"},
		{"unknown key", providers + "[git.\"github.com\"]\nprovider = \"github\"\nusrname = \"x\"\n", `git."github.com".usrname`, 5, "did you mean username?"},
		{"same host twice", providers + "[git.\"github.com\"]\nprovider = \"github\"\n[git.\"GITHUB.COM\"]\nprovider = \"github\"\n", `git."github.com"`, 3, `names the same host as git."GITHUB.COM"`},
		{"not a bool", providers + "[docker.\"ghcr.io\"]\nprovider = \"github\"\nid_token = \"yes\"\n", `docker."ghcr.io".id_token`, 5, "must be true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(testPath, []byte(tt.doc), nil, testKinds)
			ce := asConfigError(t, "Parse", err)
			if ce.Key != tt.key || ce.Line != tt.line || !strings.Contains(ce.Problem, tt.problem) || ce.File != testPath {
				t.Errorf("Parse: %v\nwant %s:%d: %s: …%s…", err, testPath, tt.line, tt.key, tt.problem)
			}
			if tt.name == "unknown key" {
				return // ParseRoutes looks only at the keys it knows
			}
			_, err = ParseRoutes(testPath, []byte(tt.doc), nil, testKinds)
			ce = asConfigError(t, "ParseRoutes", err)
			if ce.Key != tt.key || ce.Line != tt.line || !strings.Contains(ce.Problem, tt.problem) {
				t.Errorf("ParseRoutes: %v\nwant line %d key %s problem …%s…", err, tt.line, tt.key, tt.problem)
			}
		})
	}
}

func asConfigError(t *testing.T, what string, err error) *Error {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("%s: error %v (%T) is not a *config.Error", what, err, err)
	}
	return ce
}

// TestLoadRoutesLean: the helpers' loader does not judge what it does not
// read, and a missing file is simply no routes.
func TestLoadRoutesLean(t *testing.T) {
	dir := t.TempDir()
	r, err := LoadRoutes(filepath.Join(dir, "absent.toml"), nil, testKinds)
	if err != nil || len(r.Git) != 0 || len(r.Docker) != 0 {
		t.Fatalf("missing file: %v %+v", err, r)
	}
	p := filepath.Join(dir, "config.toml")
	doc := "[providers.corp]\nkind = \"oidc\"\nissuer = \"http://login.corp.example\"\nclient_id = \"${UNSET}\"\n[git.\"code.corp.example\"]\nprovider = \"corp\"\n"
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err = LoadRoutes(p, nil, testKinds)
	if err != nil || r.Git["code.corp.example"].Provider != "corp" {
		t.Fatalf("LoadRoutes: %v %+v", err, r)
	}
	if _, err := Load(p, nil, testKinds); err != nil {
		t.Fatalf("Load: %v", err)
	} else if f, _ := Load(p, nil, testKinds); f.Problems["corp"] == nil {
		t.Error("the full load should report the corp table's problems")
	}
}

func TestNormalizeHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"github.com", "github.com"},
		{"GitHub.COM", "github.com"},
		{"127.0.0.1:8443", "127.0.0.1:8443"},
		{"[::1]:5000", "[::1]:5000"},
		{"::1", "[::1]"},
		{"registry_1.local", "registry_1.local"},
		{"", ""},
		{"https://github.com", ""},
		{"github.com/org", ""},
		{"user@github.com", ""},
		{"github.com:99999", ""},
		{"github.com:08", ""},
		{"-bad.example", ""},
		{"a b", ""},
		{"[::1", ""},
	}
	for _, tt := range tests {
		got, problem := NormalizeHost(tt.in)
		if got != tt.want || (tt.want == "") != (problem != "") {
			t.Errorf("NormalizeHost(%q) = %q, %q; want %q", tt.in, got, problem, tt.want)
		}
	}
}

func FuzzParseRoutes(f *testing.F) {
	f.Add(routesDoc)
	f.Add("[git.\"a:1\"]\nprovider = 1\n")
	f.Add("git = { \"h\" = { provider = \"p\" } }\n[providers.p]\n")
	f.Add("[docker.\"[::1]:5\"]\nprovider = \"${X}\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ParseRoutes("fuzz.toml", []byte(in), func(string) string { return "v" }, testKinds)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Problem == "" || ce.File != "fuzz.toml" {
				t.Fatalf("error %v (%T) is not a complete *Error", err, err)
			}
			return
		}
		for _, table := range []map[string]Route{r.Git, r.Docker} {
			for host, route := range table {
				if n, problem := NormalizeHost(host); problem != "" || n != host || route.Host != host {
					t.Fatalf("route key %q is not normalised (%q %q)", host, n, problem)
				}
				if route.Provider == "" {
					t.Fatalf("route %q without a provider", host)
				}
			}
		}
	})
}
