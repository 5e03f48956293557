//go:build linux

// The agent end to end: Linux, where authcli reads /proc, runs sshd and
// switches users for the tests.

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/agent"
	"github.com/authcli/authcli/internal/devidp"
	"github.com/authcli/authcli/internal/vault"
)

// agentRun is an agent started the way README says (eval "$(authcli
// agent start)") and the environment of its callers, which hold no vault
// key.
type agentRun struct {
	*run
	sock, forward string
	pid           int
	runtimeDir    string
	callers       *run
}

// shortTempDir is a 0700 directory whose path fits in a unix socket
// address.
func shortTempDir(t *testing.T, prefix string) string {
	t.Helper()
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func startAgent(t *testing.T, r *run, args ...string) *agentRun {
	t.Helper()
	rt := shortTempDir(t, "agrt")
	r.setenv("XDG_RUNTIME_DIR="+rt, "PATH="+filepath.Dir(authcliBin)+":"+os.Getenv("PATH"))
	script := `eval "$(authcli agent start "$@")" || exit 1
printf '%s\n%s\n%s\n' "$AUTHCLI_AGENT_SOCK" "$AUTHCLI_AGENT_FORWARD_SOCK" "$AUTHCLI_AGENT_PID"`
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", script, "sh"}, args...)...)
	cmd.Env = r.env
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("eval \"$(authcli agent start)\": %v\n%s%s", err, out, stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "Agent pid ") {
		t.Fatalf("agent start printed:\n%s", out)
	}
	a := &agentRun{run: r, sock: lines[1], forward: lines[2], runtimeDir: rt}
	fmt.Sscan(lines[3], &a.pid)
	t.Cleanup(func() {
		a.callers.exec("agent", "stop")
		// Bounded wait for our own agent to exit; kill it by pid if not.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if syscall.Kill(a.pid, 0) != nil {
				return
			}
		}
		_ = syscall.Kill(a.pid, syscall.SIGKILL)
	})
	callers := &run{t: t, dir: r.dir, botLog: r.botLog}
	for _, kv := range r.env {
		name, _, _ := strings.Cut(kv, "=")
		if name != vault.EnvVault && name != vault.EnvVaultKey && name != vault.EnvVaultPassphrase {
			callers.env = append(callers.env, kv)
		}
	}
	callers.env = append(callers.env, "AUTHCLI_AGENT_SOCK="+a.sock)
	a.callers = callers
	return a
}

func (a *agentRun) log() string {
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(a.sock), "agent.log"))
	return string(b)
}

// agentWithIdP is a configured run (provider "local" at a devidp behind
// proxy, and "other", the same provider under another name) with an agent.
func agentWithIdP(t *testing.T, opts devidp.Options, agentArgs ...string) (*devidp.Server, *agentRun) {
	t.Helper()
	idp, err := devidp.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	r := newRun(t).withBot("user=ada")
	r.config(agentConfig(idp.Issuer(), ""))
	a := startAgent(t, r, agentArgs...)
	return idp, a
}

func agentConfig(issuer, tokenURL string) string {
	extra := ""
	if tokenURL != "" {
		extra = fmt.Sprintf("token_url = %q\n", tokenURL)
	}
	return fmt.Sprintf(`default_provider = "local"
[providers.local]
kind = "oidc"
issuer = %[1]q
client_id = %[2]q
%[3]s
[providers.other]
kind = "oidc"
issuer = %[1]q
client_id = %[2]q
`, issuer, devidp.DemoClientID, extra)
}

// TestAgentCommands: login, token, exec and status through the agent, with
// no vault key in the callers' environment; 100 concurrent callers of an
// expired token make one refresh; the socket and its directory are
// private; agent status tells what the agent holds.
func TestAgentCommands(t *testing.T) {
	idp, a := agentWithIdP(t, devidp.Options{}, "--lifetime", "1h")
	c := a.callers
	for path, want := range map[string]os.FileMode{filepath.Dir(a.sock): 0o700, a.sock: 0o600, a.forward: 0o600} {
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", path, fi.Mode().Perm(), want)
		}
	}
	if res := c.exec("login", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("login through the agent: exit %d\n%s", res.code, res.stderr)
	}
	v := a.openVault(t, nil) // the test's own look inside, with the agent's key
	stored := storedRecord(t, v, "local/ada")
	res := c.exec("token", "local")
	if res.code != 0 || res.stdout != stored.AccessToken+"\n" {
		t.Fatalf("token through the agent: exit %d, the stored token: %t\n%s", res.code, res.stdout == stored.AccessToken+"\n", res.stderr)
	}
	if res := c.exec("token", "--id-token"); res.code != 0 || res.stdout != stored.IDToken+"\n" {
		t.Errorf("token --id-token: exit %d %s", res.code, res.stderr)
	}
	script := `test "$TOK" = "$1" && test -z "$AUTHCLI_VAULT_KEY"`
	if res := c.exec("exec", "--env", "TOK", "--", "sh", "-c", script, "sh", stored.AccessToken); res.code != 0 {
		t.Errorf("exec through the agent: exit %d %s", res.code, res.stderr)
	}
	if s := c.status(t); len(s.Accounts) != 1 || s.Accounts[0].Identities[0].Token.Health != "valid" {
		t.Errorf("status: %+v", s)
	}
	// Without the agent the callers cannot open the vault: the agent is
	// what made the commands above work.
	noAgent := &run{t: t, dir: c.dir, env: withoutVar(c.env, "AUTHCLI_AGENT_SOCK")}
	noAgent.setenv("AUTHCLI_VAULT=file")
	if res := noAgent.exec("token", "local"); res.code != 5 {
		t.Errorf("token without agent or key: exit %d, want 5", res.code)
	}

	expire(t, v, "local/ada")
	const n = 100
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = c.exec("token", "local") })
	}
	wg.Wait()
	for i, res := range results {
		if res.code != 0 || res.stdout != results[0].stdout {
			t.Fatalf("caller %d: exit %d %s", i, res.code, res.stderr)
		}
	}
	if results[0].stdout == stored.AccessToken+"\n" {
		t.Error("the expired token was handed out")
	}
	if st := idp.Stats(); st.RefreshGrants != 1 || st.RefreshReuseDetected != 0 {
		t.Errorf("%d concurrent callers: the provider saw %d refreshes and %d reuses, want 1 and 0", n, st.RefreshGrants, st.RefreshReuseDetected)
	}

	res = c.exec("agent", "status", "--json")
	var st struct {
		PID       int    `json:"pid"`
		Locked    bool   `json:"locked"`
		Vault     string `json:"vault"`
		LocksAt   string `json:"locks_at"`
		Refreshes int    `json:"refreshes"`
		// token --id-token and exec named no provider: the default.
		Identities []struct {
			Provider string `json:"provider"`
		} `json:"identities"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil {
		t.Fatalf("agent status --json: %v\n%s%s", err, res.stdout, res.stderr)
	}
	if st.PID != a.pid || st.Locked || st.Vault != "file" || st.LocksAt == "" || st.Refreshes != 1 || len(st.Identities) != 3 || st.Identities[2].Provider != "local" {
		t.Errorf("agent status: %+v", st)
	}
	res = c.exec("agent", "status")
	mustContain(t, "agent status", res.stdout, fmt.Sprintf("Agent pid %d", a.pid), "Vault: file, unlocked", "locks in", "Identities in use:", "  local")
	rec := storedRecord(t, v, "local/ada")
	for _, secret := range []string{rec.AccessToken, rec.RefreshToken, a.envValue("AUTHCLI_VAULT_KEY")} {
		if strings.Contains(res.stdout+res.stderr+a.log(), secret) {
			t.Error("agent status or the agent's log shows a secret")
		}
	}
	// What status says about memory is what the kernel says.
	if procStatus, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", a.pid)); err == nil {
		locked := !strings.Contains(string(procStatus), "VmLck:\t       0 kB")
		if says := strings.Contains(res.stdout, "memory locked"); says != locked {
			t.Errorf("agent status says memory locked: %t, the kernel: %t", says, locked)
		}
	}
	// Nothing of the vault key in the agent's argv or environment either.
	for _, f := range []string{"cmdline", "environ"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", a.pid, f))
		if err == nil && strings.Contains(string(b), a.envValue("AUTHCLI_VAULT_KEY")) {
			t.Errorf("the vault key is in the agent's /proc/PID/%s", f)
		}
	}
}

// TestAgentLogout: logout through the agent revokes with the refresh token
// the agent holds and deletes it from the agent's vault.
func TestAgentLogout(t *testing.T) {
	idp, a := agentWithIdP(t, devidp.Options{})
	c := a.callers
	if res := c.exec("login", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("login: exit %d\n%s", res.code, res.stderr)
	}
	if res := c.exec("logout", "local"); res.code != 0 {
		t.Fatalf("logout through the agent: exit %d\n%s", res.code, res.stderr)
	}
	if _, err := a.openVault(t, nil).Get("local/ada"); err == nil {
		t.Error("the tokens are still in the vault after logout")
	}
	if st := idp.Stats(); st.Revocations == 0 {
		t.Error("logout through the agent revoked nothing at the provider")
	}
	if res := c.exec("token", "local"); res.code != 3 {
		t.Errorf("token after logout: exit %d, want 3", res.code)
	}
}

// TestAgentRefreshAhead: an identity in use is refreshed by the agent
// before its token expires, with no caller waiting for it.
func TestAgentRefreshAhead(t *testing.T) {
	idp, a := agentWithIdP(t, devidp.Options{AccessTokenTTL: 8 * time.Second})
	c := a.callers
	if res := c.exec("login", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("login: exit %d\n%s", res.code, res.stderr)
	}
	first := c.exec("token", "local", "--min-ttl", "1s")
	if first.code != 0 {
		t.Fatalf("token: exit %d %s", first.code, first.stderr)
	}
	mustContain(t, "agent status", c.exec("agent", "status").stdout, "refreshed ahead in")
	deadline := time.Now().Add(15 * time.Second)
	for idp.Stats().RefreshGrants == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if idp.Stats().RefreshGrants == 0 {
		t.Fatal("the agent did not refresh ahead of expiry")
	}
	next := c.exec("token", "local", "--min-ttl", "1s")
	if next.code != 0 || next.stdout == first.stdout {
		t.Errorf("after the refresh ahead: exit %d, a new token: %t", next.code, next.stdout != first.stdout)
	}
	if st := idp.Stats(); st.RefreshGrants != 1 || st.RefreshReuseDetected != 0 {
		t.Errorf("the provider saw %d refreshes and %d reuses, want 1 and 0", st.RefreshGrants, st.RefreshReuseDetected)
	}
}

func withoutVar(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// slowTokenEndpoint is a proxy to the provider that holds every token
// request for delay, so that callers can be killed while the agent
// refreshes.
func slowTokenEndpoint(t *testing.T, issuer string, delay time.Duration, inFlight *atomic.Int32) string {
	t.Helper()
	resp, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Token string `json:"token_endpoint"`
	}
	err = json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	tu, _ := url.Parse(disc.Token)
	target := &url.URL{Scheme: tu.Scheme, Host: tu.Host}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		time.Sleep(delay)
		proxy.ServeHTTP(w, r)
	})}
	ln := listenLoopback(t)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + tu.Path
}

// TestAgentKilledCallers: 100 times, a caller that forces a refresh is
// killed (SIGKILL of its process group) at a random moment while the
// agent refreshes against a provider that rotates refresh tokens and
// revokes on reuse. Each time the next caller must get a token: a lost
// rotated refresh token would make the next refresh a reuse. 0 lost, 0
// reuses.
func TestAgentKilledCallers(t *testing.T) {
	idp, err := devidp.Start(devidp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	const delay = 60 * time.Millisecond
	r := newRun(t).withBot("user=ada")
	var inFlight atomic.Int32
	r.config(agentConfig(idp.Issuer(), slowTokenEndpoint(t, idp.Issuer(), delay, &inFlight)))
	a := startAgent(t, r)
	c := a.callers
	if res := c.exec("login", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("login: exit %d\n%s", res.code, res.stderr)
	}
	// The test expires the token through the agent's own vault protocol,
	// so the agent knows its last refresh is stale.
	av := (&agent.Client{Path: a.sock}).Vault()
	const runs = 100
	killedMidRefresh := 0
	for i := range runs {
		expire(t, av, "local/ada")
		cmd := exec.Command(authcliBin, "token", "local")
		cmd.Env = c.env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Somewhere between "has not connected yet" and "refresh done".
		time.Sleep(time.Duration(rand.N(int64(2 * delay))))
		if inFlight.Load() > 0 {
			killedMidRefresh++
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		// Waits for a refresh still in flight, or makes one: either way it
		// must succeed with the newest refresh token.
		res := c.exec("token", "local")
		if res.code != 0 {
			t.Fatalf("run %d: the caller after the kill: exit %d\n%s", i, res.code, res.stderr)
		}
	}
	st := idp.Stats()
	if st.RefreshReuseDetected != 0 {
		t.Errorf("the provider saw %d reuses of a refresh token", st.RefreshReuseDetected)
	}
	if res := c.exec("token", "local", "--min-ttl", "2h"); res.code != 0 {
		t.Errorf("the refresh token kept at the end does not work: exit %d %s", res.code, res.stderr)
	}
	t.Logf("%d runs, %d refreshes, %d callers killed while the agent refreshed for them", runs, st.RefreshGrants, killedMidRefresh)
	if killedMidRefresh == 0 {
		t.Error("no caller was killed during a refresh: the test did not test anything")
	}
}

// TestAgentOtherUser: another user (nobody) cannot use the agent: the
// directory and socket keep it out (the agent's own peer check is
// internal/agent's TestOtherUserRefused).
func TestAgentOtherUser(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI must run this test as root (it runs authcli as nobody)")
		}
		t.Skip("needs root to run authcli as nobody")
	}
	_, a := agentWithIdP(t, devidp.Options{})
	if res := a.callers.exec("login", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("login: exit %d\n%s", res.code, res.stderr)
	}
	dir := shortTempDir(t, "agnobody")
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "authcli")
	copyExecutable(t, authcliBin, bin)
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o777); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "token", "local")
	cmd.Env = []string{"HOME=" + home, "AUTHCLI_STATE_DIR=" + filepath.Join(home, "state"), "AUTHCLI_AGENT_SOCK=" + a.sock, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err == nil || out.Len() != 0 {
		t.Fatalf("nobody got an answer: %v %q", err, out.String())
	}
	mustContain(t, "nobody's stderr", errb.String(), "authcli: ", "permission denied")
}

// TestAgentNotDumpable: an agent run by an ordinary user (nobody) is not
// dumpable: the kernel gives its /proc files to root, so neither that user's
// other processes nor a core dump can read its memory.
func TestAgentNotDumpable(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI must run this test as root (it runs the agent as nobody)")
		}
		t.Skip("needs root to run the agent as nobody and look at its /proc files")
	}
	dir := shortTempDir(t, "agdump")
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "authcli")
	copyExecutable(t, authcliBin, bin)
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(home, "run", "agent.sock")
	if err := os.Mkdir(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Dir(sock), 65534, 65534); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "agent", "start", "--foreground", "--socket", sock)
	cmd.Env = []string{"HOME=" + home, "AUTHCLI_STATE_DIR=" + filepath.Join(home, "state"), "PATH=/usr/bin:/bin",
		"AUTHCLI_VAULT=file", "AUTHCLI_VAULT_PASSPHRASE=correct horse battery staple"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not listen:\n%s", out.String())
		}
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "Uid:\t65534\t") {
		t.Fatalf("the agent does not run as nobody:\n%s", status)
	}
	fi, err := os.Stat(fmt.Sprintf("/proc/%d/mem", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != 0 {
		t.Errorf("/proc/PID/mem of the agent belongs to uid %d: the agent is dumpable", uid)
	}
	mustContain(t, "agent output", out.String(), "not dumpable")
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestAgentLifetime: the agent locks when --lifetime ends; then commands
// exit 5 saying how to unlock, and unlock brings the tokens back.
func TestAgentLifetime(t *testing.T) {
	_, a := agentWithIdP(t, devidp.Options{}, "--lifetime", "3s")
	c := a.callers
	if res := c.exec("login", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("login: exit %d\n%s", res.code, res.stderr)
	}
	if res := c.exec("token", "local"); res.code != 0 {
		t.Fatalf("token: exit %d %s", res.code, res.stderr)
	}
	var res result
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if res = c.exec("token", "local"); res.code != 0 {
			break
		}
	}
	if res.code != 5 || res.stdout != "" {
		t.Fatalf("token after the lifetime: exit %d, want 5\n%s", res.code, res.stderr)
	}
	mustContain(t, "stderr", res.stderr, "the agent is locked; unlock it with: authcli agent unlock")
	mustContain(t, "agent status", c.exec("agent", "status").stdout, "Vault: file, locked")
	mustContain(t, "agent log", a.log(), "locked: its lifetime ended")
	// unlock, with the key given to this command only.
	unlock := &run{t: t, dir: c.dir, env: append(append([]string{}, c.env...), "AUTHCLI_VAULT_KEY="+a.envValue("AUTHCLI_VAULT_KEY"))}
	if res := unlock.exec("agent", "unlock"); res.code != 0 {
		t.Fatalf("agent unlock: exit %d %s", res.code, res.stderr)
	}
	if res := c.exec("token", "local"); res.code != 0 {
		t.Errorf("token after unlock: exit %d %s", res.code, res.stderr)
	}
}

// sshServer is a real OpenSSH sshd on 127.0.0.1 with a throwaway host key
// and one authorized key, in a temporary directory.
type sshServer struct {
	port                   int
	dir, key, config, user string
}

func startSSHD(t *testing.T) *sshServer {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(sshd); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI needs OpenSSH's sshd (apt-get install openssh-server)")
		}
		t.Skip("no sshd (apt-get install openssh-server openssh-client)")
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no ssh client (apt-get install openssh-client)")
	}
	// sshd insists on its privilege separation directory, which only root
	// can make.
	if _, err := os.Stat("/run/sshd"); err != nil {
		if os.Getuid() != 0 {
			if os.Getenv("CI") == "true" {
				t.Fatal("CI needs /run/sshd for sshd (run the tests as root, or mkdir it)")
			}
			t.Skip("sshd needs /run/sshd; run as root once, or create it")
		}
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	s := &sshServer{dir: shortTempDir(t, "agssh"), user: me.Username}
	for _, k := range []string{"host", "user"} {
		out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "authcli-e2e-"+k, "-f", filepath.Join(s.dir, k)).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	s.key = filepath.Join(s.dir, "user")
	pub, _ := os.ReadFile(s.key + ".pub")
	if err := os.WriteFile(filepath.Join(s.dir, "authorized_keys"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	ln := listenLoopback(t)
	s.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := fmt.Sprintf(`ListenAddress 127.0.0.1:%d
HostKey %s/host
AuthorizedKeysFile %s/authorized_keys
PidFile %s/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
AllowStreamLocalForwarding yes
StreamLocalBindUnlink yes
PermitUserEnvironment no
LogLevel VERBOSE
`, s.port, s.dir, s.dir, s.dir)
	s.config = filepath.Join(s.dir, "sshd_config")
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", s.config)
	logf, _ := os.Create(filepath.Join(s.dir, "sshd.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logf.Close()
	})
	hostPub, _ := os.ReadFile(filepath.Join(s.dir, "host.pub"))
	fields := strings.Fields(string(hostPub))
	known := fmt.Sprintf("[127.0.0.1]:%d %s %s\n", s.port, fields[0], fields[1])
	if err := os.WriteFile(filepath.Join(s.dir, "known_hosts"), []byte(known), 0o600); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := dialLoopback(s.port); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(s.dir, "sshd.log"))
			t.Fatalf("sshd did not listen:\n%s", b)
		}
	}
	return s
}

// ssh runs remoteCmd on the server with local socket forwarded to
// remoteSock (ssh -R remoteSock:local).
func (s *sshServer) ssh(t *testing.T, local, remoteSock, remoteCmd string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", "-F", "/dev/null", "-p", fmt.Sprint(s.port), "-i", s.key,
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
		"-o", "UserKnownHostsFile="+filepath.Join(s.dir, "known_hosts"), "-o", "StrictHostKeyChecking=yes",
		"-o", "ExitOnForwardFailure=yes", "-o", "StreamLocalBindUnlink=yes",
		"-R", remoteSock+":"+local, s.user+"@127.0.0.1", remoteCmd)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.dir}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("ssh: %v", err)
	}
	return result{code, out.String(), errb.String()}
}

// TestAgentForwardSSH: through a real OpenSSH connection (ssh -R of the
// agent's socket), the remote side gets a token of an allowed provider,
// confirmed and logged on the agent's side; its HOME holds no vault; a
// provider not in --forward-allow is refused; raw vault access is refused.
func TestAgentForwardSSH(t *testing.T) {
	s := startSSHD(t)
	askLog := filepath.Join(s.dir, "asked")
	askpass := filepath.Join(s.dir, "askpass")
	if err := os.WriteFile(askpass, []byte("#!/bin/sh\nprintf '%s|%s\\n' \"$SSH_ASKPASS_PROMPT\" \"$1\" >> "+askLog+"\nexit 0\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	idp, err := devidp.Start(devidp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	r := newRun(t).withBot("user=ada")
	r.config(agentConfig(idp.Issuer(), ""))
	r.setenv("AUTHCLI_ASKPASS=" + askpass)
	a := startAgent(t, r, "--forward-allow", "local", "--confirm")
	if res := a.callers.exec("login", "local", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("login: exit %d\n%s", res.code, res.stderr)
	}
	if res := a.callers.exec("login", "other", "--timeout", "30s", "--yes"); res.code != 0 {
		t.Fatalf("login other: exit %d\n%s", res.code, res.stderr)
	}
	want := storedRecord(t, a.openVault(t, nil), "local/ada").AccessToken

	remoteHome := filepath.Join(shortTempDir(t, "agremote"), "home")
	remoteSock := filepath.Join(filepath.Dir(remoteHome), "fwd.sock")
	remote := func(args string) string {
		return fmt.Sprintf("mkdir -p %[1]s && cd %[1]s && env -i PATH=/usr/bin:/bin HOME=%[1]s XDG_STATE_HOME=%[1]s/state XDG_CONFIG_HOME=%[1]s/config AUTHCLI_AGENT_SOCK=%[2]s %[3]s %[4]s",
			remoteHome, remoteSock, authcliBin, args)
	}
	// Forwarding $AUTHCLI_AGENT_SOCK itself, as ssh-agent users would.
	res := s.ssh(t, a.sock, remoteSock, remote("token local"))
	if res.code != 0 || res.stdout != want+"\n" {
		t.Fatalf("remote token: exit %d, the agent's token: %t\n%s", res.code, res.stdout == want+"\n", res.stderr)
	}
	res = s.ssh(t, a.sock, remoteSock, remote("token other"))
	if res.code == 0 || res.stdout != "" {
		t.Fatalf("remote token of a provider not in --forward-allow: exit %d %q", res.code, res.stdout)
	}
	mustContain(t, "refusal", res.stderr, "does not give other tokens to forwarded connections")
	// Through the forwarding socket: anything but tokens is refused.
	res = s.ssh(t, a.forward, remoteSock, remote("agent lock"))
	if res.code == 0 {
		t.Errorf("remote agent lock through the forwarding socket: exit 0")
	}
	mustContain(t, "refusal", res.stderr, "forwarded connection may only ask for tokens, not lock")
	mustContain(t, "agent status", a.callers.exec("agent", "status").stdout, "Vault: file, unlocked")
	if res := a.callers.exec("token", "local"); res.code != 0 {
		t.Errorf("local token after the remote attempts: exit %d %s", res.code, res.stderr)
	}

	// The remote HOME holds no vault, nor any token.
	filepath.WalkDir(remoteHome, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		if strings.Contains(p, "vault") || strings.Contains(string(b), want) {
			t.Errorf("the remote side stored %s", p)
		}
		return nil
	})
	asked, _ := os.ReadFile(askLog)
	if n := strings.Count(string(asked), "confirm|"); n != 1 || !strings.Contains(string(asked), `provider "local"`) {
		t.Errorf("--confirm asked %d times:\n%s", n, asked)
	}
	log := a.log()
	for _, w := range []string{`forwarded request (pid`, `allowed: token for provider "local"`, `refused: token for provider "other"`, "refused: lock is not allowed over a forwarded connection"} {
		if !strings.Contains(log, w) {
			t.Errorf("agent log lacks %q:\n%s", w, log)
		}
	}
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func dialLoopback(port int) (net.Conn, error) {
	return net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
}

// TestAgentPassphraseOnTerminal: with the file vault and no key in the
// environment, agent start asks for the passphrase on its terminal
// (without echo) and hands it to the background agent; callers with no
// key then use the vault that passphrase opens.
func TestAgentPassphraseOnTerminal(t *testing.T) {
	idp, err := devidp.Start(devidp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	r := newRun(t).withBot("user=ada")
	r.config(agentConfig(idp.Issuer(), ""))
	r.env = withoutVar(r.env, vault.EnvVaultKey)
	rt := shortTempDir(t, "agtty")
	r.setenv("XDG_RUNTIME_DIR=" + rt)
	sock := filepath.Join(rt, "authcli", "agent.sock")
	exitFile := filepath.Join(r.dir, "exit")
	callers := &run{t: t, dir: r.dir, botLog: r.botLog, env: append(withoutVar(r.env, vault.EnvVault), "AUTHCLI_AGENT_SOCK="+sock)}
	pid := 0
	// Registered before anything can fail: the agent outlives tmux.
	t.Cleanup(func() {
		callers.exec("agent", "stop")
		for deadline := time.Now().Add(10 * time.Second); pid > 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if syscall.Kill(pid, 0) != nil {
				return
			}
		}
		if pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	s := startTUI(t, r, exitFile, "agent", "start")
	s.run("set-option", "-t", s.name, "remain-on-exit", "on")
	s.waitText(10*time.Second, "Passphrase of the authcli file vault, for the agent:")
	const passphrase = "tr0ub4dor and 3"
	s.run("send-keys", "-t", s.name, "-l", passphrase)
	s.keys("Enter")
	if code := s.waitExit(exitFile); code != "0" {
		t.Fatalf("agent start: exit %s\n%s", code, s.screen())
	}
	screen := s.screen()
	if strings.Contains(screen, passphrase) {
		t.Error("the passphrase was echoed")
	}
	if i := strings.Index(screen, "AUTHCLI_AGENT_PID='"); i >= 0 {
		fmt.Sscan(screen[i+len("AUTHCLI_AGENT_PID='"):], &pid)
	}
	if pid == 0 || !strings.Contains(fold(screen), "AUTHCLI_AGENT_SOCK='"+sock+"'; export AUTHCLI_AGENT_SOCK;") {
		t.Fatalf("agent start printed:\n%s", screen)
	}
	if res := callers.exec("login", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("login through the agent: exit %d\n%s", res.code, res.stderr)
	}
	// The vault the agent wrote opens with the typed passphrase.
	v, err := vault.Open(func(k string) string {
		switch k {
		case vault.EnvVault:
			return "file"
		case vault.EnvVaultPassphrase:
			return passphrase
		}
		return ""
	}, r.stateDir())
	if err != nil {
		t.Fatal(err)
	}
	rec := storedRecord(t, v, "local/ada")
	if res := callers.exec("token", "local"); res.code != 0 || res.stdout != rec.AccessToken+"\n" {
		t.Errorf("token through the agent: exit %d %s", res.code, res.stderr)
	}
}

// TestAgentSystemdUnit runs the packaged user unit's ExecStart the way
// systemd would (foreground, $XDG_RUNTIME_DIR set, stopped by SIGTERM):
// the socket appears where the unit's comment tells users to point
// AUTHCLI_AGENT_SOCK, serves a token, and is removed on stop.
func TestAgentSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile("../packaging/systemd/authcli-agent.service")
	if err != nil {
		t.Fatal(err)
	}
	var execStart []string
	for _, line := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			execStart = strings.Fields(v)
		}
	}
	if len(execStart) < 2 || execStart[0] != "/usr/bin/authcli" {
		t.Fatalf("ExecStart is %q", execStart)
	}
	mustContain(t, "the unit's comment", string(unit), `export AUTHCLI_AGENT_SOCK="$XDG_RUNTIME_DIR/authcli/agent.sock"`)

	idp, err := devidp.Start(devidp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	r := newRun(t).withBot("user=ada")
	r.config(agentConfig(idp.Issuer(), ""))
	rt := shortTempDir(t, "agunit")
	r.setenv("XDG_RUNTIME_DIR=" + rt)
	cmd := exec.Command(authcliBin, execStart[1:]...)
	cmd.Env = r.env
	var journal lockedBuffer
	cmd.Stdout, cmd.Stderr = &journal, &journal
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	sock := filepath.Join(rt, "authcli", "agent.sock")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no socket at %s:\n%s", sock, journal.String())
		}
	}
	callers := &run{t: t, dir: r.dir, botLog: r.botLog, env: append(withoutVar(withoutVar(r.env, vault.EnvVaultKey), vault.EnvVault), "AUTHCLI_AGENT_SOCK="+sock)}
	if res := callers.exec("login", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("login: exit %d %s", res.code, res.stderr)
	}
	if res := callers.exec("token", "local"); res.code != 0 || res.stdout == "" {
		t.Fatalf("token: exit %d %s", res.code, res.stderr)
	}
	// systemctl --user stop: SIGTERM.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	stopped = true
	if err != nil {
		t.Errorf("the agent did not exit cleanly on SIGTERM: %v\n%s", err, journal.String())
	}
	if _, err := os.Lstat(sock); err == nil {
		t.Error("the socket outlived the agent")
	}
	mustContain(t, "journal", journal.String(), "authcli agent: listening on "+sock, "authcli agent: stopped")
}

// TestAgentStartsLocked: with the file vault, no key and no terminal, the
// agent starts locked and says so; unlock gives it the passphrase.
func TestAgentStartsLocked(t *testing.T) {
	r := newRun(t)
	r.env = withoutVar(r.env, vault.EnvVaultKey)
	rt := shortTempDir(t, "aglock")
	r.setenv("XDG_RUNTIME_DIR=" + rt)
	res := r.exec("agent", "start", "--lifetime", "1h")
	if res.code != 0 {
		t.Fatalf("agent start: exit %d %s", res.code, res.stderr)
	}
	sock := filepath.Join(rt, "authcli", "agent.sock")
	callers := &run{t: t, dir: r.dir, env: append(withoutVar(r.env, vault.EnvVault), "AUTHCLI_AGENT_SOCK="+sock)}
	var pid int
	if i := strings.Index(res.stdout, "AUTHCLI_AGENT_PID='"); i >= 0 {
		fmt.Sscan(res.stdout[i+len("AUTHCLI_AGENT_PID='"):], &pid)
	}
	if pid == 0 {
		t.Fatalf("agent start printed %q", res.stdout)
	}
	t.Cleanup(func() {
		callers.exec("agent", "stop")
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if syscall.Kill(pid, 0) != nil {
				return
			}
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	})
	mustContain(t, "stderr", res.stderr, "the agent started locked", "authcli agent unlock")
	if res := callers.exec("token", "local"); res.code != 5 {
		t.Errorf("token from a locked agent: exit %d, want 5 (%s)", res.code, res.stderr)
	}
	if res := callers.exec("agent", "unlock"); res.code != 5 || !strings.Contains(res.stderr, "AUTHCLI_VAULT_PASSPHRASE") {
		t.Errorf("unlock with no secret and no terminal: exit %d %s", res.code, res.stderr)
	}
	unlock := &run{t: t, dir: r.dir, env: append(append([]string{}, callers.env...), "AUTHCLI_VAULT_PASSPHRASE=open sesame")}
	if res := unlock.exec("agent", "unlock"); res.code != 0 {
		t.Fatalf("agent unlock: exit %d %s", res.code, res.stderr)
	}
	mustContain(t, "agent status", callers.exec("agent", "status").stdout, "Vault: file, unlocked", "locks in")
}
