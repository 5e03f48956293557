package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// BenchmarkTokenCommand runs `authcli token demo` in-process with a valid
// cached token in the file vault: everything but process start-up.
func BenchmarkTokenCommand(b *testing.B) {
	dir := b.TempDir()
	rawKey := make([]byte, 32)
	env := map[string]string{
		"AUTHCLI_STATE_DIR": dir,
		"AUTHCLI_VAULT":     "file",
		"AUTHCLI_VAULT_KEY": base64.StdEncoding.EncodeToString(rawKey),
		"AUTHCLI_CONFIG":    dir + "/absent.toml", // the cached path must not need it
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
	var out, errb bytes.Buffer
	e := &Env{Out: &out, Err: &errb, In: os.Stdin, Getenv: func(k string) string { return env[k] }, Now: time.Now}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		if code := Run(ctx, e, []string{"token", "demo"}); code != 0 {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
	}
	if out.String() != "at-bench\n" {
		b.Fatalf("printed %q", out.String())
	}
}

// BenchmarkCommandTree builds the whole tree, and the tree of one command
// that Run builds for a command line naming it (namedCommand).
func BenchmarkCommandTree(b *testing.B) {
	e := &Env{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}, In: os.Stdin, Getenv: func(string) string { return "" }, Now: time.Now}
	for _, only := range []string{"", "token"} {
		b.Run("only="+only, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = newRoot(e, only)
			}
		})
	}
}
