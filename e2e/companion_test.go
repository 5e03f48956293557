package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLeanAndSingleBinaryAgree: the lean authcli of the release archives
// and the single binary (authcli-ui, what go install builds) are one
// program to the user: the same help, flag errors, usage errors and exit
// codes, for the commands the lean one runs itself and for those it hands
// to the companion.
func TestLeanAndSingleBinaryAgree(t *testing.T) {
	for _, args := range [][]string{
		{"--help"},
		{"help", "demo"},
		{"demo", "--help"},
		{"accounts", "--help"},
		{"token", "--help"},
		{"setup-kubectl", "--help"},
		{"setup-kubectl"},           // no PROVIDER
		{"setup-kubectl", "nosuch"}, // refused by the editor's side
		{"demo", "--bogus"},
		{"demo", "extra"},
		{"demo", "--access-token-ttl", "0s"},     // refused by the demo itself
		{"demo", "--user", "nobody@example.com"}, // the same
		{"accounts"},                             // not on a terminal: refused by the accounts screen
		{"accounts", "--timeout", "1s"},          // a flag accounts does not take
		{"nosuch"},
		{"token", "nosuch"},
		{"version"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := newRun(t)
			r.config("[providers.demo]\nkind = \"oidc\"\nissuer = \"http://127.0.0.1:1\"\nclient_id = \"x\"\n")
			lean := r.execBin(authcliBin, nil, args...)
			single := r.execBin(singleBin, nil, args...)
			if lean != single {
				t.Fatalf("authcli %v differs:\nlean:   %+v\nsingle: %+v", args, lean, single)
			}
		})
	}
}

// TestDemoThroughCompanion: `authcli demo` of the lean binary runs the
// whole sign-in in authcli-ui and ends with its exit code and output.
func TestDemoThroughCompanion(t *testing.T) {
	res := newRun(t).exec("demo", "--user", "alan@example.com")
	if res.code != 0 {
		t.Fatalf("demo: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	mustContain(t, "stdout", res.stdout, "alan@example.com")
}

// TestCompanionMissing: a lean authcli without authcli-ui beside it says
// what is missing and how to get it, and everything else still works.
func TestCompanionMissing(t *testing.T) {
	dir := t.TempDir()
	alone := filepath.Join(dir, "authcli")
	data, err := os.ReadFile(authcliBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	r := newRun(t)
	res := r.execBin(alone, nil, "demo")
	if res.code != 1 || res.stdout != "" {
		t.Fatalf("demo without authcli-ui: exit %d, stdout %q, want 1 and nothing", res.code, res.stdout)
	}
	want := "authcli: authcli demo runs authcli-ui, which is missing or cannot run (" + filepath.Join(dir, "authcli-ui") + ": "
	if !strings.HasPrefix(res.stderr, want) || !strings.Contains(res.stderr, "go install github.com/authcli/authcli/cmd/authcli@latest") || strings.Count(res.stderr, "\n") != 1 {
		t.Fatalf("demo without authcli-ui said:\n%s\nwant one line starting %q and naming go install", res.stderr, want)
	}
	if res := r.execBin(alone, nil, "token", "demo"); res.code != 2 && res.code != 3 || strings.Contains(res.stderr, "authcli-ui") {
		t.Fatalf("token without authcli-ui: exit %d\n%s", res.code, res.stderr)
	}
	// A companion that is there but not executable is named too.
	if err := os.WriteFile(filepath.Join(dir, "authcli-ui"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := r.execBin(alone, nil, "accounts"); res.code != 1 || !strings.Contains(res.stderr, "not an executable file") {
		t.Fatalf("accounts with a non-executable authcli-ui: exit %d\n%s", res.code, res.stderr)
	}
}

// TestLeanBinaryLeavesOutTheHeavyPackages keeps the reason for the split
// true: none of what the demo provider, the accounts screen and the
// kubeconfig editor pull in is linked into the lean authcli, whose start-up
// every script pays.
func TestLeanBinaryLeavesOutTheHeavyPackages(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "authcli_lean", "../cmd/authcli").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, heavy := range []string{
		"github.com/authcli/authcli/internal/devidp", "github.com/authcli/authcli/internal/tui",
		"github.com/zitadel/", "go.opentelemetry.io/", "charm.land/", "github.com/charmbracelet/",
		"encoding/gob", "html/template",
		"github.com/authcli/authcli/internal/credhelper/kubeconfig", "go.yaml.in/", "gopkg.in/yaml",
	} {
		for _, d := range deps {
			if strings.HasPrefix(d, heavy) {
				t.Errorf("the lean authcli links %s", d)
			}
		}
	}
	if !slices.Contains(deps, "github.com/authcli/authcli/internal/cli") {
		t.Fatalf("go list printed no authcli package:\n%s", out)
	}
}
