//go:build linux || freebsd || openbsd || netbsd

package flow

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/vault"
)

// TestSystemOpenerEnvironment: the platform opener (a stand-in xdg-open on
// PATH) gets the URL and an environment without the vault's secrets, while
// this process's own environment stays as it was throughout: no
// process-wide change while a child starts.
func TestSystemOpenerEnvironment(t *testing.T) {
	dir := t.TempDir()
	envFile, release := filepath.Join(dir, "env"), filepath.Join(dir, "release")
	// The stand-in writes what it got, then waits (bounded) until the test
	// has looked at this process's environment.
	script := "#!/bin/sh\nenv > " + envFile + ".tmp; echo \"URL=$1\" >> " + envFile + ".tmp; mv " + envFile + ".tmp " + envFile + "\n" +
		"i=0; while [ ! -e " + release + " ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done\n"
	if err := os.WriteFile(filepath.Join(dir, "xdg-open"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv(vault.EnvVaultKey, "c2VjcmV0LWtleQ==")
	t.Setenv(vault.EnvVaultPassphrase, "hunter2")
	getenv := func(k string) string {
		if k == "DISPLAY" {
			return ":0"
		}
		return ""
	}
	done := make(chan error, 1)
	go func() { done <- SystemOpener(getenv, nil)(context.Background(), "http://127.0.0.1:1/start/x") }()

	var env []byte
	deadline := time.Now().Add(10 * time.Second)
	for env == nil && time.Now().Before(deadline) {
		env, _ = os.ReadFile(envFile)
		time.Sleep(10 * time.Millisecond)
	}
	if env == nil {
		t.Fatal("the opener never ran")
	}
	// The opener is running now: this process must still have its own.
	if os.Getenv(vault.EnvVaultKey) == "" || os.Getenv(vault.EnvVaultPassphrase) == "" {
		t.Error("the vault's variables were removed from this process while the opener ran")
	}
	_ = os.WriteFile(release, nil, 0o600)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := string(env)
	if strings.Contains(got, vault.EnvVaultKey+"=") || strings.Contains(got, vault.EnvVaultPassphrase+"=") || strings.Contains(got, "hunter2") {
		t.Errorf("the opener was given the vault's secrets:\n%s", got)
	}
	if !strings.Contains(got, "URL=http://127.0.0.1:1/start/x") {
		t.Errorf("the opener did not get the URL:\n%s", got)
	}
}
