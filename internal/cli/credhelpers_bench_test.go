package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// BenchmarkHelpers runs each credential helper in-process with a valid
// cached token, like BenchmarkTokenCommand: the route tables are the only
// part of the config they read.
func BenchmarkHelpers(b *testing.B) {
	dir := b.TempDir()
	rawKey := make([]byte, 32)
	cfg := dir + "/config.toml"
	doc := "[providers.demo]\nkind = \"oidc\"\nissuer = \"http://127.0.0.1:1\"\nclient_id = \"c\"\n" +
		"[git.\"git.example\"]\nprovider = \"demo\"\n[docker.\"registry.example\"]\nprovider = \"demo\"\n"
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		b.Fatal(err)
	}
	env := map[string]string{
		"AUTHCLI_STATE_DIR": dir, "AUTHCLI_VAULT": "file", "AUTHCLI_CONFIG": cfg,
		"AUTHCLI_VAULT_KEY": base64.StdEncoding.EncodeToString(rawKey),
	}
	key, _ := vault.KeyFromBytes(rawKey)
	v, err := vault.OpenFile(dir, key)
	if err != nil {
		b.Fatal(err)
	}
	k := &tokens.Keeper{Store: accounts.OpenStore(dir), Vault: v}
	in := accounts.SignIn{Provider: "demo", Profile: accounts.Profile{Subject: "ada", Email: "ada@example.com"}, TokenExpiry: time.Now().Add(time.Hour)}
	if _, err := k.Save(in, tokens.Record{AccessToken: "at-bench", Expiry: time.Now().Add(time.Hour)}, "", nil); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, bc := range []struct {
		name, stdin string
		run         func(*Env) int
	}{
		{"token", "", func(e *Env) int { return Run(ctx, e, []string{"token", "demo"}) }},
		{"git-credential", "protocol=https\nhost=git.example\n\n", func(e *Env) int { return Run(ctx, e, []string{"git-credential", "get"}) }},
		{"docker-credential", "registry.example", func(e *Env) int { return RunDockerCredential(ctx, e, []string{"get"}) }},
		{"exec-credential", "", func(e *Env) int { return Run(ctx, e, []string{"token", "demo", "--format", "exec-credential"}) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var out, errb bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				e := &Env{Out: &out, Err: &errb, In: strings.NewReader(bc.stdin), Getenv: func(k string) string { return env[k] }, Now: time.Now}
				if code := bc.run(e); code != 0 {
					b.Fatalf("exit %d: %s", code, errb.String())
				}
			}
			if !strings.Contains(out.String(), "at-bench") {
				b.Fatalf("printed %q", out.String())
			}
		})
	}
}
