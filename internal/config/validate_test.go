package config

import (
	"slices"
	"strings"
	"testing"
)

// doc joins lines so that a test can count them: the Nth argument is line N.
func doc(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// oidcCorp is a valid oidc table starting at line 1, five lines long.
var oidcCorp = []string{
	`[providers.corp]`,
	`kind = "oidc"`,
	`issuer = "https://login.corp.example"`,
	`client_id = "authcli"`,
	`client_secret = "TOPSECRET-8c1f"`,
}

// corpWith is oidcCorp followed by extra lines (line 6 onwards).
func corpWith(extra ...string) string {
	return doc(append(append([]string(nil), oidcCorp...), extra...)...)
}

// oauth2Corp is a valid oauth2 table of six lines; extra lines start at 7.
func oauth2With(extra ...string) string {
	return doc(append([]string{
		`[providers.forge]`,
		`kind = "oauth2"`,
		`auth_url = "https://forge.example/oauth/authorize"`,
		`token_url = "https://forge.example/oauth/token"`,
		`userinfo_url = "https://forge.example/api/user"`,
		`client_id = "abc"`,
	}, extra...)...)
}

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		env    map[string]string
		key    string
		line   int
		phrase string
	}{
		// provider names
		{"uppercase name", doc(`[providers.Corp]`, `kind = "oidc"`), nil, "providers.Corp", 1, "not a valid provider name"},
		{"name starting with dash", doc(`[providers.-corp]`, `kind = "oidc"`), nil, "providers.-corp", 1, "starting with a letter or digit"},
		{"quoted name with space", doc(`[providers."my corp"]`, `kind = "oidc"`), nil, `providers."my corp"`, 1, "not a valid provider name"},

		// kinds
		{"kind required", doc(`[providers.corp]`, `client_id = "x"`), nil, "providers.corp.kind", 1, "is required (one of oidc, oauth2, google, github, gitlab, acme)"},
		{"generic kind is not implied", doc(`[providers.oidc]`, `issuer = "https://id.example"`, `client_id = "x"`), nil, "providers.oidc.kind", 1, "is required (one of oidc, oauth2"},
		{"unknown kind", doc(`[providers.corp]`, `kind = "saml"`, `client_id = "x"`), nil, "providers.corp.kind", 2, `unknown kind "saml"; valid kinds: oidc, oauth2, google, github, gitlab, acme`},
		{"kind suggestion", doc(`[providers.work]`, `kind = "Google"`, `client_id = "x"`), nil, "providers.work.kind", 2, "did you mean google?"},

		// generic requirements
		{"oidc needs client_id", doc(`[providers.corp]`, `kind = "oidc"`, `issuer = "https://id.example"`), nil, "providers.corp.client_id", 1, "is required"},
		{"preset needs client_id", doc(`[providers.google]`, `trust_email_verified = true`), nil, "providers.google.client_id", 1, "is required"},
		{"oauth2 claim path", oauth2With(`[providers.forge.claims]`, `subject = "data..id"`), nil, "providers.forge.claims.subject", 8, "dotted path"},
		{"claims only for oauth2", corpWith(`claims = { subject = "id" }`), nil, "providers.corp.claims", 6, "applies only to kind oauth2; other kinds read the profile"},
		{"require_iss without an issuer", doc(`[providers.github]`, `client_id = "c"`, `require_iss = true`), nil, "providers.github.require_iss", 3, "applies only to OpenID providers: the iss parameter is compared with the issuer, which kind github does not have"},

		// kind-only settings (testKinds' acme) and a kind's Check
		{"check: missing setting", doc(`[providers.acme]`, `client_id = "c"`), nil, "providers.acme.key_file", 1, "is required unless client_secret is set"},
		{"check: conflicting setting", doc(`[providers.acme]`, `client_id = "c"`, `client_secret = "TOPSECRET-8c1f"`, `key_file = "/k.pem"`), nil, "providers.acme.key_file", 4, "conflicts with client_secret"},
		{"check: earliest of several", doc(`[providers.acme]`, `client_id = "c"`, `client_secret = "TOPSECRET-8c1f"`, `key_file = "/k.pem"`, `region = "mars"`), nil, "providers.acme.key_file", 4, "conflicts with client_secret"},
		{"check: bad value", doc(`[providers.acme]`, `client_id = "c"`, `region = "mars"`, `key_file = "/k.pem"`), nil, "providers.acme.region", 3, "must be eu or us"},
		{"path setting without HOME", doc(`[providers.acme]`, `client_id = "c"`, `region = "us"`, `key_file = "~/acme.pem"`), map[string]string{}, "providers.acme.key_file", 4, "starts with ~/ but HOME is not set; write the full path"},
		{"path setting ~user", doc(`[providers.acme]`, `client_id = "c"`, `region = "us"`, `key_file = "~bob/acme.pem"`), nil, "providers.acme.key_file", 4, "only ~/ is expanded; write the full path"},
		{"setting of another kind", doc(`[providers.github]`, `client_id = "c"`, `region = "eu"`), nil, "providers.github.region", 3, "applies only to kind acme"},
		{"setting on a generic kind", corpWith(`key_file = "/k.pem"`), nil, "providers.corp.key_file", 6, "applies only to kind acme"},
		{"setting empty", doc(`[providers.acme]`, `client_id = "c"`, `client_secret = "s"`, `region = ""`), nil, "providers.acme.region", 4, "is empty; set a value or remove the line"},
		{"setting unset variable", doc(`[providers.acme]`, `client_id = "c"`, `client_secret = "s"`, `region = "${REGION}"`), map[string]string{}, "providers.acme.region", 4, "environment variable REGION is not set"},
		{"setting not a string", doc(`[providers.acme]`, `client_id = "c"`, `client_secret = "s"`, `region = 1`), nil, "providers.acme.region", 4, "must be a string"},
		{"key below a setting", doc(`[providers.acme]`, `client_id = "c"`, `client_secret = "s"`, `region.x = "eu"`), nil, "providers.acme.region", 4, "must be a string"},
		{"setting as a table", doc(`[providers.acme]`, `client_id = "c"`, `client_secret = "s"`, `[providers.acme.region]`, `x = 1`), nil, "providers.acme.region", 4, "must be a string"},
		{"setting in an inline table", doc(`providers = { acme = { client_id = "c", key_file = "~x" } }`), nil, "providers.acme.key_file", 1, "only ~/ is expanded"},

		// default_provider
		{"default names nothing", doc(`default_provider = "gihub"`, `[providers.github]`, `client_id = "c"`), nil, "default_provider", 1, `"gihub" is not a configured provider; configured providers: github; did you mean github?`},
		{"default without providers", doc(`default_provider = "github"`), nil, "default_provider", 1, "add a [providers.NAME] table"},
		{"default empty", doc(`default_provider = ""`), nil, "default_provider", 1, "is empty"},

		// URLs
		{"relative endpoint", corpWith(`token_url = "/oauth/token"`), nil, "providers.corp.token_url", 6, "must be an absolute URL"},
		{"unparsable endpoint", corpWith(`auth_url = "https://exa mple.com/a"`), nil, "providers.corp.auth_url", 6, "is not a valid URL"},
		{"http issuer", doc(`[providers.corp]`, `kind = "oidc"`, `issuer = "http://login.corp.example"`, `client_id = "x"`), nil, "providers.corp.issuer", 3, "use https"},
		{"http endpoint", corpWith(`userinfo_url = "http://api.corp.example/me"`), nil, "providers.corp.userinfo_url", 6, "only allowed for a loopback host; use https"},
		{"http to a name resolving to loopback", corpWith(`jwks_url = "http://127.0.0.1.nip.io/keys"`), nil, "providers.corp.jwks_url", 6, "use https"},
		{"ftp endpoint", corpWith(`revocation_url = "ftp://corp.example/revoke"`), nil, "providers.corp.revocation_url", 6, "must be an https URL"},
		{"credentials in URL", corpWith(`device_auth_url = "https://bob:TOPSECRET-8c1f@corp.example/device"`), nil, "providers.corp.device_auth_url", 6, "must not hold a user name or password"},
		{"issuer with query", doc(`[providers.corp]`, `kind = "oidc"`, `issuer = "https://login.corp.example/?tenant=1"`, `client_id = "x"`), nil, "providers.corp.issuer", 3, "must not have a ?query"},
		{"endpoint with fragment", corpWith(`token_url = "https://corp.example/token#x"`), nil, "providers.corp.token_url", 6, "#fragment"},
		{"redirect_uri must be https", doc(`[providers.acme]`, `client_id = "c"`, `client_secret = "s"`, `redirect_uri = "http://127.0.0.1/relay"`), nil, "providers.acme.redirect_uri", 4, "must use https"},
		{"secret URL from env is not echoed", doc(`[providers.corp]`, `kind = "oidc"`, `issuer = "${ISSUER}"`, `client_id = "x"`), map[string]string{"ISSUER": "http://TOPSECRET-8c1f.example"}, "providers.corp.issuer", 3, "use https"},

		// redirect settings
		{"redirect_host any", corpWith(`redirect_host = "0.0.0.0"`), nil, "providers.corp.redirect_host", 6, "must be 127.0.0.1 or localhost"},
		{"redirect_host ipv6", corpWith(`redirect_host = "::1"`), nil, "providers.corp.redirect_host", 6, "must be 127.0.0.1 or localhost"},
		{"redirect_port negative", corpWith(`redirect_port = -1`), nil, "providers.corp.redirect_port", 6, "between 0 and 65535"},
		{"redirect_port too big", corpWith(`redirect_port = 65536`), nil, "providers.corp.redirect_port", 6, "between 0 and 65535"},
		{"redirect_path relative", corpWith(`redirect_path = "callback"`), nil, "providers.corp.redirect_path", 6, "must start with /"},
		{"redirect_path query", corpWith(`redirect_path = "/cb?x=1"`), nil, "providers.corp.redirect_path", 6, "without ? or #"},
		{"redirect_path space", corpWith(`redirect_path = "/call back"`), nil, "providers.corp.redirect_path", 6, "spaces or control characters"},

		// grants
		{"unknown grant", corpWith(`grant = "implicit"`), nil, "providers.corp.grant", 6, "must be authorization_code or client_credentials"},
		{"client_credentials needs a secret", doc(`[providers.svc]`, `kind = "oauth2"`, `token_url = "https://svc.example/token"`, `client_id = "c"`, `grant = "client_credentials"`), nil, "providers.svc.client_secret", 1, "is required for the client_credentials grant"},

		// scopes
		{"empty scope list", corpWith(`scopes = []`), nil, "providers.corp.scopes", 6, "is an empty list"},
		{"empty scope", corpWith(`scopes = ["openid", ""]`), nil, "providers.corp.scopes", 6, "holds an empty scope"},
		{"scope with space", corpWith(`scopes = ["openid email"]`), nil, "providers.corp.scopes", 6, "list each scope as its own string"},
		{"duplicate scope", corpWith(`scopes = ["openid", "email", "openid"]`), nil, "providers.corp.scopes", 6, `lists "openid" twice`},

		// auth_params
		{"auth_params state", corpWith(`auth_params = { state = "fixed" }`), nil, "providers.corp.auth_params.state", 6, "is set by authcli"},
		{"auth_params PKCE method", corpWith(`[providers.corp.auth_params]`, `Code_Challenge_Method = "plain"`), nil, "providers.corp.auth_params.Code_Challenge_Method", 7, "PKCE"},
		{"auth_params scope", corpWith(`auth_params.scope = "openid"`), nil, "providers.corp.auth_params.scope", 6, "list them there"},
		{"auth_params client_secret", corpWith(`auth_params.client_secret = "x"`), nil, "providers.corp.auth_params.client_secret", 6, "never be sent to the browser"},
		{"auth_params empty name", corpWith(`auth_params = { "" = "x" }`), nil, "providers.corp.auth_params", 6, "empty name"},
		{"auth_params empty value", corpWith(`auth_params = { prompt = "" }`), nil, "providers.corp.auth_params.prompt", 6, "is empty"},

		// empty and mistyped values
		{"empty client_id", doc(`[providers.github]`, `client_id = ""`), nil, "providers.github.client_id", 2, "is empty"},
		{"port as string", corpWith(`redirect_port = "8080"`), nil, "providers.corp.redirect_port", 6, "must be an integer"},
		{"port as float", corpWith(`redirect_port = 8080.5`), nil, "providers.corp.redirect_port", 6, "must be an integer"},
		{"bool as string", corpWith(`trust_email_verified = "yes"`), nil, "providers.corp.trust_email_verified", 6, "must be true or false"},
		{"scopes as string", corpWith(`scopes = "openid email"`), nil, "providers.corp.scopes", 6, "must be a list of strings"},
		{"scopes of numbers", corpWith(`scopes = [1, 2]`), nil, "providers.corp.scopes", 6, "must be a list of strings"},
		{"auth_params of numbers", corpWith(`auth_params = { max_age = 0 }`), nil, "providers.corp.auth_params", 6, "must be a table of strings"},
		{"provider as a value", doc(`[providers]`, `client_id = "x"`), nil, "providers.client_id", 2, "provider settings go in a [providers.NAME] table"},
		{"providers as a value", doc(`providers = 3`), nil, "providers", 1, "must be a table"},
		{"key below a string", corpWith(`display_name.short = "C"`), nil, "providers.corp.display_name", 6, "must be a string"},

		// ${VAR} expansion
		{"unset variable", doc(`[providers.github]`, `client_id = "c"`, `client_secret = "${GITHUB_CLIENT_SECRET}"`), map[string]string{}, "providers.github.client_secret", 3, "environment variable GITHUB_CLIENT_SECRET is not set"},
		{"empty variable", doc(`[providers.github]`, `client_id = "${ID}"`), map[string]string{"ID": ""}, "providers.github.client_id", 2, "environment variable ID is not set"},
		{"lone dollar", doc(`[providers.github]`, `client_id = "c"`, `client_secret = "TOPSECRET-8c1f$x"`), nil, "providers.github.client_secret", 3, "write $$ for a literal $"},
		{"unterminated reference", doc(`[providers.github]`, `client_id = "c"`, `client_secret = "${TOPSECRET-8c1f"`), nil, "providers.github.client_secret", 3, "without a closing }"},
		{"bad variable name", doc(`[providers.github]`, `client_id = "c"`, `client_secret = "${TOPSECRET-8c1f}"`), nil, "providers.github.client_secret", 3, "not a variable name"},
		{"variable in scopes", corpWith(`scopes = ["openid", "${EXTRA_SCOPE}"]`), map[string]string{}, "providers.corp.scopes", 6, "environment variable EXTRA_SCOPE is not set"},
		{"variable in claims", oauth2With(`claims.email = "${EMAIL_PATH}"`), map[string]string{}, "providers.forge.claims.email", 7, "environment variable EMAIL_PATH is not set"},
		{"variable in default_provider", doc(`default_provider = "${AUTHCLI_DEFAULT}"`), map[string]string{}, "default_provider", 1, "environment variable AUTHCLI_DEFAULT is not set"},
		{"variable in auth_params", corpWith(`auth_params.login_hint = "${HINT}"`), map[string]string{}, "providers.corp.auth_params.login_hint", 6, "environment variable HINT is not set"},

		// inline tables keep their lines
		{"inline table line", doc(`default_provider = "corp"`, ``, `providers = { corp = { kind = "oidc", issuer = "http://corp.example", client_id = "x" } }`), nil, "providers.corp.issuer", 3, "use https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env
			if env == nil {
				env = baseEnv
			}
			e := parseErr(t, tt.doc, env)
			checkErr(t, e, tt.key, tt.line, tt.phrase)
			want := "config " + testPath + ":"
			if !strings.HasPrefix(e.Error(), want) || !strings.Contains(e.Error(), ": "+tt.key+": ") {
				t.Errorf("Error() = %q, want it to start with %q and name %s", e.Error(), want, tt.key)
			}
		})
	}
}

// TestFirstErrorInFile checks that of several problems the one reported is
// the earliest in the file, not the first provider in alphabetical order.
func TestFirstErrorInFile(t *testing.T) {
	d := doc(
		`[providers.zeta]`,
		`kind = "oidc"`,
		`issuer = "http://zeta.example"`,
		`client_id = "z"`,
		`[providers.alpha]`,
		`kind = "oidc"`,
		`issuer = "ftp://alpha.example"`,
		`client_id = "a"`,
	)
	e := parseErr(t, d, baseEnv)
	checkErr(t, e, "providers.zeta.issuer", 3, "use https")
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		key    string
		line   int
		phrase string
		noHint bool
	}{
		{"misspelt issuer", corpWith(`isuer = "https://x.example"`), "providers.corp.isuer", 6, "unknown key; did you mean issuer?", false},
		{"transposed letters", corpWith(`redirect_prot = 8080`), "providers.corp.redirect_prot", 6, "did you mean redirect_port?", false},
		{"misspelt default_provider", doc(`default_provder = "corp"`), "default_provder", 1, "did you mean default_provider?", false},
		{"misspelt providers table", doc(`[provider.corp]`, `kind = "oidc"`), "provider", 1, "did you mean providers?", false},
		{"misspelt claim", oauth2With(`[providers.forge.claims]`, `subjet = "id"`), "providers.forge.claims.subjet", 8, "did you mean subject?", false},
		{"dotted unknown key", corpWith(`claims.avatar = "pic"`), "providers.corp.claims.avatar", 6, "unknown key", true},
		{"far from anything", corpWith(`colour = "blue"`), "providers.corp.colour", 6, "unknown key", true},
		{"provider setting at top level", doc(`client_id = "x"`, `[providers.github]`, `client_id = "c"`), "client_id", 1, "the top level holds only default_provider and [providers.NAME], [git.\"HOST\"] and [docker.\"HOST\"] tables", true},
		{"provider table at top level", doc(`[github]`, `client_id = "c"`), "github", 1, "the top level holds only", true},
		{"first of several", corpWith(`colour = "blue"`, `isuer = "x"`), "providers.corp.colour", 6, "unknown key", true},
		{"unknown subtable", corpWith(`[providers.corp.extra]`, `x = 1`), "providers.corp.extra", 6, "unknown key", true},
		{"unknown key in an inline table", doc(`providers = { corp = { kind = "oidc", isuer = "https://x.example" } }`), "providers.corp.isuer", 1, "unknown key; did you mean issuer?", false},
		{"misspelt setting", doc(`[providers.acme]`, `client_id = "c"`, `regoin = "us"`), "providers.acme.regoin", 3, "unknown key; did you mean region?", false},
		{"misspelt setting on another kind", corpWith(`key_fil = "/k.pem"`), "providers.corp.key_fil", 6, "did you mean key_file?", false},
		{"setting at the top level", doc(`region = "eu"`), "region", 1, "the top level holds only", true},
		{"setting in a route table", doc(`[providers.github]`, `client_id = "c"`, `[git."github.com"]`, `provider = "github"`, `region = "eu"`), `git."github.com".region`, 5, "unknown key", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := parseErr(t, tt.doc, baseEnv)
			checkErr(t, e, tt.key, tt.line, tt.phrase)
			if tt.noHint && strings.Contains(e.Problem, "did you mean") {
				t.Errorf("Problem = %q suggests a key, want no suggestion", e.Problem)
			}
		})
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		line int
	}{
		{"missing equals", corpWith(`scopes ["openid"]`), 6},
		{"unterminated secret", doc(`[providers.github]`, `client_id = "c"`, `client_secret = "TOPSECRET-8c1f`), 3},
		{"newline in string", doc(`[providers.github]`, `client_secret = "TOPSECRET`, `-8c1f"`), 2},
		{"duplicate key", doc(`[providers.github]`, `client_id = "a"`, `client_id = "b"`), 3},
		{"duplicate table", doc(`[providers.github]`, `client_id = "a"`, `[providers.github]`), 3},
		{"array of tables", doc(`[[providers]]`, `kind = "oidc"`), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := parseErr(t, tt.doc, baseEnv)
			if e.File != testPath || e.Line != tt.line {
				t.Errorf("error %q: file %q line %d, want %q line %d", e, e.File, e.Line, testPath, tt.line)
			}
			if e.Problem == "" {
				t.Error("empty Problem")
			}
		})
	}
}

// TestSharedRedirects: two providers on one loopback redirect URI are both
// refused unless both require iss; the default paths never collide.
func TestSharedRedirects(t *testing.T) {
	table := func(name, extra string) string {
		return "[providers." + name + "]\nkind = \"oidc\"\nissuer = \"https://" + name + ".example\"\nclient_id = \"c\"\n" + extra + "\n"
	}
	tests := []struct {
		name    string
		doc     string
		refused []string
	}{
		{"default paths", table("a", "") + table("b", ""), nil},
		{"same path", table("a", `redirect_path = "/cb"`) + table("b", `redirect_path = "/cb"`), []string{"a", "b"}},
		{"one path, other port", table("a", "redirect_path = \"/cb\"\nredirect_port = 1000") + table("b", "redirect_path = \"/cb\"\nredirect_port = 2000"), []string{"a", "b"}},
		{"same path, other host", table("a", `redirect_path = "/cb"`) + table("b", "redirect_path = \"/cb\"\nredirect_host = \"localhost\""), nil},
		{"same path, one requires iss", table("a", "redirect_path = \"/cb\"\nrequire_iss = true") + table("b", `redirect_path = "/cb"`), []string{"a", "b"}},
		{"same path, both require iss", table("a", "redirect_path = \"/cb\"\nrequire_iss = true") + table("b", "redirect_path = \"/cb\"\nrequire_iss = true"), nil},
		{"b's explicit path is a's default", table("a", "") + table("b", `redirect_path = "/callback/a"`), []string{"a", "b"}},
	}
	for _, tt := range tests {
		f, err := Parse("config.toml", []byte(tt.doc), nil, testKinds)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for _, name := range []string{"a", "b"} {
			_, perr := f.Provider(name)
			refused := slices.Contains(tt.refused, name)
			if (perr != nil) != refused {
				t.Errorf("%s: provider %s: err %v, want refused %t", tt.name, name, perr, refused)
			}
			if perr != nil && !strings.Contains(perr.Error(), "mix-up") {
				t.Errorf("%s: %v does not explain the mix-up", tt.name, perr)
			}
		}
	}
	f, err := Parse("config.toml", []byte("[providers.gh]\nkind = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"\nrequire_iss = true\n"), nil, testKinds)
	if err != nil {
		t.Fatal(err)
	}
	if _, perr := f.Provider("gh"); perr == nil || !strings.Contains(perr.Error(), "require_iss") {
		t.Errorf("require_iss for GitHub, which has no issuer: %v", perr)
	}
}

func TestRegisteredRedirect(t *testing.T) {
	for _, tt := range []struct{ extra, want string }{
		{"", "http://127.0.0.1/callback/corp"},
		{"redirect_port = 8085", "http://127.0.0.1:8085/callback/corp"},
		{"redirect_host = \"localhost\"\nredirect_path = \"/oauth\"", "http://localhost/oauth"},
	} {
		f, err := Parse("config.toml", []byte("[providers.corp]\nkind = \"oidc\"\nissuer = \"https://corp.example\"\nclient_id = \"c\"\n"+tt.extra+"\n"), nil, testKinds)
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.Provider("corp")
		if err != nil {
			t.Fatal(err)
		}
		if got := p.RegisteredRedirect(); got != tt.want {
			t.Errorf("%q: %s, want %s", tt.extra, got, tt.want)
		}
	}
}
