package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/tui"
)

func TestURLSpotter(t *testing.T) {
	const authURL = "http://127.0.0.1:40111/authorize?client_id=x&state=s"
	tests := []struct {
		name   string
		writes []string
		want   []string
	}{
		{
			name:   "the flow's message, in pieces",
			writes: []string{"Opening the sign-in page in your browser. If it does not open, visit:\n\n  http://127.0.0.1:40111/auth", "orize?client_id=x&state=s\n\n"},
			want:   []string{authURL},
		},
		{
			name:   "only the first address",
			writes: []string{"  " + authURL + "\n", "  https://example.com/other\n"},
			want:   []string{authURL},
		},
		{
			name:   "addresses inside sentences are not the sign-in page",
			writes: []string{"  avatar:   https://example.com/a.png\n", "see https://example.com for help\n"},
		},
		{
			name:   "a line without its newline is not finished",
			writes: []string{"  " + authURL},
		},
		{
			name:   "control characters are dropped",
			writes: []string{"  http://127.0.0.1:1/a\x1b[2Jb\n"},
			want:   []string{"http://127.0.0.1:1/a[2Jb"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			w := &urlSpotter{show: func(u string) { got = append(got, u) }}
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write: %d, %v", n, err)
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("shown %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFriendlyKeepsTheChain(t *testing.T) {
	err := friendly(flow.ErrCanceled)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, flow.ErrCanceled) {
		t.Errorf("a canceled sign-in does not match context.Canceled: %v", err)
	}
	if err.Error() != "the sign-in was canceled; nothing was stored" {
		t.Errorf("message %q", err.Error())
	}
	if friendly(nil) != nil {
		t.Error("friendly(nil) is not nil")
	}
}

// testBackend is the TUI backend over a real store and file vault in a
// temporary directory, with one account "ada" signed in at "corp".
func testBackend(t *testing.T) (*tuiBackend, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	err := os.WriteFile(cfg, []byte(`
[providers.corp]
kind = "oidc"
display_name = "Corp SSO"
issuer = "https://login.corp.example"
client_id = "authcli"

[providers.robot]
kind = "oidc"
issuer = "https://login.corp.example"
client_id = "robot"
client_secret = "s3cret"
grant = "client_credentials"
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	vars := map[string]string{
		"AUTHCLI_CONFIG":    cfg,
		"AUTHCLI_STATE_DIR": filepath.Join(dir, "state"),
		"AUTHCLI_VAULT":     "file",
		"AUTHCLI_VAULT_KEY": base64.StdEncoding.EncodeToString(key),
	}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var terminal bytes.Buffer
	env := &Env{
		In: strings.NewReader(""), Out: &terminal, Err: &terminal,
		Getenv: func(k string) string { return vars[k] },
		Now:    func() time.Time { return now },
	}
	keeper, err := openKeeper(env)
	if err != nil {
		t.Fatal(err)
	}
	in := accounts.SignIn{
		Provider: "corp", Account: "ada", TokenExpiry: now.Add(time.Hour), Refreshable: true,
		Profile: accounts.Profile{Subject: "ada-1", Email: "ada@example.com"},
	}
	rec := tokens.Record{AccessToken: "at-ada", RefreshToken: "rt-ada", Expiry: now.Add(time.Hour)}
	if _, err := keeper.Save(in, rec, "", nil); err != nil {
		t.Fatal(err)
	}
	return &tuiBackend{env: env, g: &globalOptions{Timeout: time.Minute}, keeper: keeper}, &terminal
}

func TestTUIBackend(t *testing.T) {
	b, terminal := testBackend(t)
	ctx := context.Background()

	st, err := b.Load()
	if err != nil || len(st.Accounts) != 1 || st.Default != "ada" {
		t.Fatalf("Load: %+v, %v", st, err)
	}

	providers, err := b.Providers()
	if err != nil || len(providers) != 2 {
		t.Fatalf("Providers: %+v, %v", providers, err)
	}
	if p := providers[0]; p.Name != "corp" || p.DisplayName != "Corp SSO" || !p.Ready {
		t.Errorf("corp: %+v", p)
	}
	if p := providers[1]; p.Name != "robot" || p.Ready || !strings.Contains(p.Problem, "no browser sign-in") {
		t.Errorf("robot: %+v", p)
	}

	// A valid token comes from the vault, without the network.
	tok, err := b.AccessToken(ctx, "corp", "ada")
	if err != nil || tok != "at-ada" {
		t.Errorf("AccessToken: %q, %v", tok, err)
	}
	if _, err := b.AccessToken(ctx, "corp", "nobody"); !errors.Is(err, accounts.ErrNoAccount) {
		t.Errorf("AccessToken of a missing account: %v", err)
	}

	err = b.Unlink(ctx, "ada", "corp", "ada-1")
	if !errors.Is(err, accounts.ErrLastIdentity) || !strings.Contains(err.Error(), "is the only way to sign in to account ada") {
		t.Errorf("Unlink of the last identity: %v", err)
	}
	if st, _ := b.Load(); len(st.Accounts[0].Identities) != 1 {
		t.Error("the refused unlink changed the accounts")
	}

	if err := b.SetDefault("nobody"); !errors.Is(err, accounts.ErrNoAccount) {
		t.Errorf("SetDefault of a missing account: %v", err)
	}
	if err := b.SetDefault("ada"); err != nil {
		t.Errorf("SetDefault: %v", err)
	}

	if terminal.Len() != 0 {
		t.Errorf("the backend wrote to the terminal: %q", terminal.String())
	}
}

func TestQuietEnvKeepsTheTerminalClean(t *testing.T) {
	b, terminal := testBackend(t)
	var shown []string
	var prompts []tui.SignInPrompt
	env := b.quiet(func(p tui.SignInPrompt) {
		shown = append(shown, p.URL)
		prompts = append(prompts, p)
	})
	if env.InTTY || env.OutTTY || env.ErrTTY {
		t.Error("the quiet environment claims a terminal: a prompt could read the TUI's keys")
	}
	// The device grant's code goes to the screen, not to stderr.
	if env.OnDeviceCode == nil {
		t.Fatal("no OnDeviceCode: a device sign-in's code would have no place on the screen")
	}
	env.OnDeviceCode("ABCD-EFGH", "https://login.corp.example/device")
	if len(prompts) != 1 || prompts[0] != (tui.SignInPrompt{URL: "https://login.corp.example/device", UserCode: "ABCD-EFGH"}) {
		t.Fatalf("device prompt shown as %+v", prompts)
	}
	shown, prompts = nil, nil
	printSignedIn(env.Out, "Corp SSO", &flow.Result{Token: &oauth2.Token{}, Profile: flow.Profile{Subject: "ada-1", AvatarURL: "https://example.com/a.png"}}, time.Now())
	_, _ = env.Err.Write([]byte("Open this URL in a browser to sign in:\n\n  https://login.corp.example/authorize?x=1\n\n"))
	if terminal.Len() != 0 {
		t.Errorf("sign-in output reached the terminal: %q", terminal.String())
	}
	if len(shown) != 1 || shown[0] != "https://login.corp.example/authorize?x=1" {
		t.Errorf("shown %q", shown)
	}
}
