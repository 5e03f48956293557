package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// cliExample is the config file of CLI.md, verbatim.
const cliExample = `default_provider = "github"

[providers.github]            # a preset: only the client is needed
client_id = "Iv1.0123456789"
client_secret = "${GITHUB_CLIENT_SECRET}"   # ${VAR} is read from the environment

[providers.corp]              # any OpenID provider, by discovery
kind = "oidc"
display_name = "Corp SSO"
issuer = "https://login.corp.example"
client_id = "authcli"
scopes = ["openid", "email", "profile", "offline_access"]
trust_email_verified = true
`

func TestParseCLIExample(t *testing.T) {
	f := mustParse(t, cliExample)
	if f.Path != testPath || f.DefaultProvider != "github" {
		t.Errorf("Path %q DefaultProvider %q", f.Path, f.DefaultProvider)
	}
	if got := f.Names(); !slices.Equal(got, []string{"corp", "github"}) {
		t.Errorf("Names() = %v", got)
	}
	want := map[string]*Provider{
		"github": {
			Name: "github", Kind: "github", DisplayName: "GitHub",
			ClientID: "Iv1.0123456789", ClientSecret: secretValue,
			RedirectHost: "127.0.0.1", RedirectPath: "/callback/github", Grant: GrantAuthorizationCode,
		},
		"corp": {
			Name: "corp", Kind: "oidc", DisplayName: "Corp SSO",
			Issuer: "https://login.corp.example", ClientID: "authcli",
			Scopes:       []string{"openid", "email", "profile", "offline_access"},
			RedirectHost: "127.0.0.1", RedirectPath: "/callback/corp", Grant: GrantAuthorizationCode,
			TrustEmailVerified: true,
		},
	}
	if !reflect.DeepEqual(f.Providers, want) {
		for name := range want {
			t.Errorf("%s:\n got %+v\nwant %+v", name, f.Providers[name], want[name])
		}
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		check func(t *testing.T, p *Provider)
	}{
		{"preset named after itself", doc(`[providers.google]`, `client_id = "c"`), func(t *testing.T, p *Provider) {
			eq(t, "Kind", p.Kind, "google")
			eq(t, "DisplayName", p.DisplayName, "Google")
			eq(t, "RedirectHost", p.RedirectHost, "127.0.0.1")
			eq(t, "RedirectPath", p.RedirectPath, "/callback/google")
			eq(t, "Grant", p.Grant, "authorization_code")
			eq(t, "RedirectPort", p.RedirectPort, 0)
			if p.Scopes != nil || p.AuthParams != nil || p.Claims != (Claims{}) || p.TrustEmailVerified {
				t.Errorf("unset settings are not zero: %+v", p)
			}
		}},
		{"preset under another name", doc(`[providers.work]`, `kind = "google"`, `client_id = "c"`), func(t *testing.T, p *Provider) {
			eq(t, "DisplayName", p.DisplayName, "Google (work)")
		}},
		{"oidc takes the table name", doc(`[providers.corp]`, `kind = "oidc"`, `issuer = "https://id.example"`, `client_id = "c"`), func(t *testing.T, p *Provider) {
			eq(t, "DisplayName", p.DisplayName, "corp")
		}},
		{"explicit display name", doc(`[providers.github]`, `display_name = "GitHub (work)"`, `client_id = "c"`), func(t *testing.T, p *Provider) {
			eq(t, "DisplayName", p.DisplayName, "GitHub (work)")
		}},
		{"setting default", doc(`[providers.acme]`, `client_id = "c"`, `client_secret = "s"`), func(t *testing.T, p *Provider) {
			eq(t, "Settings", p.Settings, map[string]string{"region": "eu"})
			eq(t, "DisplayName", p.DisplayName, "Acme")
		}},
		{"setting kept", doc(`[providers.acme]`, `client_id = "c"`, `client_secret = "s"`, `region = "us"`), func(t *testing.T, p *Provider) {
			eq(t, "Settings", p.Settings, map[string]string{"region": "us"})
		}},
		{"oauth2 subject defaults to sub", oauth2With(), func(t *testing.T, p *Provider) {
			eq(t, "Claims", p.Claims, Claims{Subject: "sub"})
		}},
		{"oauth2 claim mapping", oauth2With(`[providers.forge.claims]`, `subject = "id"`, `email = "emails.primary"`, `email_verified = "emails.verified"`, `name = "profile.display_name"`, `avatar_url = "avatar"`), func(t *testing.T, p *Provider) {
			eq(t, "Claims", p.Claims, Claims{Subject: "id", Email: "emails.primary", EmailVerified: "emails.verified", Name: "profile.display_name", AvatarURL: "avatar"})
		}},
		{"oauth2 client credentials needs no auth or userinfo URL", doc(`[providers.svc]`, `kind = "oauth2"`, `token_url = "https://svc.example/token"`, `client_id = "c"`, `client_secret = "s"`, `grant = "client_credentials"`), func(t *testing.T, p *Provider) {
			eq(t, "Grant", p.Grant, GrantClientCredentials)
		}},
		{"redirect settings", doc(`[providers.github]`, `client_id = "c"`, `redirect_host = "localhost"`, `redirect_port = 8085`, `redirect_path = "/oauth/cb"`), func(t *testing.T, p *Provider) {
			eq(t, "RedirectHost", p.RedirectHost, "localhost")
			eq(t, "RedirectPort", p.RedirectPort, 8085)
			eq(t, "RedirectPath", p.RedirectPath, "/oauth/cb")
		}},
		{"loopback http is allowed", doc(`[providers.dev]`, `kind = "oidc"`, `issuer = "http://127.0.0.1:9999"`, `client_id = "c"`, `token_url = "http://localhost:9999/token"`, `jwks_url = "http://[::1]:9999/keys"`, `userinfo_url = "http://127.1.2.3/me"`), func(t *testing.T, p *Provider) {
			eq(t, "Issuer", p.Issuer, "http://127.0.0.1:9999")
		}},
		{"endpoint overrides on a preset", doc(`[providers.gitlab]`, `client_id = "c"`, `issuer = "https://gitlab.corp.example"`, `revocation_url = "https://gitlab.corp.example/oauth/revoke"`, `device_auth_url = "https://gitlab.corp.example/oauth/authorize_device"`), func(t *testing.T, p *Provider) {
			eq(t, "Issuer", p.Issuer, "https://gitlab.corp.example")
			eq(t, "RevocationURL", p.RevocationURL, "https://gitlab.corp.example/oauth/revoke")
			eq(t, "DeviceAuthURL", p.DeviceAuthURL, "https://gitlab.corp.example/oauth/authorize_device")
		}},
		{"auth params", doc(`[providers.google]`, `client_id = "c"`, `auth_params = { access_type = "offline", prompt = "consent" }`), func(t *testing.T, p *Provider) {
			eq(t, "AuthParams", p.AuthParams, map[string]string{"access_type": "offline", "prompt": "consent"})
		}},
		{"relative path setting", doc(`[providers.acme]`, `client_id = "c"`, `key_file = "keys/acme.pem"`, `redirect_uri = "https://relay.example/acme"`), func(t *testing.T, p *Provider) {
			eq(t, "key_file", p.Settings["key_file"], filepath.Join(filepath.Dir(testPath), "keys", "acme.pem"))
			eq(t, "RedirectURI", p.RedirectURI, "https://relay.example/acme")
		}},
		{"path setting under home", doc(`[providers.acme]`, `client_id = "c"`, `key_file = "~/keys/a.pem"`), func(t *testing.T, p *Provider) {
			eq(t, "key_file", p.Settings["key_file"], filepath.Join("/home/alice", "keys", "a.pem"))
		}},
		{"path setting from the environment", doc(`[providers.acme]`, `client_id = "c"`, `key_file = "${HOME}/a.pem"`), func(t *testing.T, p *Provider) {
			eq(t, "key_file", p.Settings["key_file"], filepath.Join("/home/alice", "a.pem"))
		}},
		{"secret from the environment", doc(`[providers.acme]`, `client_id = "c"`, `client_secret = "${GITHUB_CLIENT_SECRET}"`), func(t *testing.T, p *Provider) {
			eq(t, "ClientSecret", p.ClientSecret, secretValue)
		}},
		{"inline tables", doc(`providers = { corp = { kind = "oidc", issuer = "https://id.example", client_id = "c" } }`), func(t *testing.T, p *Provider) {
			eq(t, "Issuer", p.Issuer, "https://id.example")
		}},
		{"utf-8 byte order mark", "\ufeff" + doc(`[providers.github]`, `client_id = "c"`), func(t *testing.T, p *Provider) {
			eq(t, "Name", p.Name, "github")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, tt.doc)
			if tt.check == nil {
				return
			}
			if len(f.Providers) != 1 {
				t.Fatalf("want one provider, got %v", f.Names())
			}
			p, err := f.Provider("")
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestPresetDisplayNames(t *testing.T) {
	want := map[string]string{"google": "Google", "github": "GitHub", "gitlab": "GitLab", "acme": "Acme"}
	var lines []string
	for name := range want {
		lines = append(lines, "[providers."+name+"]", `client_id = "c"`, `client_secret = "s"`)
	}
	f := mustParse(t, doc(lines...))
	for name, display := range want {
		eq(t, name+" DisplayName", f.Providers[name].DisplayName, display)
		eq(t, name+" Kind", f.Providers[name].Kind, name)
	}
}

func TestEmptyDocument(t *testing.T) {
	f := mustParse(t, "# nothing yet\n")
	if len(f.Providers) != 0 || f.DefaultProvider != "" || len(f.Names()) != 0 {
		t.Errorf("empty document parsed as %+v", f)
	}
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestRelativeKeyFileWithoutConfigPath(t *testing.T) {
	f, err := Parse("", []byte(doc(`[providers.acme]`, `client_id = "c"`, `key_file = "a/../acme.pem"`)), nil, testKinds)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "key_file", f.Providers["acme"].Settings["key_file"], "acme.pem")
}

func TestExpand(t *testing.T) {
	env := envFrom(map[string]string{"A": "alpha", "B": "b$b", "REF": "${A}", "_X1": "x"})
	tests := []struct {
		in, want, problem string
	}{
		{"plain", "plain", ""},
		{"", "", ""},
		{"${A}", "alpha", ""},
		{"x-${A}-y", "x-alpha-y", ""},
		{"${A}${_X1}", "alphax", ""},
		{"${B}", "b$b", ""},         // values are not re-scanned
		{"${REF}", "${A}", ""},      // nor expanded twice
		{"$$", "$", ""},             // escape
		{"$${A}", "${A}", ""},       // escaped reference stays literal
		{"a$$$$b", "a$$b", ""},      // two escapes
		{"$$${A}", "$alpha", ""},    // escape then reference
		{"pa$$word", "pa$word", ""}, // a secret with a dollar
		{"${UNSET}", "", "environment variable UNSET is not set"},
		{"$A", "", "write $$ for a literal $"},
		{"trailing $", "", "write $$ for a literal $"},
		{"${A", "", "without a closing }"},
		{"${}", "", "not a variable name"},
		{"${1A}", "", "not a variable name"},
		{"${A-B}", "", "not a variable name"},
		{"${A B}", "", "not a variable name"},
	}
	for _, tt := range tests {
		got, problem := expand(tt.in, env)
		if tt.problem == "" {
			if problem != "" || got != tt.want {
				t.Errorf("expand(%q) = %q, %q; want %q", tt.in, got, problem, tt.want)
			}
			continue
		}
		if !strings.Contains(problem, tt.problem) {
			t.Errorf("expand(%q) problem = %q, want it to contain %q", tt.in, problem, tt.problem)
		}
	}
}

func TestExpandEverywhere(t *testing.T) {
	env := map[string]string{
		"CID": "my-client", "SECRET": secretValue, "ISSUER": "https://id.example",
		"SCOPE": "groups", "HINT": "alice@example.com", "DEFAULT": "corp", "NAME": "Corp $SSO",
	}
	d := doc(
		`default_provider = "${DEFAULT}"`,
		`[providers.corp]`,
		`kind = "oidc"`,
		`display_name = "${NAME} $$5"`,
		`issuer = "${ISSUER}"`,
		`client_id = "${CID}"`,
		`client_secret = "${SECRET}"`,
		`scopes = ["openid", "${SCOPE}"]`,
		`auth_params = { login_hint = "${HINT}" }`,
	)
	f, err := Parse(testPath, []byte(d), envFrom(env), testKinds)
	if err != nil {
		t.Fatal(err)
	}
	p := f.Providers["corp"]
	eq(t, "DefaultProvider", f.DefaultProvider, "corp")
	eq(t, "DisplayName", p.DisplayName, "Corp $SSO $5")
	eq(t, "Issuer", p.Issuer, "https://id.example")
	eq(t, "ClientID", p.ClientID, "my-client")
	eq(t, "ClientSecret", p.ClientSecret, secretValue)
	eq(t, "Scopes", p.Scopes, []string{"openid", "groups"})
	eq(t, "AuthParams", p.AuthParams, map[string]string{"login_hint": "alice@example.com"})
}

func TestProviderChoice(t *testing.T) {
	one := mustParse(t, doc(`[providers.github]`, `client_id = "c"`))
	two := mustParse(t, doc(`[providers.github]`, `client_id = "c"`, `[providers.gitlab]`, `client_id = "c"`))
	withDefault := mustParse(t, doc(`default_provider = "gitlab"`, `[providers.github]`, `client_id = "c"`, `[providers.gitlab]`, `client_id = "c"`))
	none := mustParse(t, "")

	tests := []struct {
		name     string
		f        *File
		arg      string
		want     string
		sentinel error
		phrase   string
	}{
		{"only provider", one, "", "github", nil, ""},
		{"by name", two, "gitlab", "gitlab", nil, ""},
		{"default provider", withDefault, "", "gitlab", nil, ""},
		{"name beats default", withDefault, "github", "github", nil, ""},
		{"several without default", two, "", "", ErrNoDefaultProvider, "several providers are configured (github, gitlab); name one or set default_provider"},
		{"unknown name", two, "google", "", ErrUnknownProvider, `no provider named "google" is configured; configured providers: github, gitlab`},
		{"unknown name with suggestion", two, "githb", "", ErrUnknownProvider, "did you mean github?"},
		{"nothing configured", none, "", "", ErrUnknownProvider, "no providers are configured"},
		{"nothing configured, by name", none, "github", "", ErrUnknownProvider, "add a [providers.NAME] table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.f.Provider(tt.arg)
			if tt.sentinel == nil {
				if err != nil || p.Name != tt.want {
					t.Fatalf("Provider(%q) = %v, %v; want %s", tt.arg, p, err, tt.want)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, tt.sentinel) {
				t.Fatalf("Provider(%q) error = %v, want a *Error wrapping %v", tt.arg, err, tt.sentinel)
			}
			if ce.File != testPath || !strings.Contains(ce.Problem, tt.phrase) {
				t.Errorf("error = %q, want file %s and %q", err, testPath, tt.phrase)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	env := envFrom(baseEnv)

	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(dir, "nope.toml")
		_, err := Load(path, env, testKinds)
		var ce *Error
		if !errors.As(err, &ce) || !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want a *Error that Is ErrNotFound", err)
		}
		want := "config " + path + ": file does not exist; create it (see README) or pass --config"
		if err.Error() != want {
			t.Errorf("Error() = %q, want %q", err, want)
		}
	})
	t.Run("valid file", func(t *testing.T) {
		path := filepath.Join(dir, "config.toml")
		if err := os.WriteFile(path, []byte(cliExample), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := Load(path, env, testKinds)
		if err != nil {
			t.Fatal(err)
		}
		if f.Path != path || len(f.Providers) != 2 {
			t.Errorf("Load = %+v", f)
		}
	})
	t.Run("error names the file", func(t *testing.T) {
		path := filepath.Join(dir, "bad.toml")
		if err := os.WriteFile(path, []byte(doc(`[providers.github]`, `client_id = "c"`, `colour = 1`)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path, env, testKinds)
		var ce *Error
		if !errors.As(err, &ce) || ce.File != path || ce.Line != 3 || ce.Key != "providers.github.colour" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		_, err := Load(dir, env, testKinds)
		var ce *Error
		if !errors.As(err, &ce) || errors.Is(err, ErrNotFound) || !strings.Contains(ce.Problem, "cannot be read") {
			t.Fatalf("err = %v, want a read error", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		path := filepath.Join(dir, "big.toml")
		big := strings.Repeat("# padding\n", MaxFileSize/10+1)
		if err := os.WriteFile(path, []byte(big), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path, env, testKinds)
		var ce *Error
		if !errors.As(err, &ce) || !strings.Contains(ce.Problem, "is larger than") {
			t.Fatalf("err = %v, want a size error", err)
		}
	})
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "/c.toml", Line: 4, Key: "providers.x.kind", Problem: "is required"}, "config /c.toml:4: providers.x.kind: is required"},
		{Error{File: "/c.toml", Key: "default_provider", Problem: "p"}, "config /c.toml: default_provider: p"},
		{Error{File: "/c.toml", Line: 2, Problem: "invalid TOML: x"}, "config /c.toml:2: invalid TOML: x"},
		{Error{Line: 2, Key: "k", Problem: "p"}, "config line 2: k: p"},
		{Error{Key: "k", Problem: "p"}, "config: k: p"},
		{Error{Problem: "p"}, "config: p"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"issuer", "client_id", "client_secret", "scopes", "kind"}
	tests := []struct{ word, want string }{
		{"isuer", "issuer"},
		{"isseur", "issuer"}, // transposition counts once
		{"clientid", "client_id"},
		{"Scopes", "scopes"},
		{"kin", "kind"},
		{"x", ""},  // too short to guess from
		{"id", ""}, // distance 2 but as long as the word
		{"colour", ""},
		{"client_secrets_file", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.word, keys); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

// TestProblemsStayWithTheirProvider: a half-configured provider or an
// unset ${VAR} makes that provider unusable, not the whole file.
func TestProblemsStayWithTheirProvider(t *testing.T) {
	f, err := Parse(testPath, []byte(doc(
		`default_provider = "github"`,
		`[providers.github]`, `client_id = "c"`,
		`[providers.acme]`, `client_id = "com.example"`,
		`[providers.google]`, `client_id = "g"`, `client_secret = "${UNSET_SECRET}"`,
	)), envFrom(nil), testKinds)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := f.Names(); !slices.Equal(got, []string{"acme", "github", "google"}) {
		t.Errorf("Names() = %v", got)
	}
	if p, err := f.Provider(""); err != nil || p.Name != "github" {
		t.Errorf("default provider: %v %v", p, err)
	}
	for name, key := range map[string]string{"acme": "providers.acme.key_file", "google": "providers.google.client_secret"} {
		_, err := f.Provider(name)
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != key || ce.File != testPath || ce.Line == 0 {
			t.Errorf("Provider(%q) error = %v, want one about %s", name, err, key)
		}
	}
	if e := f.Err(); e == nil || !strings.Contains(e.Error(), "providers.acme.key_file") {
		t.Errorf("Err() = %v, want the earliest problem (acme's)", e)
	}
	// Structural problems still fail the whole file.
	if _, err := Parse(testPath, []byte(doc(`[providers."Bad Name"]`, `client_id = "c"`)), nil, testKinds); err == nil {
		t.Error("an invalid provider name did not fail the file")
	}
}
