package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/devidp"
)

// The rough edges a newcomer met in their first hour (issue 17), each
// through the real binary.

// TestUsageMistakes: typos and unknown shells are usage errors (exit 2)
// with one sentence that names the fix and the help to read.
func TestUsageMistakes(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"statsu"}, `authcli: unknown command "statsu" (did you mean status?); see authcli --help.`},
		{[]string{"status", "--jsn"}, "authcli: unknown flag: --jsn (did you mean --json?); see authcli status --help."},
		{[]string{"completion", "tcsh"}, `authcli: completion has no script for "tcsh"; choose one of bash, fish, powershell, zsh (authcli completion bash).`},
		{[]string{"completion"}, "authcli: completion needs a shell: one of bash, fish, powershell, zsh (authcli completion bash)."},
		// Sign-in flags belong to the commands that sign in.
		{[]string{"status", "--port", "8080"}, "authcli: unknown flag: --port; see authcli status --help."},
		{[]string{"token", "--timeout", "1m"}, "authcli: unknown flag: --timeout; see authcli token --help."},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			res := newRun(t).exec(tt.args...)
			if res.code != 2 {
				t.Errorf("exit %d, want 2", res.code)
			}
			if got := strings.TrimSpace(res.stderr); got != tt.want {
				t.Errorf("stderr\n got %q\nwant %q", got, tt.want)
			}
			if res.stdout != "" {
				t.Errorf("stdout %q, want nothing", res.stdout)
			}
		})
	}
}

// TestVersionFlag: --version prints what `authcli version` prints.
func TestVersionFlag(t *testing.T) {
	r := newRun(t)
	flag, cmd := r.exec("--version"), r.exec("version")
	if flag.code != 0 || cmd.code != 0 {
		t.Fatalf("exit %d and %d\n%s%s", flag.code, cmd.code, flag.stderr, cmd.stderr)
	}
	if !strings.HasPrefix(flag.stdout, "authcli ") || flag.stdout != cmd.stdout {
		t.Errorf("--version %q, version %q", flag.stdout, cmd.stdout)
	}
}

// TestCompletionBash: a known shell still gets its script.
func TestCompletionBash(t *testing.T) {
	res := newRun(t).exec("completion", "bash")
	if res.code != 0 || !strings.Contains(res.stdout, "bash completion") {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
}

// TestFlagsWhereTheyApply: each command's help lists the flags it takes,
// and no sign-in flag on a command that does not sign in.
func TestFlagsWhereTheyApply(t *testing.T) {
	signIn := []string{"--port", "--yes", "--no-browser", "--timeout", "--scopes"}
	for _, tt := range []struct {
		cmd      string
		has, not []string
	}{
		{"login", append([]string{"--account", "--device"}, signIn...), nil},
		{"link", append([]string{"--account"}, signIn...), nil},
		{"demo", []string{"--port", "--no-browser", "--timeout", "--scopes", "--device"}, []string{"--yes", "--account"}},
		{"status", []string{"--json", "--config", "--verbose"}, append([]string{"--account"}, signIn...)},
		{"token", []string{"--account", "--min-ttl"}, signIn},
		{"providers", []string{"--json"}, append([]string{"--account"}, signIn...)},
		{"version", nil, append([]string{"--account"}, signIn...)},
	} {
		t.Run(tt.cmd, func(t *testing.T) {
			res := newRun(t).exec(tt.cmd, "--help")
			if res.code != 0 {
				t.Fatalf("exit %d\n%s", res.code, res.stderr)
			}
			for _, f := range tt.has {
				if !strings.Contains(res.stdout, f+" ") {
					t.Errorf("help lacks %s:\n%s", f, res.stdout)
				}
			}
			for _, f := range tt.not {
				if strings.Contains(res.stdout, f+" ") {
					t.Errorf("help lists %s:\n%s", f, res.stdout)
				}
			}
		})
	}
}

// TestConfigHintEndsOnce: a "did you mean" ends the sentence with its
// question mark, not "?.".
func TestConfigHintEndsOnce(t *testing.T) {
	r := newRun(t)
	path := r.config("[providers.corp]\nkind = \"oidc\"\nissuer = \"https://login.corp.example\"\nclient_id = \"x\"\nclient_secrt = \"y\"\n")
	res := r.exec("login", "corp")
	want := "authcli: config " + path + ":5: providers.corp.client_secrt: unknown key; did you mean client_secret?"
	if res.code != 2 || strings.TrimSpace(res.stderr) != want {
		t.Errorf("exit %d, stderr %q; want 2, %q", res.code, res.stderr, want)
	}
}

// TestDemoUnknownUser: an unknown demo user is refused at once (exit 2),
// not an error followed by a wait for --timeout.
func TestDemoUnknownUser(t *testing.T) {
	start := time.Now()
	res := newRun(t).exec("demo", "--user", "nobody@example.com")
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("took %s", took)
	}
	want := `authcli: the demo provider has no user "nobody@example.com"; choose one of ada@example.com, grace@example.com, alan@example.com with --user.`
	if res.code != 2 || strings.TrimSpace(res.stderr) != want {
		t.Errorf("exit %d, stderr %q; want 2, %q", res.code, res.stderr, want)
	}
}

// TestProvidersListsDiscoveredDevice: `providers --json` lists the device
// grant that login uses with a generic OpenID provider whose discovery
// offers it.
func TestProvidersListsDiscoveredDevice(t *testing.T) {
	_, r := deviceRun(t)
	res := r.exec("providers", "--json")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	var out struct {
		Providers []struct {
			Name   string   `json:"name"`
			Grants []string `json:"grants"`
		} `json:"providers"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, res.stdout)
	}
	if len(out.Providers) != 1 || !slices.Contains(out.Providers[0].Grants, "device_code") || !slices.Contains(out.Providers[0].Grants, "authorization_code") {
		t.Errorf("providers %+v, want local with authorization_code and device_code", out.Providers)
	}
}

// TestStatusBrokenConfig: status fails like every other command on a config
// file that cannot be used (exit 2), and is fine with none at all.
func TestStatusBrokenConfig(t *testing.T) {
	r := newRun(t)
	if res := r.exec("status"); res.code != 0 || !strings.Contains(res.stderr, "No accounts yet") {
		t.Fatalf("no config: exit %d\n%s", res.code, res.stderr)
	}
	path := r.config("[providers.corp\nkind = \"oidc\"\n")
	res := r.exec("status")
	if res.code != 2 || !strings.HasPrefix(res.stderr, "authcli: config "+path+":1") || strings.Count(res.stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want 2 and the config error", res.code, res.stderr)
	}
}

// TestStatusVaultProblem: after a sign-in, a vault that cannot be opened is
// what status reports (exit 5), not a sign-in to redo.
func TestStatusVaultProblem(t *testing.T) {
	idp, err := devidp.Start(devidp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	r := newRun(t).withBot("user=ada")
	r.config(fmt.Sprintf("[providers.local]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\n", idp.Issuer(), devidp.DemoClientID))
	if res := r.exec("login", "local", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("login: exit %d\n%s", res.code, res.stderr)
	}
	// The same user in a shell where the vault key is not set.
	r.setenv("AUTHCLI_VAULT_KEY=")
	res := r.exec("status")
	if res.code != 5 {
		t.Errorf("exit %d, want 5\n%s", res.code, res.stderr)
	}
	if strings.Contains(res.stdout+res.stderr, "needs sign-in") {
		t.Errorf("status blames the sign-in:\n%s%s", res.stdout, res.stderr)
	}
	mustContain(t, "stdout", res.stdout, "tokens unreadable: the token vault cannot be used")
	mustContain(t, "stderr", lastLines(res.stderr, 1), "AUTHCLI_VAULT_KEY")

	// With an agent the key lives in the agent alone: status reads
	// accounts.json and does not open (or ask for) the vault.
	r.setenv("AUTHCLI_AGENT_SOCK=" + filepath.Join(r.dir, "no-agent.sock"))
	res = r.exec("status")
	if res.code != 0 || strings.Contains(res.stdout, "tokens unreadable") {
		t.Errorf("with an agent: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// TestReadmeConfigError: the config error README shows is the text
// authcli prints for that mistake.
func TestReadmeConfigError(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const shown = "/home/me/.config/authcli/config.toml"
	var line string
	for l := range strings.SplitSeq(string(readme), "\n") {
		if strings.HasPrefix(l, "authcli: config "+shown+":") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("README shows no config error for %s", shown)
	}
	// README's own Configure example, with the mistake the line names: the
	// issuer on http.
	_, after, _ := strings.Cut(string(readme), "## Configure")
	_, block, _ := strings.Cut(after, "```toml\n")
	example, _, _ := strings.Cut(block, "```")
	const issuer = `issuer = "https://login.corp.example"`
	if !strings.Contains(example, issuer) {
		t.Fatalf("README's Configure example has no %s:\n%s", issuer, example)
	}
	r := newRun(t).setenv("CORP_CLIENT_SECRET=s")
	path := filepath.Join(r.dir, "config", "authcli", "config.toml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(example, issuer, `issuer = "http://login.corp.example"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	res := r.exec("login", "corp")
	if got := strings.ReplaceAll(strings.TrimSpace(res.stderr), path, shown); got != line || res.code != 2 {
		t.Errorf("exit %d\n got %q\nREADME %q", res.code, got, line)
	}
}

// TestReadmeTryEverything runs README's "try everything else" snippet as
// written, in bash, on a headless machine (no browser, no display: the
// device grant, approved by demo --serve --user) and on a desktop (a
// browser, played by browserbot, where the person picks Grace). Only what
// would collide on a shared machine is changed: the demo provider's port
// and the /tmp file; `go install` goes to a GOPATH of the test's own.
func TestReadmeTryEverything(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "To try everything else")
	if !ok {
		t.Fatal("README has no \"To try everything else\" section")
	}
	_, block, _ := strings.Cut(after, "```sh\n")
	snippet, _, _ := strings.Cut(block, "```")
	for _, want := range []string{"go install ./cmd/authcli", "127.0.0.1:5556", "/tmp/demo.toml", "authcli login demo && authcli status && authcli token demo"} {
		if !strings.Contains(snippet, want) {
			t.Fatalf("README's snippet no longer has %q; update this test:\n%s", want, snippet)
		}
	}
	gocache, modcache := goEnv(t, "GOCACHE"), goEnv(t, "GOMODCACHE")
	for _, tt := range []struct {
		name string
		bot  string // BROWSERBOT_FIELDS; "" is a machine without a browser
		who  string
		say  string
		// what `kill %1` makes demo --serve report on its way out
		stats string
	}{
		{"headless", "", "Ada Lovelace <ada@example.com>", "signs in with a code", "saw 0 code exchanges, 1 device codes"},
		{"desktop", "user=grace", "Grace Hopper <grace@example.com>", "Opening the sign-in page", "saw 1 code exchanges, 0 device codes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRun(t)
			if tt.bot != "" {
				r.withBot(tt.bot)
			}
			port := freePort(t)
			script := strings.NewReplacer("127.0.0.1:5556", port, "/tmp/demo.toml", filepath.Join(r.dir, "demo.toml")).Replace(snippet)
			gopath := filepath.Join(r.dir, "go")
			cmd := exec.Command("bash", "-c", "trap 'kill $(jobs -p) 2>/dev/null' EXIT\n"+script)
			cmd.Dir = ".."
			cmd.Env = append(r.env, "GOPATH="+gopath, "GOCACHE="+gocache, "GOMODCACHE="+modcache, "GOTOOLCHAIN=local")
			var out, errb strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(3 * time.Minute):
				_ = cmd.Process.Kill()
				t.Fatalf("the snippet did not finish in 3 minutes\nstdout:\n%s\nstderr:\n%s", out.String(), errb.String())
			}
			if err != nil {
				t.Fatalf("the snippet failed: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
			}
			if _, err := os.Stat(filepath.Join(gopath, "bin", "authcli")); err != nil {
				t.Errorf("go install put no authcli in GOPATH/bin: %v", err)
			}
			stdout := out.String()
			mustContain(t, "stdout", stdout, "Signed in to authcli demo as "+tt.who, "(default)", "valid, expires in")
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if tok := lines[len(lines)-1]; len(tok) < 20 || strings.ContainsAny(tok, " \t") {
				t.Errorf("the last line is not a token: %q", tok)
			}
			mustContain(t, "stderr", errb.String(), tt.say, tt.stats)
			if tt.bot == "" && (strings.Contains(errb.String(), "any device") || strings.Contains(errb.String(), "another device")) {
				t.Errorf("the loopback page was offered to other devices:\n%s", errb.String())
			}
		})
	}
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
