//go:build linux

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/devidp"
)

// TestNotDumpable: a sign-in in progress holds the vault key, the PKCE
// verifier and soon tokens. Its process must not be dumpable: no core file
// when it crashes, and its /proc files (environ, mem) owned by root so that
// neither another user nor a same-user debugger without privilege reads
// them. Run as a normal user the test checks the /proc ownership; run as
// root (where every process owns its /proc as root anyway) it crashes
// authcli with cores enabled and checks that no core file appears.
func TestNotDumpable(t *testing.T) {
	pattern, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	root := os.Geteuid() == 0
	if root && (strings.HasPrefix(string(pattern), "|") || strings.Contains(string(pattern), "/")) {
		t.Skipf("running as root with core_pattern %q: neither check can observe the flag here", strings.TrimSpace(string(pattern)))
	}
	idp := startDevIDP(t)
	r := newRun(t)
	r.config(fmt.Sprintf("[providers.local]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\n", idp.Issuer(), devidp.DemoClientID))
	cwd := t.TempDir()

	// ulimit -c unlimited lets the kernel write a core; exec keeps the PID.
	cmd := exec.Command("/bin/sh", "-c", `ulimit -c unlimited && exec "$0" "$@"`, authcliBin, "login", "local", "--no-browser", "--timeout", "20s")
	cmd.Env = append(r.env, "GOTRACEBACK=crash")
	cmd.Dir = cwd
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waiting := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "/authorize?") {
				close(waiting)
				signalled = true
			}
		}
	}()
	select {
	case <-waiting:
	case <-time.After(20 * time.Second):
		t.Fatal("authcli never printed the sign-in URL")
	}
	pid := cmd.Process.Pid

	if !root {
		var st syscall.Stat_t
		if err := syscall.Stat(fmt.Sprintf("/proc/%d/environ", pid), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 0 {
			t.Errorf("/proc/%d/environ is owned by uid %d: the process is dumpable", pid, st.Uid)
		}
		return
	}
	if err := syscall.Kill(pid, syscall.SIGABRT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGABRT {
		t.Fatalf("authcli did not crash on SIGABRT: %v", err)
	}
	if ws.CoreDump() {
		t.Error("the kernel reports a core dump of authcli")
	}
	cores, _ := filepath.Glob(filepath.Join(cwd, strings.TrimSpace(string(pattern))+"*"))
	if len(cores) > 0 {
		t.Errorf("authcli left a core file with its memory: %v", cores)
	}
}
