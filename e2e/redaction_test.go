package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/devidp"
)

// traced is one authcli process of the redaction test: what it printed and
// the command line the kernel shows for it.
type traced struct {
	args           []string
	stdout, stderr string
	cmdline        string // /proc/PID/cmdline, NULs as spaces
	code           int
}

// execTraced is r.exec that also reads the process's /proc/PID/cmdline
// while it runs (Start returns after the exec, so it is authcli's).
func (r *run) execTraced(args ...string) traced {
	r.t.Helper()
	var cl string
	res := r.execWatch(func(pid int) { cl = procCmdline(pid) }, args...)
	return traced{args: args, stdout: res.stdout, stderr: res.stderr, cmdline: cl, code: res.code}
}

// procCmdline reads /proc/PID/cmdline, NULs as spaces. The kernel shows it
// empty for a moment during exec and again once the process has exited
// (a zombie until Wait): it polls through the first, bounded, and gives ""
// for the second.
func procCmdline(pid int) string {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			return ""
		}
		if len(b) > 0 {
			return string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if _, after, ok := bytes.Cut(stat, []byte(") ")); ok && bytes.HasPrefix(after, []byte("Z")) {
			return ""
		}
		time.Sleep(time.Millisecond)
	}
	return ""
}

// TestRedaction runs every command with -v through two sign-ins, token in
// each format, a forced refresh, status, providers, unlink and logout
// against the embedded provider, then looks for every token value it ever
// issued, and the vault key: none may appear in any stderr, in any stdout but token's own, in
// the state directory's plain files, or in the command lines and
// environment of authcli and of the $BROWSER child it starts.
func TestRedaction(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc: process arguments cannot be read here")
	}
	idp := startDevIDP(t)
	r := newRun(t).withBot("user=ada")
	// $BROWSER records its own argv and environment and its parent's
	// (authcli's) command line, then becomes the bot.
	spy := filepath.Join(r.dir, "spy")
	if err := os.Mkdir(spy, 0o700); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(r.dir, "browser")
	body := `#!/bin/sh
n=$$
printf '%s ' "$0" "$@" > "` + spy + `/browser-argv.$n"
tr '\0' ' ' < /proc/$$/environ > "` + spy + `/browser-environ.$n"
tr '\0' ' ' < /proc/$PPID/cmdline > "` + spy + `/authcli-cmdline.$n"
exec "$REAL_BROWSER" "$@"
`
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	r.setenv("REAL_BROWSER="+botBin, "BROWSER="+script)
	r.config(fmt.Sprintf(`default_provider = "local"

[providers.local]
kind = "oidc"
issuer = %[1]q
client_id = %[2]q

[providers.other]
kind = "oidc"
issuer = %[1]q
client_id = %[2]q
`, idp.Issuer(), devidp.DemoClientID))
	v := r.openVault(t, nil)

	secrets := map[string]string{} // value -> where it came from
	collect := func(when string) {
		t.Helper()
		keys, err := v.List("")
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			rec := storedRecord(t, v, k)
			for what, s := range map[string]string{"access token": rec.AccessToken, "refresh token": rec.RefreshToken, "ID token": rec.IDToken} {
				if s == "" {
					continue
				}
				secrets[s] = fmt.Sprintf("%s of %s (%s)", what, k, when)
				// A token printed in part still leaks: the ID token's
				// signature alone is enough to recognise it.
				if what == "ID token" {
					parts := strings.Split(s, ".")
					secrets[parts[2]] = fmt.Sprintf("%s signature of %s (%s)", what, k, when)
				}
			}
		}
	}

	var runs []traced
	step := func(want int, args ...string) traced {
		t.Helper()
		res := r.execTraced(append(args, "-v")...)
		if res.code != want {
			t.Fatalf("authcli %v: exit %d, want %d\n%s", res.args, res.code, want, res.stderr)
		}
		runs = append(runs, res)
		return res
	}

	step(0, "login", "local", "--timeout", "30s")
	collect("after login")
	first := storedRecord(t, v, "local/ada")
	raw := step(0, "token", "local")
	if raw.stdout != first.AccessToken+"\n" {
		t.Fatal("token did not print the stored access token: the check below would prove nothing")
	}
	step(0, "token", "--format", "json")
	step(0, "token", "--format", "env")
	step(0, "token", "--id-token")
	step(0, "token", "local", "--min-ttl", "2h") // forced refresh
	collect("after the refresh")
	if storedRecord(t, v, "local/ada").AccessToken == first.AccessToken {
		t.Fatal("--min-ttl 2h did not refresh")
	}
	step(0, "login", "local", "--timeout", "30s") // a known identity: tokens replaced
	collect("after the second login")
	step(0, "link", "other", "--account", "ada", "--timeout", "30s")
	collect("after link")
	step(0, "status")
	step(0, "status", "--json")
	step(0, "providers")
	step(0, "providers", "--json")
	step(0, "version")
	step(0, "unlink", "other", "--account", "ada")
	step(0, "logout", "local")
	step(3, "token", "local")
	if keys, err := v.List(""); err != nil || len(keys) != 0 {
		t.Errorf("vault after logout: %v (err %v)", keys, err)
	}
	if st := idp.Stats(); st.RefreshGrants != 1 || st.AuthCodeGrants != 3 || st.Revocations < 2 {
		t.Errorf("provider saw %+v, want 3 sign-ins, 1 refresh, 2 revocations", st)
	}
	// The file vault's key opens every token: the browser, an unrelated
	// program, must not inherit it.
	for _, name := range []string{"AUTHCLI_VAULT_KEY", "AUTHCLI_VAULT_PASSPHRASE"} {
		if val := r.envValue(name); val != "" {
			secrets[val] = name
		}
	}
	if len(secrets) < 8 {
		t.Fatalf("only %d token values collected", len(secrets))
	}

	leaks := func(where, text string) {
		t.Helper()
		for s, what := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("the %s appears in %s", what, where)
			}
		}
	}
	for _, res := range runs {
		name := "authcli " + strings.Join(res.args, " ")
		leaks("stderr of "+name, res.stderr)
		if res.args[0] != "token" {
			leaks("stdout of "+name, res.stdout)
		}
		// Sign-ins wait for the browser, so they are always caught
		// running; a quick command may be gone before its line is read.
		if res.cmdline == "" && (res.args[0] == "login" || res.args[0] == "link") {
			t.Errorf("%s: its /proc cmdline could not be read", name)
		}
		if res.cmdline != "" && !strings.HasPrefix(res.cmdline, authcliBin+" ") {
			t.Errorf("%s: /proc shows another process: %q", name, res.cmdline)
		}
		leaks("the command line of "+name, res.cmdline)
	}
	spied, _ := filepath.Glob(filepath.Join(spy, "*"))
	if len(spied) != 9 { // three sign-ins, three files each
		t.Errorf("$BROWSER left %d records, want 9: %v", len(spied), spied)
	}
	for _, p := range spied {
		b, _ := os.ReadFile(p)
		if strings.HasPrefix(filepath.Base(p), "authcli-cmdline") && !strings.Contains(string(b), "login") && !strings.Contains(string(b), "link") {
			t.Errorf("%s does not hold authcli's command line: %q", filepath.Base(p), b)
		}
		leaks(filepath.Base(p), string(b))
	}
	// Every file authcli left in its state directory, the encrypted vault
	// included (its ciphertext must not hold a token either).
	files := 0
	err := filepath.WalkDir(r.stateDir(), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		leaks(p, string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.stateDir(), "accounts.json")); err != nil || files < 2 {
		t.Errorf("state directory has %d files (accounts.json: %v): the scan proves nothing", files, err)
	}
	leaks("the bot's last page", r.botPage())
}
