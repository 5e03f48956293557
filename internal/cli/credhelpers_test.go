package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/config"
)

func TestIsDockerCredentialHelper(t *testing.T) {
	for argv0, want := range map[string]bool{
		"docker-credential-authcli":                  true,
		"/usr/bin/docker-credential-authcli":         true,
		`C:\tools\docker-credential-authcli.exe`:     true,
		"authcli":                                    false,
		"/usr/bin/authcli":                           false,
		"docker-credential-authcli-old":              false,
		"/opt/docker-credential-authcli/bin/authcli": false,
	} {
		if got := IsDockerCredentialHelper(filepath.FromSlash(strings.ReplaceAll(argv0, `\`, "/"))); got != want {
			t.Errorf("%q: %t, want %t", argv0, got, want)
		}
	}
}

func testEnv(t *testing.T, vars map[string]string) (*Env, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var out, errb bytes.Buffer
	return &Env{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: func(k string) string { return vars[k] }, Now: time.Now}, &out, &errb
}

func TestRunDockerCredentialErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte("[providers.github]\nclient_id = \"c\"\n[docker.\"ghcr.io\"]\nprovider = \"gthub\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env, out, errb := testEnv(t, map[string]string{"AUTHCLI_CONFIG": cfg, "AUTHCLI_STATE_DIR": dir})
	// A bad route: the protocol gets the message on stdout, the person on
	// stderr, and it names file, line and key.
	if code := RunDockerCredential(context.Background(), env, []string{"get"}); code != ExitFailure {
		t.Errorf("exit %d", code)
	}
	for _, s := range []string{out.String(), errb.String()} {
		if !strings.Contains(s, cfg+":4: docker.\"ghcr.io\".provider") || !strings.Contains(s, "did you mean github?") {
			t.Errorf("message %q", s)
		}
	}
	env, out, errb = testEnv(t, nil)
	if code := RunDockerCredential(context.Background(), env, nil); code != ExitFailure || !strings.Contains(errb.String(), "usage: docker-credential-authcli") || out.Len() != 0 {
		t.Errorf("no action: exit %d %q %q", code, out, errb)
	}
}

func TestSetupHost(t *testing.T) {
	for in, want := range map[string]string{
		"GitHub.com":                "github.com",
		"https://git.example:8443/": "git.example:8443",
		"http://git.example":        "",
		"git.example/org":           "",
	} {
		got, err := setupHost("--host", in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("%q: %q %v", in, got, err)
		}
		var ee *exitError
		if err != nil && (!errors.As(err, &ee) || ee.code != ExitUsage) {
			t.Errorf("%q: %v is not a usage error", in, err)
		}
	}
}

func TestRouteUsername(t *testing.T) {
	for _, tt := range []struct {
		r    config.Route
		want string
	}{
		{config.Route{Kind: "github"}, "x-access-token"},
		{config.Route{Kind: "gitlab"}, "oauth2"},
		{config.Route{Kind: "oidc"}, "oauth2"},
		{config.Route{Kind: "github", Username: "ada"}, "ada"},
	} {
		if got := routeUsername(tt.r); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestExecutable(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "authcli")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	self := func() (string, error) { return bin, nil }
	found := func(string) (string, error) { return bin, nil }
	other := func(string) (string, error) { return "/usr/bin/true", nil }
	if got, _ := executable(self, found); got != "authcli" {
		t.Errorf("in PATH: %q", got)
	}
	if got, _ := executable(self, other); got != bin {
		t.Errorf("another authcli in PATH: %q", got)
	}
}

func TestExecCredentialBadInfo(t *testing.T) {
	env, out, _ := testEnv(t, map[string]string{"KUBERNETES_EXEC_INFO": `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1"}`})
	err := runToken(context.Background(), env, &tokenOptions{globalOptions: &globalOptions{}, Provider: "x", Format: "exec-credential", MinTTL: time.Minute})
	code, msg := describe(err)
	if code != ExitUsage || !strings.Contains(msg, "v1alpha1") || out.Len() != 0 {
		t.Errorf("exit %d %q", code, msg)
	}
}

// TestDockerNameRunsTheRefreshWorker: where os.Executable keeps the
// link's name (macOS), the detached refresh starts as
// docker-credential-authcli __refresh …, which must reach authcli's
// command, not docker's protocol.
func TestDockerNameRunsTheRefreshWorker(t *testing.T) {
	// Without its arguments the worker stops at cobra's argument check,
	// before it would adopt a lock: enough to see who answered.
	env, out, errb := testEnv(t, map[string]string{"AUTHCLI_STATE_DIR": t.TempDir()})
	code := RunDockerCredential(context.Background(), env, []string{refreshWorkerCmd})
	if code != ExitUsage || !strings.Contains(errb.String(), "usage: authcli "+refreshWorkerCmd) || out.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q: not authcli's refresh worker", code, out, errb)
	}
}
