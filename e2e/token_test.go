package e2e

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/devidp"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// signedIn is a run with one identity (demo user ada at provider "local")
// stored in the file vault.
func signedIn(t *testing.T, opts devidp.Options) (*devidp.Server, *run, vault.Vault) {
	t.Helper()
	idp, err := devidp.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	r := newRun(t).withBot("user=ada")
	vaultModes(t)["file"](r)
	r.config(fmt.Sprintf("default_provider = \"local\"\n[providers.local]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\n", idp.Issuer(), devidp.DemoClientID))
	if res := r.exec("login", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("login: exit %d\n%s", res.code, res.stderr)
	}
	return idp, r, r.openVault(t, nil)
}

// expire rewrites the stored access token's expiry into the past, as if
// an hour had gone by.
func expire(t *testing.T, v vault.Vault, key string) tokens.Record {
	t.Helper()
	b, err := v.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := tokens.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	rec.Expiry = time.Now().Add(-time.Minute)
	b, _ = rec.Encode()
	if err := v.Set(key, b); err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestTokenCached(t *testing.T) {
	idp, r, v := signedIn(t, devidp.Options{})
	b, _ := v.Get("local/ada")
	stored, _ := tokens.Decode(b)
	res := r.exec("token", "local")
	if res.code != 0 || res.stdout != stored.AccessToken+"\n" || res.stderr != "" {
		t.Fatalf("token: exit %d, stdout is the stored token: %t, stderr %q", res.code, res.stdout == stored.AccessToken+"\n", res.stderr)
	}
	// PROVIDER omitted: default_provider.
	if res := r.exec("token"); res.stdout != stored.AccessToken+"\n" {
		t.Errorf("token without PROVIDER: exit %d %q", res.code, res.stderr)
	}
	if res := r.exec("token", "--id-token"); res.stdout != stored.IDToken+"\n" {
		t.Errorf("--id-token: exit %d %q", res.code, res.stderr)
	}
	res = r.exec("token", "--format", "json")
	mustContain(t, "json", res.stdout, `"access_token":"`+stored.AccessToken, `"token_type":"Bearer"`, `"expiry":"`, `"scopes":["openid"`)
	res = r.exec("token", "--format", "env")
	mustContain(t, "env", res.stdout, "AUTHCLI_ACCESS_TOKEN='"+stored.AccessToken+"'\n")
	if st := idp.Stats(); st.RefreshGrants != 0 {
		t.Errorf("a cached token caused %d refreshes", st.RefreshGrants)
	}
}

// TestTokenConcurrentRefresh: 100 processes ask at once for an expired
// token (bench/token.sh times the same); the provider rotates refresh
// tokens and revokes the family on reuse. Exactly one refresh must happen
// and everyone prints its result.
func TestTokenConcurrentRefresh(t *testing.T) {
	idp, r, v := signedIn(t, devidp.Options{})
	old := expire(t, v, "local/ada")
	const n = 100
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = r.exec("token", "local") })
	}
	wg.Wait()
	first := results[0].stdout
	for i, res := range results {
		if res.code != 0 {
			t.Errorf("process %d: exit %d: %s", i, res.code, res.stderr)
		}
		if res.stdout != first {
			t.Errorf("process %d printed a different token", i)
		}
	}
	if first == old.AccessToken+"\n" {
		t.Error("the expired token was printed")
	}
	st := idp.Stats()
	if st.RefreshGrants != 1 || st.RefreshReuseDetected != 0 {
		t.Errorf("provider saw %d refreshes and %d reuses, want 1 and 0", st.RefreshGrants, st.RefreshReuseDetected)
	}
	b, _ := v.Get("local/ada")
	rec, _ := tokens.Decode(b)
	if rec.RefreshToken == old.RefreshToken || rec.RefreshToken == "" {
		t.Error("the rotated refresh token was not kept")
	}
	s := r.status(t)
	if h := s.Accounts[0].Identities[0].Token.Health; h != "valid" {
		t.Errorf("health after refresh %q", h)
	}
}

// TestTokenRefreshRejected: the provider rejects the refresh token
// (invalid_grant, here because it was revoked): exit 3, the sentence, the
// identity marked as needing sign-in, the account kept.
func TestTokenRefreshRejected(t *testing.T) {
	_, r, v := signedIn(t, devidp.Options{})
	// Keep a copy, log out (revokes at the provider), put the copy back.
	b, _ := v.Get("local/ada")
	if res := r.exec("logout", "local"); res.code != 0 {
		t.Fatalf("logout: %d %s", res.code, res.stderr)
	}
	if err := v.Set("local/ada", b); err != nil {
		t.Fatal(err)
	}
	expire(t, v, "local/ada")
	res := r.exec("token", "local")
	if res.code != 3 {
		t.Fatalf("exit %d, want 3\n%s", res.code, res.stderr)
	}
	mustContain(t, "stderr", res.stderr, "sign in again with: authcli login local")
	if res.stdout != "" {
		t.Errorf("printed something: %q", res.stdout)
	}
	s := r.status(t)
	if len(s.Accounts) != 1 || s.Accounts[0].Identities[0].Token.Health != "needs_sign_in" {
		t.Errorf("after invalid_grant: %+v", s)
	}
}

func TestTokenNoIdentity(t *testing.T) {
	_, r, _ := signedIn(t, devidp.Options{})
	res := r.exec("token", "local", "--account", "nobody")
	if res.code != 2 || !strings.Contains(res.stderr, `no account "nobody"`) {
		t.Errorf("unknown account: exit %d, want 2 (%s)", res.code, res.stderr)
	}
	// A provider that is not configured is a usage error that names the
	// configured ones, as login says it.
	res = r.exec("token", "other")
	if res.code != 2 || !strings.Contains(res.stderr, `no provider named "other" is configured; configured providers: local`) {
		t.Errorf("unconfigured provider: exit %d, want 2 (%s)", res.code, res.stderr)
	}
}

func TestExec(t *testing.T) {
	_, r, v := signedIn(t, devidp.Options{})
	b, _ := v.Get("local/ada")
	rec, _ := tokens.Decode(b)
	script := `test "$MY_TOKEN" = "$1" && printf '%s' "$*" > "$2"; exit 42`
	out := r.dir + "/argv"
	res := r.exec("exec", "--env", "MY_TOKEN", "--", "sh", "-c", script, "sh", rec.AccessToken, out)
	if res.code != 42 {
		t.Fatalf("exit %d, want the child's 42\n%s", res.code, res.stderr)
	}
	if res.stderr != "" {
		t.Errorf("authcli added to the child's stderr: %q", res.stderr)
	}
	// The token reached the child through its environment; the check wrote
	// the file only if MY_TOKEN matched.
	if _, err := os.Stat(out); err != nil {
		t.Error("the child did not see the token in MY_TOKEN")
	}
	res = r.exec("exec", "--", "sh", "-c", `case "$0 $*" in *eyJ*) exit 9;; esac; exit 0`)
	if res.code != 0 {
		t.Errorf("the token appeared in the child's argv (exit %d)", res.code)
	}
	// The child gets a token, not the key that opens every token.
	res = r.exec("exec", "--", "sh", "-c", `test -z "$AUTHCLI_VAULT_KEY$AUTHCLI_VAULT_PASSPHRASE" || exit 8`)
	if res.code != 0 {
		t.Errorf("the vault key reached the exec child (exit %d)", res.code)
	}
}

func TestTokenClientCredentials(t *testing.T) {
	idp, err := devidp.Start(devidp.Options{Clients: []devidp.Client{{ID: "robot", Secret: "s3cret-robot"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	r := newRun(t).setenv("ROBOT_SECRET=s3cret-robot")
	vaultModes(t)["file"](r)
	r.config(fmt.Sprintf("[providers.robot]\nkind = \"oidc\"\nissuer = %q\nclient_id = \"robot\"\nclient_secret = \"${ROBOT_SECRET}\"\ngrant = \"client_credentials\"\nscopes = [\"openid\", \"api\"]\n", idp.Issuer()))
	first := r.exec("token", "robot")
	if first.code != 0 || strings.TrimSpace(first.stdout) == "" {
		t.Fatalf("exit %d\n%s", first.code, first.stderr)
	}
	second := r.exec("token", "robot")
	if second.stdout != first.stdout {
		t.Error("second call did not use the cached machine token")
	}
	if n := idp.Stats().ClientCredentialsGrants; n != 1 {
		t.Errorf("provider saw %d client credentials grants, want 1", n)
	}
	if res := r.exec("login", "robot"); res.code != 2 {
		t.Errorf("login with a client_credentials provider: exit %d, want 2", res.code)
	}
}
