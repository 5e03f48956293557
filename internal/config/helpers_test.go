package config

import (
	"errors"
	"strings"
	"testing"
)

// testPath is the file name every parsed test document claims to come from.
const testPath = "/home/alice/.config/authcli/config.toml"

// secretValue appears in test documents and environments; no error may show it.
const secretValue = "TOPSECRET-8c1f"

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// baseEnv is the environment most tests parse with.
var baseEnv = map[string]string{
	"GITHUB_CLIENT_SECRET": secretValue,
	"HOME":                 "/home/alice",
}

// testKinds is the catalog the tests parse with: config knows no kind of
// its own, and the real ones (internal/provider) are tested there. The
// generic kinds and the presets keep the names the documents use; acme is
// a preset with settings of its own and rules about them.
var testKinds = []Kind{
	{Name: "oidc", OpenID: true},
	{Name: "oauth2", Claims: true},
	{Name: "google", Brand: "Google", OpenID: true},
	{Name: "github", Brand: "GitHub"},
	{Name: "gitlab", Brand: "GitLab", OpenID: true},
	{
		Name: "acme", Brand: "Acme", OpenID: true,
		Settings: []Setting{{Key: "region", Default: "eu"}, {Key: "key_file", Path: true}},
		Check:    checkAcme,
	},
}

// checkAcme wants a known region and, without a client_secret, a key.
func checkAcme(p *Provider) error {
	var errs []error
	if r := p.Settings["region"]; r != "eu" && r != "us" {
		errs = append(errs, &KeyError{Key: "region", Problem: "must be eu or us"})
	}
	_, key := p.Settings["key_file"]
	switch {
	case key && p.ClientSecret != "":
		errs = append(errs, &KeyError{Key: "key_file", Problem: "conflicts with client_secret"})
	case !key && p.ClientSecret == "":
		errs = append(errs, &KeyError{Key: "key_file", Problem: "is required unless client_secret is set"})
	}
	return errors.Join(errs...)
}

// mustParse parses doc and fails the test on error.
func mustParse(t *testing.T, doc string) *File {
	t.Helper()
	f, err := Parse(testPath, []byte(doc), envFrom(baseEnv), testKinds)
	if err != nil {
		t.Fatalf("Parse: %v\ndocument:\n%s", err, doc)
	}
	return f
}

// parseErr parses doc, which must fail, and returns the *Error.
func parseErr(t *testing.T, doc string, env map[string]string) *Error {
	t.Helper()
	f, err := Parse(testPath, []byte(doc), envFrom(env), testKinds)
	if err == nil {
		// A problem inside one provider table stays with that provider.
		err = f.Err()
	}
	if err == nil {
		t.Fatalf("Parse succeeded (%d providers), want an error\ndocument:\n%s", len(f.Providers), doc)
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %T %q is not a *Error", err, err)
	}
	if strings.Contains(err.Error(), secretValue) {
		t.Fatalf("error shows the secret value: %q", err)
	}
	return ce
}

// checkErr asserts the file, key, line and a phrase of the problem.
func checkErr(t *testing.T, e *Error, key string, line int, phrase string) {
	t.Helper()
	if e.File != testPath {
		t.Errorf("File = %q, want %q", e.File, testPath)
	}
	if e.Key != key {
		t.Errorf("Key = %q, want %q (error: %v)", e.Key, key, e)
	}
	if e.Line != line {
		t.Errorf("Line = %d, want %d (error: %v)", e.Line, line, e)
	}
	if !strings.Contains(e.Problem, phrase) {
		t.Errorf("Problem = %q, want it to contain %q", e.Problem, phrase)
	}
}
