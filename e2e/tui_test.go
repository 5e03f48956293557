package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/devidp"
)

// tmuxSession is the real authcli binary in a detached tmux session of
// its own tmux server, driven with send-keys and read with capture-pane.
type tmuxSession struct {
	t      *testing.T
	tmux   string
	socket string
	name   string
}

// startTUI runs `authcli args...` in tmux at 100×30 with the run's hermetic
// environment (a wrapper script sets exactly r.env, so nothing of the
// developer's own environment leaks in). The exit code lands in exitFile.
func startTUI(t *testing.T, r *run, exitFile string, args ...string) *tmuxSession {
	t.Helper()
	tmuxBin, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is not installed; CI must install it (.ci/run does)")
		}
		t.Skip("tmux is not installed: the TUI end-to-end test needs it (apt install tmux)")
	}
	var script strings.Builder
	script.WriteString("#!/bin/sh\nenv -i TERM=\"${TERM:-xterm-256color}\"")
	for _, kv := range r.env {
		script.WriteString(" " + shQuote(kv))
	}
	script.WriteString(" " + shQuote(authcliBin))
	for _, a := range args {
		script.WriteString(" " + shQuote(a))
	}
	fmt.Fprintf(&script, "\necho $? > %s\n", shQuote(exitFile))
	wrapper := filepath.Join(r.dir, "run-tui.sh")
	if err := os.WriteFile(wrapper, []byte(script.String()), 0o700); err != nil {
		t.Fatal(err)
	}
	s := &tmuxSession{t: t, tmux: tmuxBin, socket: filepath.Join(r.dir, "tmux.sock"), name: "authcli-tui"}
	s.run("-f", os.DevNull, "new-session", "-d", "-x", "100", "-y", "30", "-s", s.name, wrapper)
	t.Cleanup(func() {
		_ = exec.Command(s.tmux, "-S", s.socket, "kill-server").Run()
	})
	return s
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, s.tmux, append([]string{"-S", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// keys sends tmux key names (Enter, Escape, j, …) one at a time.
func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	for _, k := range keys {
		s.run("send-keys", "-t", s.name, k)
	}
}

func (s *tmuxSession) screen() string {
	s.t.Helper()
	return s.run("capture-pane", "-p", "-t", s.name)
}

// waitFor polls the screen until cond holds, for at most d.
func (s *tmuxSession) waitFor(what string, d time.Duration, cond func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		screen := s.screen()
		if cond(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the TUI did not show %s within %v; screen:\n%s", what, d, screen)
		}
		time.Sleep(50 * time.Millisecond) // polling interval of a bounded wait
	}
}

// waitText waits until the screen shows every text, compared with runs of
// white space (line breaks included) folded, so wrapped sentences match.
func (s *tmuxSession) waitText(d time.Duration, texts ...string) string {
	s.t.Helper()
	return s.waitFor(fmt.Sprintf("%q", texts), d, func(screen string) bool {
		flat := fold(screen)
		for _, text := range texts {
			if !strings.Contains(flat, fold(text)) {
				return false
			}
		}
		return true
	})
}

// waitExit waits for the wrapper to record authcli's exit code.
func (s *tmuxSession) waitExit(exitFile string) string {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if b, err := os.ReadFile(exitFile); err == nil && strings.TrimSpace(string(b)) != "" {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("authcli did not exit; screen:\n%s", s.screen())
		}
		time.Sleep(50 * time.Millisecond) // polling interval of a bounded wait
	}
}

func fold(s string) string { return strings.Join(strings.Fields(s), " ") }

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// listRows counts the identity rows of provider on the accounts list (the
// line starts with the cursor column, then the display name).
func listRows(screen, displayName string) int {
	n := 0
	for _, line := range strings.Split(screen, "\n") {
		trimmed := strings.TrimPrefix(strings.TrimSpace(line), "> ")
		if strings.HasPrefix(trimmed, displayName+"  ") {
			n++
		}
	}
	return n
}

// TestTUILinkUnlink is issue 8's end-to-end: sign in once with the CLI,
// then in the TUI link the same provider configured under a second name,
// see it listed, unlink it, and see the last identity refused.
func TestTUILinkUnlink(t *testing.T) {
	idp := startDevIDP(t)
	r := newRun(t).withBot("user=grace")
	r.config(twoNames(idp.Issuer(), false))

	res := r.exec("login", "first", "--timeout", "30s")
	if res.code != 0 {
		t.Fatalf("login first: exit %d\n%s", res.code, res.stderr)
	}

	exitFile := filepath.Join(r.dir, "tui-exit")
	s := startTUI(t, r, exitFile, "accounts", "--timeout", "30s")
	screen := s.waitText(10*time.Second, "grace (default)", "First IdP", "grace@example.com", "valid")
	if n := listRows(screen, "Second IdP"); n != 0 {
		t.Fatalf("Second IdP is listed before linking:\n%s", screen)
	}

	// Link: the picker, the second provider, the browser flow (browserbot).
	s.keys("l")
	s.waitText(5*time.Second, "Link a provider to account grace", "Second IdP (second)")
	s.keys("j", "Enter")
	screen = s.waitText(20*time.Second, "Linked the Second IdP identity to account grace.")
	screen = s.waitFor("the linked identity", 5*time.Second, func(sc string) bool { return listRows(sc, "Second IdP") == 1 })
	if st := r.status(t); len(st.Accounts) != 1 || len(st.Accounts[0].Identities) != 2 {
		t.Fatalf("after linking in the TUI, status says %+v\nscreen:\n%s", st, screen)
	}

	// Unlink the second identity: select it, confirm.
	s.keys("j", "u")
	s.waitText(5*time.Second, "Unlink the Second IdP identity grace@example.com from account grace?")
	s.keys("y")
	s.waitText(10*time.Second, "Unlinked the Second IdP identity grace@example.com from account grace")
	screen = s.waitFor("the identity gone", 5*time.Second, func(sc string) bool { return listRows(sc, "Second IdP") == 0 })
	if got := idp.Stats().Revocations; got != 1 {
		t.Errorf("provider saw %d revocations after the unlink, want 1", got)
	}
	if st := r.status(t); len(st.Accounts) != 1 || len(st.Accounts[0].Identities) != 1 {
		t.Fatalf("after unlinking in the TUI, status says %+v\nscreen:\n%s", st, screen)
	}

	// The last identity: refused, nothing changed.
	s.keys("u")
	s.waitText(5*time.Second, "Not unlinked:", "is the only way to sign in to account grace", "Nothing changed.")
	if st := r.status(t); len(st.Accounts[0].Identities) != 1 {
		t.Fatalf("the refused unlink changed the accounts: %+v", st)
	}

	s.keys("q")
	if code := s.waitExit(exitFile); code != "0" {
		t.Errorf("authcli accounts exited with %s", code)
	}
}

// TestBareAuthcli: on a terminal bare authcli opens the accounts screen;
// without one it prints help, and authcli accounts refuses.
func TestBareAuthcli(t *testing.T) {
	r := newRun(t)
	r.config("")
	res := r.exec()
	if res.code != 0 || !strings.Contains(res.stdout, "Usage:") || !strings.Contains(res.stdout, "accounts") {
		t.Errorf("bare authcli without a terminal: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	res = r.exec("accounts")
	if res.code != 2 || !strings.Contains(res.stderr, "authcli accounts needs a terminal") {
		t.Errorf("authcli accounts without a terminal: exit %d\n%s", res.code, res.stderr)
	}

	exitFile := filepath.Join(r.dir, "tui-exit")
	s := startTUI(t, r, exitFile)
	s.waitText(10*time.Second, "authcli accounts", "No accounts yet")
	s.keys("q")
	if code := s.waitExit(exitFile); code != "0" {
		t.Errorf("bare authcli exited with %s", code)
	}
}

// TestTUILinkDevice: on a machine with no browser, where login would use
// the device grant, the TUI's link does too: it shows the provider's page
// and the code (not "Finish in your browser"), and links once the code is
// approved there.
func TestTUILinkDevice(t *testing.T) {
	idp, err := devidp.Start(devidp.Options{DevicePollInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	r := newRun(t).withBot("user=grace")
	r.config(twoNames(idp.Issuer(), false))
	if res := r.exec("login", "first", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("login first: exit %d\n%s", res.code, res.stderr)
	}
	r.setenv("BROWSER=") // no browser, no display: the CLI would use the device grant

	exitFile := filepath.Join(r.dir, "tui-exit")
	s := startTUI(t, r, exitFile, "accounts", "--timeout", "60s")
	s.waitText(10*time.Second, "grace (default)")
	s.keys("l")
	// Only the provider grace has no identity at is offered.
	screen := s.waitText(5*time.Second, "Link a provider to account grace", "Second IdP (second)")
	if strings.Contains(screen, "First IdP (first)") {
		t.Errorf("the picker offers the provider already linked:\n%s", screen)
	}
	s.keys("Enter")
	screen = s.waitText(10*time.Second, "Signing in to Second IdP to link it to account grace", "enter the code", idp.Issuer()+"/device")
	if strings.Contains(screen, "Finish in your browser") {
		t.Errorf("a device sign-in tells the person to finish in a browser that cannot open:\n%s", screen)
	}
	code := userCode.FindString(screen)
	if code == "" {
		t.Fatalf("no user code on the screen:\n%s", screen)
	}
	if err := idp.ApproveDevice(code, "grace"); err != nil {
		t.Fatalf("approve %s: %v", code, err)
	}
	s.waitText(20*time.Second, "Linked the Second IdP identity to account grace.")
	if st := r.status(t); len(st.Accounts) != 1 || len(st.Accounts[0].Identities) != 2 {
		t.Errorf("after the device link, status says %+v", st)
	}
	// The result goes with the next key.
	s.keys("k")
	s.waitFor("the result line gone", 5*time.Second, func(sc string) bool { return !strings.Contains(sc, "Linked the Second IdP identity") })
	s.keys("q")
	if code := s.waitExit(exitFile); code != "0" {
		t.Errorf("authcli accounts exited with %s", code)
	}
}

// TestTUICancelSignIn: with --no-browser, the TUI shows the sign-in
// address; esc cancels the sign-in, which closes the loopback listener and
// stores nothing.
func TestTUICancelSignIn(t *testing.T) {
	idp := startDevIDP(t)
	r := newRun(t).withBot("user=grace")
	r.config(twoNames(idp.Issuer(), false))
	if res := r.exec("login", "first", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("login first: exit %d\n%s", res.code, res.stderr)
	}
	r.setenv("BROWSER=") // the TUI's sign-ins find no browser: the address is all there is

	// A fixed loopback port, so the test can see the listener come and go.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	listening := func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}

	exitFile := filepath.Join(r.dir, "tui-exit")
	s := startTUI(t, r, exitFile, "accounts", "--timeout", "30s", "--no-browser", "--port", strconv.Itoa(port))
	s.waitText(10*time.Second, "grace (default)")
	s.keys("l")
	s.waitText(5*time.Second, "Link a provider to account grace")
	s.keys("j", "Enter")
	s.waitText(10*time.Second, "Signing in to Second IdP to link it to account grace", "open this address", fmt.Sprintf("http://%s/", strings.TrimPrefix(idp.Issuer(), "http://")))
	if !listening() {
		t.Fatalf("no loopback listener on port %d while the sign-in waits", port)
	}
	s.keys("Escape")
	s.waitText(10*time.Second, "Sign-in canceled; nothing was stored.")
	if listening() {
		t.Errorf("the loopback listener on port %d is still open after esc", port)
	}
	if st := r.status(t); len(st.Accounts) != 1 || len(st.Accounts[0].Identities) != 1 {
		t.Errorf("the canceled sign-in changed the accounts: %+v", st)
	}
	s.keys("q")
	if code := s.waitExit(exitFile); code != "0" {
		t.Errorf("authcli accounts exited with %s", code)
	}
}
