//go:build !authcli_lean

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

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/tokens"
)

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
	g := &globalOptions{Timeout: time.Minute}
	svc, err := newService(env, g)
	if err != nil {
		t.Fatal(err)
	}
	keeper := &tokens.Keeper{Store: svc.Store, Vault: svc.Vault, Now: env.Now}
	in := accounts.SignIn{
		Provider: "corp", Account: "ada", TokenExpiry: now.Add(time.Hour), Refreshable: true,
		Profile: accounts.Profile{Subject: "ada-1", Email: "ada@example.com"},
	}
	rec := tokens.Record{AccessToken: "at-ada", RefreshToken: "rt-ada", Expiry: now.Add(time.Hour)}
	if _, err := keeper.Save(in, rec, "", nil); err != nil {
		t.Fatal(err)
	}
	return &tuiBackend{env: env, g: g, svc: svc}, &terminal
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
	if p := providers[1]; p.Name != "robot" || p.Ready || !strings.Contains(p.Problem, "has no sign-in") {
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
