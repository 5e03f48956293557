package e2e

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/devidp"
	"github.com/authcli/authcli/internal/oidctest"
	"github.com/authcli/authcli/internal/termtext"
	"github.com/authcli/authcli/internal/tokens"
)

// TestAdversarialProvider is ../shared/SECURITY.md's "Tokens from the
// provider" and the authorization response rules, each broken by the test
// provider (internal/oidctest) while the real binary signs in with
// $BROWSER as the bot. Every attack must end the same way: a non-zero exit,
// one sentence naming the problem as the last line of stderr, nothing
// stored, no token printed.
func TestAdversarialProvider(t *testing.T) {
	future := func(d time.Duration) int64 { return time.Now().Add(d).Unix() }
	tests := []struct {
		name    string
		setup   func(op *oidctest.OP)
		timeout string   // --timeout; default 20s
		words   []string // the sentence must contain each
		page    string   // the browser tab must show this
	}{
		{"bad ID token signature", func(op *oidctest.OP) { op.IDToken = oidctest.TamperSignature }, "", []string{"ID token failed verification", "signature"}, ""},
		{"tampered ID token payload", func(op *oidctest.OP) {
			op.IDToken = oidctest.TamperPayload(func(c map[string]any) { c["sub"] = "admin" })
		}, "", []string{"ID token failed verification", "signature"}, ""},
		{"alg none", func(op *oidctest.OP) { op.IDToken = oidctest.AlgNone }, "", []string{"ID token failed verification"}, ""},
		{"HMAC signed ID token", func(op *oidctest.OP) { op.IDToken = oidctest.HMACSigned([]byte(oidctest.ClientID)) }, "", []string{"ID token failed verification"}, ""},
		{"unknown kid", func(op *oidctest.OP) { op.RotateKey(); op.HideNewestKey = true }, "", []string{"ID token failed verification"}, ""},
		{"wrong issuer", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { c["iss"] = "https://evil.example" } }, "", []string{"ID token failed verification", "different provider"}, ""},
		{"wrong audience", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { c["aud"] = "someone-else" } }, "", []string{"ID token failed verification", "audience"}, ""},
		{"azp of another client", func(op *oidctest.OP) {
			op.Claims = func(c map[string]any) { c["aud"] = []string{oidctest.ClientID, "other"}; c["azp"] = "other" }
		}, "", []string{"ID token failed verification", "another client"}, ""},
		{"expired", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { c["exp"] = future(-10 * time.Minute) } }, "", []string{"ID token failed verification", "expired"}, ""},
		{"not yet valid", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { c["nbf"] = future(time.Hour) } }, "", []string{"ID token failed verification", "not valid yet"}, ""},
		{"issued in the future", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { c["iat"] = future(time.Hour) } }, "", []string{"ID token failed verification", "future"}, ""},
		{"wrong nonce", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { c["nonce"] = "replayed" } }, "", []string{"ID token failed verification", "nonce"}, ""},
		{"missing nonce", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { delete(c, "nonce") } }, "", []string{"ID token failed verification", "nonce"}, ""},
		{"at_hash mismatch", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" } }, "", []string{"ID token failed verification", "at_hash"}, ""},
		{"no ID token", func(op *oidctest.OP) { op.TokenBody = func(b map[string]any) { delete(b, "id_token") } }, "", []string{"ID token failed verification", "no ID token"}, ""},
		{"userinfo subject mismatch", func(op *oidctest.OP) { op.Userinfo = func(u map[string]any) { u["sub"] = "user-2" } }, "", []string{"userinfo subject differs"}, ""},
		{"RFC 9207 iss mismatch", func(op *oidctest.OP) { op.AdvertiseIss = true; op.RedirectIss = "https://evil.example" }, "", []string{"different issuer", "mix-up"}, ""},
		{"RFC 9207 iss missing though advertised", func(op *oidctest.OP) { op.AdvertiseIss = true }, "", []string{"different issuer", "missing"}, ""},
		{"token response without access token", func(op *oidctest.OP) { op.TokenBody = func(b map[string]any) { delete(b, "access_token") } }, "", []string{"token response is not usable", "no access token"}, ""},
		{"unknown token type", func(op *oidctest.OP) { op.TokenBody = func(b map[string]any) { b["token_type"] = "DPoP" } }, "", []string{"token response is not usable", "DPoP"}, ""},
		{"access token with terminal escapes", func(op *oidctest.OP) {
			op.TokenBody = func(b map[string]any) { b["access_token"] = "at\x1b]0;pwned\x07\x1b[2J" }
		}, "", []string{"token response is not usable", "access token holds characters"}, ""},
		{"refresh token with a newline", func(op *oidctest.OP) {
			op.TokenBody = func(b map[string]any) { b["refresh_token"] = "rt\nexport EVIL=1" }
		}, "", []string{"token response is not usable", "refresh token holds characters"}, ""},
		{"oversized token response", func(op *oidctest.OP) { op.Oversize = "/token" }, "", []string{"larger than 512 KiB"}, ""},
		{"oversized userinfo", func(op *oidctest.OP) { op.Oversize = "/userinfo" }, "", []string{"userinfo", "larger than 512 KiB"}, ""},
		{"oversized JWKS", func(op *oidctest.OP) { op.Oversize = "/jwks" }, "", []string{"ID token failed verification", "larger than 512 KiB"}, ""},
		{"oversized discovery", func(op *oidctest.OP) { op.Oversize = "/.well-known/openid-configuration" }, "", []string{"discovery", "larger than 512 KiB"}, ""},
		{"discovery names another issuer", func(op *oidctest.OP) { op.DiscoveryIssuer = "https://evil.example" }, "", []string{"discovery document could not be used", "https://evil.example"}, ""},
		{"discovery endpoint over plain http", func(op *oidctest.OP) { op.UserinfoEndpoint = "http://example.com/userinfo" }, "", []string{"http:// URL is only allowed on a loopback address"}, ""},
		{"token endpoint never answers", func(op *oidctest.OP) { op.Hang = "/token" }, "2s", []string{"did not finish within --timeout"}, ""},
		{"discovery never answers", func(op *oidctest.OP) { op.Hang = "/.well-known/openid-configuration" }, "2s", []string{"did not finish within --timeout"}, ""},
		// A redirect without the right state is not this sign-in's answer:
		// the listener refuses it and keeps waiting until --timeout.
		{"redirect with a wrong state", func(op *oidctest.OP) { op.Redirect = func(v url.Values) { v.Set("state", "guessed") } }, "2s", []string{"did not finish within --timeout"}, "state does not match"},
		{"redirect without state", func(op *oidctest.OP) { op.Redirect = func(v url.Values) { v.Del("state") } }, "2s", []string{"did not finish within --timeout"}, "not a complete authorization response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := oidctest.New(t)
			tt.setup(op)
			r, res := loginAgainst(t, op, tt.timeout)
			refused(t, r, res, 1, op, tt.words...)
			if tt.page != "" {
				mustContain(t, "browser page", r.botPage(), "Status: 400", tt.page)
			}
		})
	}
}

// TestAdversarialErrorRedirect: the provider's error_description is markup
// and terminal escapes; the tab shows it escaped, the terminal without
// control characters.
func TestAdversarialErrorRedirect(t *testing.T) {
	op := oidctest.New(t)
	op.DenyWith = "<script>alert(1)</script>\x1b[2J\x1b]0;pwned\x07\u009b2J\u202e The user\u200b said no"
	r, res := loginAgainst(t, op, "")
	refused(t, r, res, 1, op, "access_denied", "The user said no", "allow access at the provider")
	page := r.botPage()
	mustContain(t, "browser page", page, "Status: 400", "Sign-in cancelled", "&lt;script&gt;alert(1)&lt;/script&gt;")
	if strings.Contains(page, "<script>alert") {
		t.Errorf("the failure page reflects the provider's markup unescaped:\n%s", page)
	}
}

// loginAgainst runs authcli login against op with the bot as the browser.
func loginAgainst(t *testing.T, op *oidctest.OP, timeout string) (*run, result) {
	t.Helper()
	if timeout == "" {
		timeout = "20s"
	}
	r := newRun(t).withBot("")
	r.config(fmt.Sprintf("[providers.evil]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\n", op.Issuer(), oidctest.ClientID))
	return r, r.exec("login", "evil", "--timeout", timeout)
}

// startURL is the one-time loopback link the sign-in chatter shows.
var startURL = regexp.MustCompile(`^  http://127\.0\.0\.1:\d+/start/[A-Za-z0-9_-]{43}$`)

// goDump matches what a Go error or value dump looks like, never a
// sentence for a person.
var goDump = regexp.MustCompile(`oidc: |oauth2: |go-jose|&\{|%!|\bstruct\b|0x[0-9a-f]{6,}|goroutine |\.go:\d+|\bnil\b| m=[+-]\d|\[".*"\]|\d{2}:\d{2}:\d{2}\.\d+`)

// refused checks SECURITY.md's ending of every refusal: exit code, one
// sentence last on stderr after the sign-in chatter, no Go dump, no
// control characters, nothing stored, no token anywhere.
func refused(t *testing.T, r *run, res result, code int, op *oidctest.OP, words ...string) {
	t.Helper()
	if res.code != code {
		t.Errorf("exit %d, want %d\nstderr:\n%s", res.code, code, res.stderr)
	}
	if res.stdout != "" {
		t.Errorf("stdout not empty: %q", res.stdout)
	}
	lines := strings.Split(strings.TrimSuffix(res.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	t.Logf("exit %d: %s", res.code, last)
	if !strings.HasPrefix(last, "authcli: ") {
		t.Errorf("the last line of stderr is not the error sentence: %q\nstderr:\n%s", last, res.stderr)
	}
	for _, l := range lines[:len(lines)-1] {
		chatter := l == "" || strings.HasPrefix(l, "Opening the sign-in page in your browser") || startURL.MatchString(l)
		if !chatter {
			t.Errorf("stderr has a line that is neither the sign-in chatter nor the sentence: %q", l)
		}
	}
	for _, w := range words {
		if !strings.Contains(last, w) {
			t.Errorf("the sentence does not say %q: %q", w, last)
		}
	}
	if m := goDump.FindString(last); m != "" {
		t.Errorf("the sentence reads like a Go error dump (%q): %q", m, last)
	}
	if c, ok := hiddenRune(res.stderr); ok {
		t.Errorf("stderr holds control or invisible character %U: %q", c, res.stderr)
	}
	secrets := []string{op.AccessToken, op.RefreshToken}
	for _, id := range op.IssuedIDTokens() {
		secrets = append(secrets, id)
		if parts := strings.Split(id, "."); len(parts) == 3 && len(parts[2]) > 16 {
			secrets = append(secrets, parts[2])
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(res.stdout+res.stderr+r.botPage(), s) {
			t.Errorf("a token issued by the provider was printed")
		}
	}
	nothingStored(t, r)
}

// hiddenRune finds a character that must never reach a terminal from
// outside text (termtext.Hidden: C0, C1, bidi controls, zero-width and
// other invisible formatting characters); newlines are the output's own.
func hiddenRune(s string) (rune, bool) {
	for _, c := range s {
		if c != '\n' && termtext.Hidden(c) {
			return c, true
		}
	}
	return 0, false
}

// nothingStored: no account in status --json, no file naming one, an
// empty vault.
func nothingStored(t *testing.T, r *run) {
	t.Helper()
	if s := r.status(t); len(s.Accounts) != 0 || s.Default != "" {
		t.Errorf("status --json shows accounts after a refusal: %+v", s)
	}
	if keys, err := r.openVault(t, nil).List(""); err != nil || len(keys) != 0 {
		t.Errorf("vault after a refusal: %v (err %v), want empty", keys, err)
	}
	if b, err := os.ReadFile(filepath.Join(r.stateDir(), "accounts.json")); err == nil && strings.Contains(string(b), oidctest.Subject) {
		t.Errorf("accounts.json names the refused identity:\n%s", b)
	}
}

// TestAdversarialLocalAttacker: another program on this machine races the
// provider to the loopback listener. $BROWSER is a script that first
// attacks (forged callbacks with a guessed or missing state, a forged code
// with a foreign Host header as in DNS rebinding, a
// connection that opens and never sends a byte, held open throughout) and
// then hands the URL to the bot. The genuine sign-in must still succeed.
func TestAdversarialLocalAttacker(t *testing.T) {
	idp := startDevIDP(t)
	r := newRun(t).withBot("user=ada")
	out := filepath.Join(r.dir, "attack")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(r.dir, "attacker")
	body := `#!/bin/bash
set -u
url="$1"
out=` + out + `
port=$(printf '%s' "$url" | sed -n 's|^http://127\.0\.0\.1:\([0-9]*\)/start/.*|\1|p')
# The state is on no command line: the attacker has to guess it.
state=guessed
# The silent connection: fd 3 stays open in the bot after exec.
exec 3<>"/dev/tcp/127.0.0.1/$port" && echo open > "$out/idle"
forge() {
	exec 4<>"/dev/tcp/127.0.0.1/$port" || return
	printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$2" "$3" >&4
	cat <&4 > "$out/$1"
	exec 4<&-
}
forge wrong-state "/callback/local?code=forged&state=guessed" "127.0.0.1:$port"
forge missing-state "/callback/local?code=forged" "127.0.0.1:$port"
forge forged-error "/callback/local?error=access_denied&error_description=owned&state=guessed" "127.0.0.1:$port"
forge foreign-host "/callback/local?code=forged&state=$state" "evil.example:$port"
forge localhost-host "/callback/local?code=forged&state=$state" "localhost:$port"
forge favicon "/favicon.ico" "127.0.0.1:$port"
exec "$REAL_BROWSER" "$url"
`
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	r.setenv("REAL_BROWSER="+botBin, "BROWSER="+script)
	r.config(fmt.Sprintf("[providers.local]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\n", idp.Issuer(), devidp.DemoClientID))
	res := r.exec("login", "local", "--timeout", "30s")
	if res.code != 0 {
		t.Fatalf("the sign-in did not survive the attack: exit %d\nstderr:\n%s\nbot:\n%s", res.code, res.stderr, r.botPage())
	}
	mustContain(t, "stdout", res.stdout, "Signed in to local as Ada Lovelace")
	mustContain(t, "browser page", r.botPage(), "Signed in as ada@example.com")
	if _, err := os.Stat(filepath.Join(out, "idle")); err != nil {
		t.Error("the silent connection was never opened")
	}
	for name, want := range map[string]string{
		"wrong-state": "400", "missing-state": "400", "forged-error": "400",
		"foreign-host": "400", "localhost-host": "400", "favicon": "404",
	} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Errorf("%s: the attack did not run: %v", name, err)
			continue
		}
		if status, _, _ := strings.Cut(string(b), "\r\n"); !strings.HasPrefix(status, "HTTP/1.1 "+want) {
			t.Errorf("%s: answered %q, want %s", name, status, want)
		}
		if strings.Contains(string(b), "Signed in") {
			t.Errorf("%s: the forged request got the success page", name)
		}
		if strings.HasSuffix(name, "-host") && !strings.Contains(string(b), "different host") {
			t.Errorf("%s: refused for another reason than its Host header:\n%s", name, b)
		}
	}
	s := r.status(t)
	if len(s.Accounts) != 1 || s.Accounts[0].Identities[0].Subject != "ada" {
		t.Errorf("after the sign-in: %+v", s)
	}
	if st := idp.Stats(); st.AuthCodeGrants != 1 {
		t.Errorf("provider saw %d code exchanges, want 1 (the forged code never reached it)", st.AuthCodeGrants)
	}
}

// TestAdversarialKeyRotation: the real provider rotates its signing key;
// a refresh whose ID token carries the new kid, and a new sign-in, both
// still verify.
func TestAdversarialKeyRotation(t *testing.T) {
	idp, r, v := signedIn(t, devidp.Options{})
	before := storedRecord(t, v, "local/ada")
	if err := idp.RotateSigningKey(); err != nil {
		t.Fatal(err)
	}
	res := r.exec("token", "local", "--min-ttl", "2h", "--id-token")
	if res.code != 0 {
		t.Fatalf("refresh after rotation: exit %d\n%s", res.code, res.stderr)
	}
	after := storedRecord(t, v, "local/ada")
	if kid(before.IDToken) == kid(after.IDToken) || kid(after.IDToken) == "" {
		t.Errorf("the refreshed ID token's kid %q is not the new key's (old %q)", kid(after.IDToken), kid(before.IDToken))
	}
	if res.stdout != after.IDToken+"\n" {
		t.Error("token --id-token did not print the refreshed ID token")
	}
	if res := r.exec("login", "local", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("sign-in after rotation: exit %d\n%s", res.code, res.stderr)
	}
}

// TestAdversarialRefreshReuse: a backup of the vault brings back a refresh
// token the provider already rotated away. Presenting it is reuse: the
// provider revokes the family, authcli exits 3 and marks the identity as
// needing sign-in, keeping the account.
func TestAdversarialRefreshReuse(t *testing.T) {
	idp, r, v := signedIn(t, devidp.Options{})
	backup, err := v.Get("local/ada")
	if err != nil {
		t.Fatal(err)
	}
	if res := r.exec("token", "local", "--min-ttl", "2h"); res.code != 0 {
		t.Fatalf("first refresh: exit %d\n%s", res.code, res.stderr)
	}
	if err := v.Set("local/ada", backup); err != nil {
		t.Fatal(err)
	}
	res := r.exec("token", "local", "--min-ttl", "2h")
	if res.code != 3 {
		t.Fatalf("refresh with a used refresh token: exit %d, want 3\n%s", res.code, res.stderr)
	}
	if res.stdout != "" {
		t.Errorf("stdout not empty: %q", res.stdout)
	}
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "authcli: ") || goDump.MatchString(lines[0]) {
		t.Errorf("stderr is not one sentence: %q", res.stderr)
	}
	mustContain(t, "stderr", res.stderr, "invalid_grant", "sign in again with: authcli login local")
	if st := idp.Stats(); st.RefreshReuseDetected != 1 || st.RefreshGrants != 1 {
		t.Errorf("provider saw %d refreshes and %d reuses, want 1 and 1", st.RefreshGrants, st.RefreshReuseDetected)
	}
	s := r.status(t)
	if len(s.Accounts) != 1 || s.Accounts[0].Identities[0].Token.Health != "needs_sign_in" {
		t.Errorf("after reuse: %+v", s)
	}
	if res := r.exec("login", "local", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("sign-in after reuse: exit %d\n%s", res.code, res.stderr)
	}
}

// TestAdversarialConcurrentForcedRefresh: processes that all insist on a
// refresh (--min-ttl beyond the token's life) take turns; one that waited
// while another refreshed uses that result (refreshing again would give
// no longer-lived token), the others refresh with the newest refresh
// token. The provider never sees reuse, and the refresh token kept at the
// end still works.
func TestAdversarialConcurrentForcedRefresh(t *testing.T) {
	idp, r, _ := signedIn(t, devidp.Options{})
	const n = 6
	done := make(chan result, n)
	for range n {
		go func() { done <- r.exec("token", "local", "--min-ttl", "2h") }()
	}
	for range n {
		if res := <-done; res.code != 0 {
			t.Errorf("exit %d: %s", res.code, res.stderr)
		}
	}
	if res := r.exec("token", "local", "--min-ttl", "2h"); res.code != 0 {
		t.Errorf("the kept refresh token does not work: exit %d: %s", res.code, res.stderr)
	}
	if st := idp.Stats(); st.RefreshGrants < 2 || st.RefreshGrants > n+1 || st.RefreshReuseDetected != 0 {
		t.Errorf("provider saw %d refreshes and %d reuses, want 2..%d and 0", st.RefreshGrants, st.RefreshReuseDetected, n+1)
	}
}

func storedRecord(t *testing.T, v interface{ Get(string) ([]byte, error) }, key string) tokens.Record {
	t.Helper()
	b, err := v.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := tokens.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// kid reads a compact JWT's key ID without verifying it.
func kid(raw string) string {
	h, _, _ := strings.Cut(raw, ".")
	c := oidctest.ClaimsOf("x." + h + ".x")
	s, _ := c["kid"].(string)
	return s
}
