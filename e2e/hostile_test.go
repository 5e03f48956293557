package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/devidp"
	"github.com/authcli/authcli/internal/oidctest"
	"github.com/authcli/authcli/internal/tokens"
)

// signedInTo signs in to op as provider "evil" and returns the run.
func signedInTo(t *testing.T, op *oidctest.OP) *run {
	t.Helper()
	r, res := loginAgainst(t, op, "")
	if res.code != 0 {
		t.Fatalf("sign-in: exit %d\n%s", res.code, res.stderr)
	}
	return r
}

// TestHostileRefreshTokens: a refresh answer whose access or refresh token
// is not RFC 6749 VSCHAR (terminal escapes, a newline that would add a
// line to `token --format env`) is refused with one sentence; nothing is
// printed and the stored tokens stay the ones of the sign-in.
func TestHostileRefreshTokens(t *testing.T) {
	for name, tt := range map[string]struct {
		edit func(b map[string]any)
		// code: an unusable access token is a failed check (1); an
		// unusable rotated refresh token leaves no token to refresh with
		// (the old one is spent, the new one is never stored): 3.
		code int
	}{
		"access token with escapes": {func(b map[string]any) { b["access_token"] = "at\x1b]0;pwned\x07\x1b[2J" }, 1},
		"refresh token with newline": {func(b map[string]any) {
			b["access_token"] = "fresh-at"
			b["refresh_token"] = "rt\nAUTHCLI_ACCESS_TOKEN=evil"
		}, 3},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			op := oidctest.New(t)
			r := signedInTo(t, op)
			op.SetRefreshBody(tt.edit)
			res := r.exec("token", "evil", "--min-ttl", "2h", "--format", "env")
			if res.code != tt.code || res.stdout != "" {
				t.Fatalf("exit %d, stdout %q, want %d and nothing\n%s", res.code, res.stdout, tt.code, res.stderr)
			}
			lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], "holds characters RFC 6749 does not allow") || strings.ContainsAny(res.stderr, "\x1b\x07") {
				t.Errorf("stderr is not the one sentence: %q", res.stderr)
			}
			// Nothing of the refused answer is stored.
			b, err := r.openVault(t, nil).Get("evil/" + oidctest.Subject)
			if err == nil {
				rec, _ := tokens.Decode(b)
				if rec.AccessToken != op.AccessToken && rec.AccessToken != "" {
					t.Errorf("the refused refresh stored its access token")
				}
				if strings.ContainsAny(rec.RefreshToken, "\n") {
					t.Errorf("the refused refresh token was stored")
				}
			}
			if n := len(op.TokenRequests()); n != 2 {
				t.Errorf("provider saw %d token requests, want the code exchange and one refresh", n)
			}
		})
	}
}

// TestHostileTokenRedirect: the token endpoint answers 307 to another
// origin (a proxy that would see the request in clear off loopback). The
// code exchange and the refresh both stop there: neither the code with its
// PKCE verifier nor the refresh token reaches the other address.
func TestHostileTokenRedirect(t *testing.T) {
	var got atomic.Int32
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		oidctest.WriteJSON(w, map[string]any{"access_token": "sink", "token_type": "Bearer"})
	}))
	t.Cleanup(sink.Close)

	op := oidctest.New(t)
	op.SetTokenRedirect(sink.URL + "/token")
	r, res := loginAgainst(t, op, "")
	refused(t, r, res, 1, op, "redirected", "same origin")

	op.SetTokenRedirect("")
	r = signedInTo(t, op)
	op.SetTokenRedirect(sink.URL + "/token")
	res = r.exec("token", "evil", "--min-ttl", "2h")
	if res.code != 1 || res.stdout != "" {
		t.Fatalf("refresh redirected: exit %d, stdout %q\n%s", res.code, res.stdout, res.stderr)
	}
	mustContain(t, "stderr", res.stderr, "redirected", "same origin")
	if strings.Contains(res.stderr, op.RefreshToken) {
		t.Error("stderr holds the refresh token")
	}
	if n := got.Load(); n != 0 {
		t.Errorf("the other origin received %d token requests", n)
	}
}

// TestHostileLocalhostSquatter: another local process holds [::1]:PORT
// (where a browser resolving localhost connects first). A sign-in with
// redirect_host = "localhost" on that port must not start: the squatter
// would receive the code. authcli refuses, naming the port.
func TestHostileLocalhostSquatter(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("this machine has no IPv6 loopback: %v", err)
	}
	var got atomic.Int32
	squatter := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		_, _ = w.Write([]byte("squatter"))
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = squatter.Serve(ln) }()
	t.Cleanup(func() { squatter.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	idp := startDevIDP(t)
	r := newRun(t).withBot("user=ada")
	r.config(fmt.Sprintf("[providers.local]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\nredirect_host = \"localhost\"\n", idp.Issuer(), devidp.DemoClientID))
	res := r.exec("login", "local", "--port", fmt.Sprint(port), "--timeout", "10s")
	if res.code == 0 {
		t.Fatalf("the sign-in went ahead with [::1]:%d held by another process\n%s", port, res.stderr)
	}
	mustContain(t, "stderr", res.stderr, fmt.Sprintf("port %d is already in use", port))
	if n := got.Load(); n != 0 {
		t.Errorf("the squatter received %d requests", n)
	}
	nothingStored(t, r)

	// An ephemeral port is drawn again until every address is free.
	if res := r.exec("login", "local", "--timeout", "20s"); res.code != 0 {
		t.Errorf("ephemeral port with localhost: exit %d\n%s", res.code, res.stderr)
	}
}

// TestHostileDisplayText: the provider's name, email and subject and the
// config's display_name carry C1 controls, a right-to-left override,
// zero-width characters and an escape sequence. Neither the login output
// nor status shows any of them; the letters around them stay.
func TestHostileDisplayText(t *testing.T) {
	op := oidctest.New(t)
	op.Userinfo = func(u map[string]any) {
		u["name"] = "Ada\u009b2J \u202eecalovoL\u202c\u200b\x1b]0;pwned\x07"
		u["email"] = "ada\u200d@example.com\u2066"
	}
	r := newRun(t).withBot("")
	r.config(fmt.Sprintf("[providers.evil]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\ndisplay_name = \"Corp\\u202e SSO\\u0085\\u200b\"\n", op.Issuer(), oidctest.ClientID))
	res := r.exec("login", "evil", "--timeout", "20s")
	if res.code != 0 {
		t.Fatalf("login: exit %d\n%s", res.code, res.stderr)
	}
	mustContain(t, "login output", res.stdout, "Signed in to Corp SSO as Ada2J ecalovoL]0;pwned <ada@example.com>")
	status := r.exec("status")
	for what, out := range map[string]string{"login stdout": res.stdout, "login stderr": res.stderr, "status": status.stdout + status.stderr} {
		if c, ok := hiddenRune(out); ok {
			t.Errorf("%s holds %U: %q", what, c, out)
		}
	}
	mustContain(t, "status", status.stdout, "ada@example.com")
}

// TestPlatformOpenerEnvironment: with a display and no $BROWSER, authcli
// starts the desktop opener (xdg-open, here a stand-in on PATH that hands
// the URL to the bot). The opener's environment lacks the vault's key.
func TestPlatformOpenerEnvironment(t *testing.T) {
	if runtime.GOOS != "linux" && !strings.HasSuffix(runtime.GOOS, "bsd") {
		t.Skipf("the platform opener on %s is not xdg-open", runtime.GOOS)
	}
	idp := startDevIDP(t)
	r := newRun(t)
	bin := filepath.Join(r.dir, "bin")
	envFile := filepath.Join(r.dir, "opener-env")
	if err := os.Mkdir(bin, 0o700); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nenv > " + envFile + "\nexec " + botBin + " \"$1\"\n"
	if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	r.setenv("PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "DISPLAY=:99", "BROWSERBOT_FIELDS=user=ada")
	r.config(fmt.Sprintf("[providers.local]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\n", idp.Issuer(), devidp.DemoClientID))
	res := r.exec("login", "local", "--timeout", "30s")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	env, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal("the platform opener was not started")
	}
	if key := r.envValue("AUTHCLI_VAULT_KEY"); strings.Contains(string(env), "AUTHCLI_VAULT_KEY=") || strings.Contains(string(env), key) {
		t.Error("the opener's environment holds the vault key")
	}
	mustContain(t, "opener environment", string(env), "DISPLAY=:99")
}

// TestHostileHugeClaims: a provider answers with a 400 KiB name. The
// sign-in works; accounts.json, which every `authcli token` reads, stays
// small, keeping the name cut short and the oversized claim out.
func TestHostileHugeClaims(t *testing.T) {
	op := oidctest.New(t)
	op.Userinfo = func(u map[string]any) { u["name"] = "Ada " + strings.Repeat("L", 400<<10) }
	r := signedInTo(t, op)
	st, err := os.Stat(filepath.Join(r.stateDir(), "accounts.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 32<<10 {
		t.Errorf("accounts.json is %d bytes after a 400 KiB name", st.Size())
	}
	res := r.exec("status", "--json")
	var s struct {
		Accounts []struct {
			Identities []struct {
				Name string `json:"name"`
			} `json:"identities"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &s); err != nil || len(s.Accounts) != 1 || len(s.Accounts[0].Identities) != 1 {
		t.Fatalf("status --json: %v\n%.500s", err, res.stdout)
	}
	if name := s.Accounts[0].Identities[0].Name; !strings.HasPrefix(name, "Ada LLL") || len(name) > 300 {
		t.Errorf("stored name is %d bytes", len(name))
	}
	if res := r.exec("token", "evil"); res.code != 0 || strings.TrimSpace(res.stdout) != op.AccessToken {
		t.Errorf("token after the sign-in: exit %d\n%s", res.code, res.stderr)
	}
}

// TestHostileStartURL: what a local user can read of the sign-in. The
// browser's command line (world-readable in /proc) holds only the one-time
// loopback link, never the state; a local user who races the browser to
// that link stops the sign-in instead of learning a state it can use.
func TestHostileStartURL(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc here")
	}
	idp := startDevIDP(t)
	config := fmt.Sprintf("[providers.local]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\n", idp.Issuer(), devidp.DemoClientID)

	t.Run("no state on the command line", func(t *testing.T) {
		r := newRun(t).withBot("user=ada")
		seen := filepath.Join(r.dir, "cmdline")
		script := filepath.Join(r.dir, "browser")
		body := "#!/bin/sh\ntr '\\0' ' ' < /proc/$$/cmdline > " + seen + "\nexec \"$REAL_BROWSER\" \"$@\"\n"
		if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
			t.Fatal(err)
		}
		r.setenv("REAL_BROWSER="+botBin, "BROWSER="+script)
		r.config(config)
		res := r.exec("login", "local", "--timeout", "30s")
		if res.code != 0 {
			t.Fatalf("exit %d\n%s", res.code, res.stderr)
		}
		cmdline, err := os.ReadFile(seen)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(cmdline), "state=") || strings.Contains(string(cmdline), "code_challenge") || strings.Contains(string(cmdline), idp.Issuer()) {
			t.Errorf("the browser's command line shows the authorization request: %s", cmdline)
		}
		if !regexp.MustCompile(`http://127\.0\.0\.1:\d+/start/[A-Za-z0-9_-]{43}`).Match(cmdline) {
			t.Errorf("the browser was not given the one-time start URL: %s", cmdline)
		}
	})

	t.Run("a local user opens the link first", func(t *testing.T) {
		r := newRun(t).withBot("user=ada")
		out := filepath.Join(r.dir, "stolen")
		script := filepath.Join(r.dir, "browser")
		// The attacker fetches the link from the command line before the
		// browser does and keeps the answer (the redirect to the provider).
		body := `#!/bin/bash
url="$1"
hostport=$(printf '%s' "$url" | sed -n 's|^http://\([^/]*\)/.*|\1|p')
path=$(printf '%s' "$url" | sed -n 's|^http://[^/]*\(/.*\)|\1|p')
exec 4<>"/dev/tcp/${hostport%:*}/${hostport#*:}" || exit 1
printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hostport" >&4
cat <&4 > "` + out + `"
exec 4<&-
exec "$REAL_BROWSER" "$url"
`
		if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
			t.Fatal(err)
		}
		r.setenv("REAL_BROWSER="+botBin, "BROWSER="+script)
		r.config(config)
		before := idp.Stats().AuthCodeGrants
		res := r.exec("login", "local", "--timeout", "30s")
		if res.code != 1 {
			t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
		}
		mustContain(t, "stderr", res.stderr, "one-time sign-in link was opened twice")
		mustContain(t, "browser page", r.botPage(), "already opened once")
		if stolen, _ := os.ReadFile(out); !strings.Contains(string(stolen), "302 Found") {
			t.Errorf("the attacker's request was not the first: %.300s", stolen)
		}
		nothingStored(t, r)
		if n := idp.Stats().AuthCodeGrants - before; n != 0 {
			t.Errorf("provider saw %d code exchanges", n)
		}
	})
}
