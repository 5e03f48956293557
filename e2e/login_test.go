package e2e

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"

	"github.com/authcli/authcli/internal/devidp"
)

// TestDemoWithoutBrowser is the README's first command on a machine with no
// browser: authcli plays the browser itself and says so.
func TestDemoWithoutBrowser(t *testing.T) {
	r := newRun(t)
	res := r.exec("demo", "--timeout", "30s")
	if res.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", res.code, res.stderr)
	}
	mustContain(t, "stdout", res.stdout, "Signed in to the demo provider as Ada Lovelace <ada@example.com>.", "subject:  ada", "refresh:  yes")
	mustContain(t, "stderr", res.stderr, "No browser can be opened here, so authcli plays the browser's part")
}

// TestDemoWithBrowser: with $BROWSER set, the demo opens the real login page
// in it, and the person's choice (here Grace) is who signs in.
func TestDemoWithBrowser(t *testing.T) {
	r := newRun(t).withBot("user=grace")
	res := r.exec("demo", "--timeout", "30s")
	if res.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s\nbot:\n%s", res.code, res.stderr, r.botPage())
	}
	mustContain(t, "stdout", res.stdout, "as Grace Hopper <grace@example.com>.")
	mustContain(t, "browser page", r.botPage(), "You are signed in", "Signed in as grace@example.com")
}

// startDevIDP runs the embedded provider in the test process.
func startDevIDP(t *testing.T) *devidp.Server {
	t.Helper()
	idp, err := devidp.Start(devidp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	return idp
}

func TestLoginDevIDPFromConfig(t *testing.T) {
	idp := startDevIDP(t)
	r := newRun(t).withBot("user=alan")
	r.config(fmt.Sprintf(`
default_provider = "local"

[providers.local]
kind = "oidc"
display_name = "Local IdP"
issuer = %q
client_id = %q
`, idp.Issuer(), devidp.DemoClientID))
	res := r.exec("login", "--timeout", "30s")
	if res.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s\nbot:\n%s", res.code, res.stderr, r.botPage())
	}
	mustContain(t, "stdout", res.stdout, "Signed in to Local IdP as Alan Turing <alan@example.com>.", "email:    alan@example.com (not verified)")
	if st := idp.Stats(); st.AuthCodeGrants != 1 || st.UserinfoRequests != 1 {
		t.Errorf("provider saw %+v, want one code exchange and one userinfo call", st)
	}
}

// TestLoginDenied: the person refuses consent; the provider's error comes
// back, the tab shows the failure page, authcli exits 1 with one sentence.
func TestLoginDenied(t *testing.T) {
	idp := startDevIDP(t)
	r := newRun(t).withBot("action=deny")
	r.config(fmt.Sprintf("[providers.local]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\n", idp.Issuer(), devidp.DemoClientID))
	res := r.exec("login", "local", "--timeout", "30s")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\nstderr:\n%s", res.code, res.stderr)
	}
	mustContain(t, "stderr", res.stderr, "access_denied", "allow access at the provider")
	if n := strings.Count(strings.TrimSpace(lastLines(res.stderr, 1)), "\n"); n != 0 || !strings.HasPrefix(lastLines(res.stderr, 1), "authcli: ") {
		t.Errorf("error is not one line starting with authcli: %q", lastLines(res.stderr, 1))
	}
	mustContain(t, "browser page", r.botPage(), "Status: 400", "Sign-in cancelled", "nothing was stored")
	if res.stdout != "" {
		t.Errorf("stdout not empty on failure: %q", res.stdout)
	}
}

// TestLoginExternalProvider signs in against zitadel's example OpenID
// provider (github.com/zitadel/oidc/v3/example/server): code this project
// did not write, configured only through the TOML file and $BROWSER.
func TestLoginExternalProvider(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := fmt.Sprintf("http://127.0.0.1:%d/", ln.Addr().(*net.TCPAddr).Port)
	storage.RegisterClients(storage.NativeClient("native", "http://127.0.0.1/callback/zitadel"))
	router := exampleop.SetupServer(issuer, storage.NewStorage(storage.NewUserStore(issuer)), slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	r := newRun(t).withBot("username=test-user2&password=verysecure")
	r.config(fmt.Sprintf(`
[providers.zitadel]
kind = "oidc"
issuer = %q
client_id = "native"
scopes = ["openid", "email", "profile"]
`, issuer))
	res := r.exec("login", "zitadel", "--timeout", "30s")
	if res.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s\nbot:\n%.2000s", res.code, res.stderr, r.botPage())
	}
	mustContain(t, "stdout", res.stdout, "Signed in to zitadel as", "test-user2@zitadel.ch", "subject:  id2")
}

// TestListenerOnLoopbackOnly: while a sign-in waits, its redirect port
// answers on 127.0.0.1 and on no other address of this machine.
func TestListenerOnLoopbackOnly(t *testing.T) {
	idp := startDevIDP(t)
	r := newRun(t)
	urlFile := filepath.Join(r.dir, "url")
	// A "browser" that only writes down the URL: the sign-in keeps waiting.
	script := filepath.Join(r.dir, "record-url")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s' \"$1\" > "+urlFile+".tmp && mv "+urlFile+".tmp "+urlFile+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	r.setenv("BROWSER=" + script)
	r.config(fmt.Sprintf("[providers.local]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\n", idp.Issuer(), devidp.DemoClientID))
	done := make(chan result, 1)
	go func() { done <- r.exec("login", "local", "--timeout", "15s") }()

	var port string
	deadline := time.Now().Add(10 * time.Second)
	for port == "" && time.Now().Before(deadline) {
		if b, err := os.ReadFile(urlFile); err == nil {
			// The browser gets the listener's one-time start link.
			if m := regexp.MustCompile(`^http://127\.0\.0\.1:(\d+)/start/`).FindStringSubmatch(string(b)); m != nil {
				port = m[1]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if port == "" {
		t.Fatal("no 127.0.0.1 start link was handed to $BROWSER")
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 2*time.Second)
	if err != nil {
		t.Fatalf("listener not reachable on 127.0.0.1:%s: %v", port, err)
	}
	c.Close()
	addrs, _ := net.InterfaceAddrs()
	checked := 0
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		checked++
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(ipn.IP.String(), port), time.Second); err == nil {
			c.Close()
			t.Errorf("listener reachable on %s:%s", ipn.IP, port)
		}
	}
	t.Logf("checked %d non-loopback addresses", checked)
	res := <-done
	if res.code != 1 || !strings.Contains(res.stderr, "did not finish within --timeout") {
		t.Errorf("exit %d, stderr %q: want the timeout sentence", res.code, res.stderr)
	}
}

func TestConfigErrorsNameFileAndKey(t *testing.T) {
	r := newRun(t)
	path := r.config("[providers.corp]\nkind = \"oidc\"\nissuer = \"http://login.corp.example\"\nclient_id = \"x\"\n")
	res := r.exec("login", "corp")
	if res.code != 2 {
		t.Fatalf("exit %d, want 2\n%s", res.code, res.stderr)
	}
	mustContain(t, "stderr", res.stderr, path, "providers.corp.issuer", "https")

	r = newRun(t)
	res = r.exec("login", "--config", filepath.Join(r.dir, "missing.toml"))
	if res.code != 2 {
		t.Fatalf("missing config: exit %d, want 2\n%s", res.code, res.stderr)
	}
	mustContain(t, "stderr", res.stderr, "missing.toml", "does not exist")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
