// Package e2e runs the real authcli binary against real OpenID providers on
// loopback: the embedded one (internal/devidp, built on zitadel/oidc's op
// package) and zitadel's own example provider, which this project did not
// write. The browser is played by ./browserbot through $BROWSER.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/devidp"
)

var (
	authcliBin string // the lean authcli of the release archives
	singleBin  string // its companion, authcli-ui: the single binary go install builds
	botBin     string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "authcli-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The release shape (internal/cli/companion.go): the lean authcli, and
	// authcli-ui beside it, which is the single binary under another name.
	// Every test below runs the lean one, so the demo and the accounts
	// screen go through the companion as a released authcli's do.
	authcliBin = filepath.Join(dir, "authcli")
	singleBin = filepath.Join(dir, "authcli-ui")
	botBin = filepath.Join(dir, "browserbot")
	for _, b := range []struct{ bin, pkg, tags string }{
		{authcliBin, "../cmd/authcli", "authcli_lean"},
		{singleBin, "../cmd/authcli", ""},
		{botBin, "./browserbot", ""},
	} {
		out, err := exec.Command("go", "build", "-tags", b.tags, "-o", b.bin, b.pkg).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b.pkg, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run is one authcli process: a clean environment (no display, so no real
// browser is ever opened), its own config and state dirs.
type run struct {
	t      *testing.T
	env    []string
	dir    string
	botLog string
}

func newRun(t *testing.T) *run {
	t.Helper()
	dir := t.TempDir()
	r := &run{t: t, dir: dir, botLog: filepath.Join(dir, "browserbot.log")}
	r.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_STATE_HOME=" + filepath.Join(dir, "state"),
		"AUTHCLI_STATE_DIR=" + filepath.Join(dir, "state", "authcli"),
		"BROWSERBOT_LOG=" + r.botLog,
	}
	// Hermetic by default: a file vault with a fresh key. Tests of the
	// real keyring override this (vaultModes).
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	r.env = append(r.env, "AUTHCLI_VAULT=file", "AUTHCLI_VAULT_KEY="+base64.StdEncoding.EncodeToString(key))
	return r
}

// withBot makes $BROWSER the bot, with the form fields it should fill.
func (r *run) withBot(fields string) *run {
	r.env = append(r.env, "BROWSER="+botBin, "BROWSERBOT_FIELDS="+fields)
	return r
}

func (r *run) setenv(kv ...string) *run {
	r.env = append(r.env, kv...)
	return r
}

// config writes a config file and points AUTHCLI_CONFIG at it.
func (r *run) config(toml string) string {
	r.t.Helper()
	p := filepath.Join(r.dir, "config.toml")
	if err := os.WriteFile(p, []byte(toml), 0o600); err != nil {
		r.t.Fatal(err)
	}
	r.env = append(r.env, "AUTHCLI_CONFIG="+p)
	return p
}

type result struct {
	code           int
	stdout, stderr string
}

func (r *run) exec(args ...string) result { return r.execBin(authcliBin, nil, args...) }

// execWatch is exec with a hook that runs once the process has started
// (the redaction test reads its /proc/PID/cmdline there).
func (r *run) execWatch(started func(pid int), args ...string) result {
	r.t.Helper()
	return r.execBin(authcliBin, started, args...)
}

// execBin runs bin (authcliBin, singleBin or a copy) as exec does.
func (r *run) execBin(bin string, started func(pid int), args ...string) result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = r.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("authcli %v: %v", args, err)
	}
	if started != nil {
		started(cmd.Process.Pid)
	}
	err := cmd.Wait()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			r.t.Fatalf("authcli %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{code, out.String(), errb.String()}
}

func (r *run) botPage() string {
	b, _ := os.ReadFile(r.botLog)
	return string(b)
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

// twoNames configures one provider under two names, "first" and "second":
// the same person signs in as two identities (provider, subject) whose
// emails match. trustSecond sets trust_email_verified on "second".
func twoNames(issuer string, trustSecond bool) string {
	trust := ""
	if trustSecond {
		trust = "trust_email_verified = true\n"
	}
	return fmt.Sprintf(`[providers.first]
kind = "oidc"
display_name = "First IdP"
issuer = %[1]q
client_id = %[2]q

[providers.second]
kind = "oidc"
display_name = "Second IdP"
issuer = %[1]q
client_id = %[2]q
%[3]s`, issuer, devidp.DemoClientID, trust)
}
