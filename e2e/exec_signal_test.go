//go:build unix

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/devidp"
)

// TestExecForwardsSignals: a supervisor (docker stop, systemd) signals
// authcli exec; the command it runs must receive the signal, and authcli
// must exit as the command did: its code, or 128+N when signal N ended it.
func TestExecForwardsSignals(t *testing.T) {
	_, r, _ := signedIn(t, devidp.Options{})
	tests := []struct {
		name   string
		sig    syscall.Signal
		script string // $1: the file that says the child is ready
		code   int
		heard  string // what the child wrote to $2, "" for nothing
	}{
		{"SIGTERM trapped", syscall.SIGTERM, `trap 'echo TERM > "$2"; exit 7' TERM`, 7, "TERM"},
		{"SIGHUP trapped", syscall.SIGHUP, `trap 'echo HUP > "$2"; exit 9' HUP`, 9, "HUP"},
		{"SIGINT trapped", syscall.SIGINT, `trap 'echo INT > "$2"; exit 3' INT`, 3, "INT"},
		{"SIGQUIT trapped", syscall.SIGQUIT, `trap 'echo QUIT > "$2"; exit 4' QUIT`, 4, "QUIT"},
		{"SIGTERM kills", syscall.SIGTERM, ``, 128 + 15, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ready, heard := filepath.Join(dir, "ready"), filepath.Join(dir, "heard")
			// The loop is bounded: a child that never hears the signal
			// ends by itself after 30 seconds.
			script := tt.script + `
echo "$AUTHCLI_ACCESS_TOKEN" > "$1"
i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
exit 99`
			cmd := exec.Command(authcliBin, "exec", "--provider", "local", "--", "/bin/sh", "-c", script, "sh", ready, heard)
			cmd.Env = r.env
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
			waitFile(t, ready, 20*time.Second)
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				t.Fatalf("authcli exec still runs 15s after %v: the signal was not passed on", tt.sig)
			}
			if got := cmd.ProcessState.ExitCode(); got != tt.code {
				t.Errorf("exit %d, want %d", got, tt.code)
			}
			b, _ := os.ReadFile(heard)
			if got := strings.TrimSpace(string(b)); got != tt.heard {
				t.Errorf("the child heard %q, want %q", got, tt.heard)
			}
		})
	}
}

// waitFile polls for a non-empty file until the deadline.
func waitFile(t *testing.T, path string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 1 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not appear within %s", path, within)
}
