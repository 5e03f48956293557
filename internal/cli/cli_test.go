package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/auth"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

func TestDescribeExitCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code int
		text string
	}{
		{"usage", usageErrorf("--format must be raw"), ExitUsage, "--format"},
		{"config", &config.Error{File: "c.toml", Key: "providers.x.issuer", Problem: "must use https"}, ExitUsage, "c.toml: providers.x.issuer"},
		{"config missing", &config.Error{File: "c.toml", Problem: "file does not exist", Err: config.ErrNotFound}, ExitUsage, "does not exist"},
		{"timeout", flow.ErrTimeout, ExitFailure, "--timeout"},
		{"device timeout", flow.ErrDeviceTimeout, ExitFailure, "code was not approved within --timeout"},
		{"canceled", flow.ErrCanceled, ExitInterrupted, "canceled"},
		{"denied at the provider", &flow.ProviderError{Stage: "authorization", Code: "access_denied", Description: "no"}, ExitFailure, "allow access"},
		{"refresh rejected", &auth.IdentityError{Provider: "corp", Err: fmt.Errorf("%w: %w", auth.ErrSignInRequired, &flow.ProviderError{Stage: "refresh", Code: "invalid_grant"})}, ExitSignIn, "cannot be refreshed (the provider refused the refresh request (invalid_grant)); sign in again with: authcli login corp"},
		{"refresh answer failed a check", &auth.IdentityError{Provider: "corp", Err: fmt.Errorf("%w: %w: bad signature", flow.ErrRefreshCheck, flow.ErrIDToken)}, ExitFailure, "refresh failed verification (the ID token failed verification: bad signature); its new refresh token was kept"},
		{"provider down", &auth.IdentityError{Provider: "corp", Err: fmt.Errorf("%w: discovery: dial tcp 127.0.0.1:9: connection refused", flow.ErrUnreachable)}, ExitFailure, "the corp provider could not be reached (discovery: dial tcp 127.0.0.1:9: connection refused); check the network"},
		{"not configured", &config.Error{File: "c.toml", Problem: "no provider named \"nosuch\" is configured; configured providers: corp", Err: config.ErrUnknownProvider}, ExitUsage, "configured providers: corp"},
		{"no identity", &auth.IdentityError{Provider: "corp", Account: "ada", Err: auth.ErrNoIdentity}, ExitSignIn, "no corp identity is signed in on account ada; sign in with: authcli login corp"},
		{"machine identity has no sign-in", &auth.IdentityError{Provider: "robot", Err: auth.ErrNoBrowserSignIn}, ExitUsage, "authcli token robot"},
		{"no ID token", auth.ErrNoIDToken, ExitUsage, "without --id-token"},
		{"lock wait", tokens.ErrLockWait, ExitFailure, "try again"},
		{"start link reused", flow.ErrStartReused, ExitFailure, "run the command again"},
		{"redirect off origin", fmt.Errorf("refresh: %w", flow.ErrRedirect), ExitFailure, "nothing was sent there"},
		{"ID token", fmt.Errorf("%w: bad signature", flow.ErrIDToken), ExitFailure, "sign-in refused"},
		{"mix-up", flow.ErrIssuerMismatch, ExitFailure, "mix-up"},
		{"needs link", fmt.Errorf("%w: run authcli link x --account a", accounts.ErrNeedsLink), ExitNeedsLink, "nothing was stored"},
		{"last identity", fmt.Errorf("%w: only way", accounts.ErrLastIdentity), ExitUsage, "only way"},
		{"no linked identity", fmt.Errorf("%w: none", accounts.ErrNotFound), ExitSignIn, "none"},
		{"keyring", fmt.Errorf("read: %w", vault.ErrUnavailable), ExitVault, "AUTHCLI_VAULT=file"},
		{"file vault key", vault.ErrDecrypt, ExitVault, "AUTHCLI_VAULT_KEY"},
		{"no key", vault.ErrNoKey, ExitVault, "AUTHCLI_VAULT_KEY"},
		{"device denied", flow.ErrDeviceDenied, ExitFailure, "approve"},
		{"no companion", &companionError{command: "demo", path: "/opt/authcli/authcli-ui", err: fs.ErrNotExist}, ExitFailure, "authcli demo runs authcli-ui, which is missing or cannot run (/opt/authcli/authcli-ui: file does not exist); reinstall authcli"},
		{"other", errors.New("network down"), ExitFailure, "network down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := describe(tt.err)
			if code != tt.code {
				t.Errorf("code %d, want %d", code, tt.code)
			}
			if !strings.Contains(msg, tt.text) {
				t.Errorf("message %q lacks %q", msg, tt.text)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("message spans lines: %q", msg)
			}
		})
	}
}

func TestPrintToken(t *testing.T) {
	rec := tokens.Record{AccessToken: "at'x", IDToken: "idt", Expiry: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), Scopes: []string{"openid"}}
	tests := []struct {
		format string
		id     bool
		want   string
	}{
		{"raw", false, "at'x\n"},
		{"raw", true, "idt\n"},
		{"json", false, `{"access_token":"at'x","token_type":"Bearer","expiry":"2026-11-23T12:00:00Z","scopes":["openid"],"id_token":"idt"}` + "\n"},
		{"env", false, "AUTHCLI_ACCESS_TOKEN='at'\\''x'\nAUTHCLI_TOKEN_TYPE='Bearer'\nAUTHCLI_TOKEN_EXPIRY=2026-11-23T12:00:00Z\nAUTHCLI_ID_TOKEN='idt'\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := printToken(&b, rec, tt.format, tt.id); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("%s id=%t:\n got %q\nwant %q", tt.format, tt.id, b.String(), tt.want)
		}
	}
	if err := printToken(&bytes.Buffer{}, tokens.Record{AccessToken: "a"}, "raw", true); err == nil {
		t.Error("--id-token without an ID token printed something")
	}
}

func TestConfirmLink(t *testing.T) {
	in := accounts.SignIn{Provider: "gh", Profile: accounts.Profile{Subject: "1", Email: "ada@example.com"}}
	r := accounts.Resolution{Outcome: accounts.NeedsLink, Account: "ada", Candidate: "ada"}
	tests := []struct {
		name        string
		yes, tty    bool
		input, want string
		ok          bool
	}{
		{"--yes", true, false, "", "", true},
		{"no terminal", false, false, "y\n", "", false},
		{"terminal yes", false, true, "y\n", "Link it to account ada?", true},
		{"terminal default no", false, true, "\n", "by its verified email", false},
		{"terminal eof", false, true, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errb bytes.Buffer
			env := &Env{In: strings.NewReader(tt.input), Err: &errb, InTTY: tt.tty, ErrTTY: tt.tty}
			ok, err := confirmLink(env, &globalOptions{Yes: tt.yes})(in, r)
			if err != nil || ok != tt.ok {
				t.Errorf("ok=%t err=%v, want %t", ok, err, tt.ok)
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("prompt %q lacks %q", errb.String(), tt.want)
			}
		})
	}
}

func TestHealthText(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		id   accounts.Identity
		want string
	}{
		{accounts.Identity{Provider: "g", TokenExpiry: now.Add(52 * time.Minute)}, "valid, expires in 52m0s"},
		{accounts.Identity{Provider: "g"}, "valid, no expiry"},
		{accounts.Identity{Provider: "g", TokenExpiry: now.Add(3 * time.Minute)}, "expires in 3m0s"},
		{accounts.Identity{Provider: "g", TokenExpiry: now.Add(-time.Minute), Refreshable: true}, "expired (refreshes on next use)"},
		{accounts.Identity{Provider: "g", TokenExpiry: now.Add(-time.Minute)}, "expired: authcli login g"},
		{accounts.Identity{Provider: "g", NeedsSignIn: true}, "needs sign-in: authcli login g"},
	}
	for _, tt := range tests {
		if got := healthText(tt.id, now); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.id, got, tt.want)
		}
	}
}

// TestRunUsageErrors: mistakes in how authcli is called exit 2 with one
// sentence, before touching the network or the vault.
func TestRunUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"token", "--format", "yaml"},
		{"token", "--min-ttl", "-1s"},
		{"login", "--timeout", "0s"},
		{"logout"},
		{"link", "github"},
		{"exec", "--env", "1BAD", "--", "true"},
		{"nosuchcommand"},
		{"status", "--nosuchflag"},
	} {
		var out, errb bytes.Buffer
		env := &Env{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: func(string) string { return "" }, Now: time.Now}
		env.Getenv = func(k string) string {
			return map[string]string{"AUTHCLI_STATE_DIR": t.TempDir(), "AUTHCLI_CONFIG": t.TempDir() + "/none.toml", "HOME": t.TempDir()}[k]
		}
		code := Run(context.Background(), env, args)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
		if lines := strings.Count(strings.TrimSpace(errb.String()), "\n"); lines != 0 || !strings.HasPrefix(errb.String(), "authcli: ") {
			t.Errorf("%v: stderr is not one authcli: line: %q", args, errb.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	env := &Env{Out: &out, Err: os.Stderr, Getenv: os.Getenv, Build: BuildInfo{Version: "v1.2.3", Commit: "abc", Date: "2026-11-23"}}
	if code := Run(context.Background(), env, []string{"version"}); code != 0 {
		t.Fatal(code)
	}
	if !strings.HasPrefix(out.String(), "authcli v1.2.3 (commit abc, built 2026-11-23") {
		t.Errorf("version: %q", out.String())
	}
}

func TestIsEnvName(t *testing.T) {
	for s, want := range map[string]bool{
		"TOKEN": true, "_x": true, "a1_B2": true, "A": true,
		"": false, "1A": false, "A-B": false, "A B": false, "Ä": false, "A=": false, "9": false,
	} {
		if got := isEnvName(s); got != want {
			t.Errorf("isEnvName(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestCompanionPath: authcli-ui is looked for beside the program a link
// leads to (docker-credential-authcli, a link in ~/bin), not beside the link.
func TestCompanionPath(t *testing.T) {
	release, bin := t.TempDir(), t.TempDir()
	exe := filepath.Join(release, "authcli")
	if err := os.WriteFile(exe, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(bin, "docker-credential-authcli")
	if err := os.Symlink(exe, link); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	want := filepath.Join(release, "authcli-ui")
	if runtime.GOOS == "windows" {
		want += ".exe"
	}
	// TempDir may itself sit behind a link (macOS /var): compare resolved.
	if dir, err := filepath.EvalSymlinks(release); err == nil {
		want = filepath.Join(dir, filepath.Base(want))
	}
	for _, from := range []string{exe, link} {
		got, err := companionPath(func() (string, error) { return from, nil })
		if err != nil || got != want {
			t.Errorf("companionPath from %s = %q, %v; want %q", from, got, err, want)
		}
	}
	if _, err := companionPath(func() (string, error) { return "", errors.New("no /proc") }); err == nil {
		t.Error("companionPath without an executable path succeeded")
	}
}

// TestExecutableLeanSibling: authcli-ui configures tools to run the lean
// authcli beside it; anything else configures itself.
func TestExecutableLeanSibling(t *testing.T) {
	ext := ""
	if runtime.GOOS == "windows" {
		ext = ".exe"
	}
	dir := t.TempDir()
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	ui, lean := filepath.Join(dir, "authcli-ui"+ext), filepath.Join(dir, "authcli"+ext)
	alone := filepath.Join(t.TempDir(), "authcli-ui"+ext)
	for _, p := range []string{ui, lean, alone} {
		if err := os.WriteFile(p, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	noPath := func(string) (string, error) { return "", errors.New("not in PATH") }
	for _, tt := range []struct{ self, want string }{
		{ui, lean},
		{lean, lean},
		{alone, alone}, // no lean authcli beside it
	} {
		got, err := executable(func() (string, error) { return tt.self, nil }, noPath)
		if err != nil || got != tt.want {
			t.Errorf("executable() as %s = %q, %v; want %q", tt.self, got, err, tt.want)
		}
	}
	// In PATH as authcli, it is named so.
	inPath := func(string) (string, error) { return lean, nil }
	if got, _ := executable(func() (string, error) { return ui, nil }, inPath); got != "authcli" {
		t.Errorf("executable() with the lean authcli in PATH = %q, want authcli", got)
	}
}

// TestSubcommandNames: each entry of subcommands builds the command its
// name says, so namedCommand's choice is the command cobra would find.
func TestSubcommandNames(t *testing.T) {
	env, _, _ := testEnv(t, nil)
	g := &globalOptions{}
	for _, c := range subcommands {
		if got := c.new(env, g).Name(); got != c.name {
			t.Errorf("subcommands entry %q builds %q", c.name, got)
		}
	}
	if got := len(newRoot(env, "").Commands()); got < len(subcommands) {
		t.Errorf("the whole tree has %d commands, subcommands %d", got, len(subcommands))
	}
}

// TestNamedCommandAgrees: a command line that names a command gets the
// same output, errors and exit code from the tree of that one command
// (what Run builds) as from the whole tree.
func TestNamedCommandAgrees(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte("[providers.corp]\nkind = \"oidc\"\nissuer = \"https://id.example.com\"\nclient_id = \"c\"\n[git.\"git.example.com\"]\nprovider = \"corp\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"AUTHCLI_CONFIG": cfg, "AUTHCLI_STATE_DIR": filepath.Join(dir, "state"), "HOME": dir,
		"AUTHCLI_VAULT": "file", "AUTHCLI_VAULT_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
	lines := [][]string{
		{"token"}, {"token", "corp"}, {"token", "nosuch"}, {"token", "corp", "--format", "yaml"},
		{"token", "corp", "--min-ttl", "x"}, {"token", "corp", "--id-token", "--subject", "s"},
		{"token", "-v", "corp"}, {"token", "--config", cfg, "corp"}, {"token", "corp", "--", "x"},
		{"exec"}, {"exec", "--", "true"}, {"exec", "--env", "1BAD", "--", "true"}, {"exec", "--provider", "corp"},
		{"git-credential"}, {"git-credential", "get"}, {"git-credential", "bogus"}, {"git-credential", "store"},
		{"status"}, {"status", "--json"}, {"providers"}, {"providers", "--json"}, {"version"}, {"version", "x"},
		{"logout"}, {"unlink", "corp"}, {"setup-git"}, {"setup-docker", "corp"}, {"setup-kubectl"},
		{"agent"}, {"agent", "nosuch"}, {"agent", "status"}, {"agent", "start", "--help"},
		{refreshWorkerCmd}, {"accounts"}, {"accounts", "x"}, {"demo", "x"}, {"demo", "--access-token-ttl", "0s"},
	}
	for _, c := range subcommands {
		lines = append(lines, []string{c.name, "--help"}, []string{c.name, "-h"}, []string{c.name, "--bogus"},
			[]string{c.name, "--acount", "a"}, []string{c.name, "a", "b", "c", "d"})
	}
	for _, args := range lines {
		only := namedCommand(args)
		if only != args[0] {
			t.Fatalf("namedCommand(%q) = %q", args, only)
		}
		type outcome struct {
			code        int
			out, errout string
		}
		do := func(only string) outcome {
			env, out, errb := testEnv(t, vars)
			code := run(context.Background(), env, args, only)
			return outcome{code, out.String(), errb.String()}
		}
		if one, all := do(only), do(""); one != all {
			t.Errorf("authcli %q differs:\none command: %+v\nwhole tree:  %+v", args, one, all)
		}
	}
	for _, args := range [][]string{nil, {}, {"help", "token"}, {"--config", cfg, "token"}, {"completion", "bash"}, {"tokn"}} {
		if only := namedCommand(args); only != "" {
			t.Errorf("namedCommand(%q) = %q, want the whole tree", args, only)
		}
	}
}
