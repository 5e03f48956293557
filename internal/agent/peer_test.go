//go:build linux

package agent

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const nobodyUID = 65534

// TestPeerHelper is the client TestOtherUserRefused runs as nobody; it does
// nothing in a normal test run.
func TestPeerHelper(t *testing.T) {
	path := os.Getenv("AGENT_PEER_HELPER_SOCK")
	if path == "" {
		t.Skip("helper process for TestOtherUserRefused")
	}
	_, err := (&Client{Path: path}).Status(context.Background())
	var ae *Error
	if errors.As(err, &ae) {
		os.Stdout.WriteString("code=" + ae.Code + "\n")
		return
	}
	os.Stdout.WriteString("err=" + errString(err) + "\n")
}

func errString(err error) string {
	if err == nil {
		return "none"
	}
	return err.Error()
}

// TestOtherUserRefused: a process of another user that reaches the socket
// (here through a directory and socket deliberately opened to everyone)
// is refused by its peer credentials, and the refusal is logged.
func TestOtherUserRefused(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI must run this test as root (it starts a client as nobody)")
		}
		t.Skip("needs root to run a client as another user (nobody)")
	}
	dir, err := os.MkdirTemp("", "agpeer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The test binary, where nobody can run it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "agent.test")
	copyFile(t, self, bin)

	sock := filepath.Join(dir, "open.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	logs := &logLines{}
	srv := NewServer(Config{Fresh: (&fakeIdP{}).fresh, Logf: logs.logf}, newMemVault())
	go srv.Serve(ln, false)
	t.Cleanup(func() { srv.Close() })

	run := func(cred *syscall.Credential) string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "-test.run=^TestPeerHelper$")
		cmd.Env = []string{"AGENT_PEER_HELPER_SOCK=" + sock, "PATH=/usr/bin:/bin"}
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper: %v\n%s", err, out)
		}
		return string(out)
	}
	if out := run(&syscall.Credential{Uid: nobodyUID, Gid: nobodyUID}); !strings.Contains(out, "code="+CodeForbidden) {
		t.Errorf("nobody was not refused:\n%s", out)
	}
	if !strings.Contains(logs.String(), "refused a connection from another user (uid 65534") {
		t.Errorf("no log line for the refusal:\n%s", logs)
	}
	// The same client as the agent's own user is served: the refusal is
	// about the user, not the helper.
	if out := run(nil); !strings.Contains(out, "err=none") {
		t.Errorf("the agent's own user was not served:\n%s", out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
