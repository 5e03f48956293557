package setup

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGitHelperRealGit runs the real git against a throwaway global config.
func TestGitHelperRealGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("git is required in CI")
		}
		t.Skip("git is not installed")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	ctx := context.Background()
	// A helper git would otherwise try first for every host.
	if _, err := ExecGit(ctx, "config", "--global", "credential.helper", "store"); err != nil {
		t.Fatal(err)
	}
	helper := GitHelperCommand("/opt/my tools/authcli")
	if helper != `!'/opt/my tools/authcli' git-credential` {
		t.Errorf("helper command %q", helper)
	}
	for i, want := range []Change{Added, Unchanged} {
		key, change, err := GitHelper(ctx, ExecGit, "git.corp.example:8443", helper)
		if err != nil || change != want || key != "credential.https://git.corp.example:8443.helper" {
			t.Fatalf("run %d: %s %s %v", i, key, change, err)
		}
	}
	// The global helper stays; the host's list is the reset, then authcli.
	out, err := ExecGit(ctx, "config", "--global", "--get-regexp", `^credential\.`)
	if err != nil {
		t.Fatal(err)
	}
	if out != "credential.helper store\ncredential.https://git.corp.example:8443.helper \ncredential.https://git.corp.example:8443.helper "+helper+"\n" {
		t.Errorf("helpers for the URL: %q", out)
	}
	if _, change, _ := GitHelper(ctx, ExecGit, "git.corp.example:8443", GitHelperCommand("/usr/bin/authcli")); change != Updated {
		t.Errorf("a moved binary: %s", change)
	}
	b, _ := os.ReadFile(filepath.Join(home, ".gitconfig"))
	if n := countLines(string(b), "helper = !/usr/bin/authcli git-credential"); n != 1 {
		t.Errorf("gitconfig has %d authcli helpers:\n%s", n, b)
	}
}

func countLines(s, line string) int {
	n := 0
	for _, l := range splitLines(s) {
		if l == line {
			n++
		}
	}
	return n
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '\n' {
			out = append(out, trim(s[start:i]))
			start = i + 1
		}
	}
	return out
}

func trim(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}
