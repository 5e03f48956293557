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

// mustParse parses doc and fails the test on error.
func mustParse(t *testing.T, doc string) *File {
	t.Helper()
	f, err := Parse(testPath, []byte(doc), envFrom(baseEnv))
	if err != nil {
		t.Fatalf("Parse: %v\ndocument:\n%s", err, doc)
	}
	return f
}

// parseErr parses doc, which must fail, and returns the *Error.
func parseErr(t *testing.T, doc string, env map[string]string) *Error {
	t.Helper()
	f, err := Parse(testPath, []byte(doc), envFrom(env))
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
