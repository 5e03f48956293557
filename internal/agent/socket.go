package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

// Socket names inside the agent's directory.
const (
	SocketName        = "agent.sock"
	ForwardSocketName = "forward.sock"
)

// EnvSock points commands at the agent; EnvForwardSock is the socket to
// hand to ssh -R.
const (
	EnvSock        = "AUTHCLI_AGENT_SOCK"
	EnvForwardSock = "AUTHCLI_AGENT_FORWARD_SOCK"
)

// DefaultDir is where the agent's sockets live: $XDG_RUNTIME_DIR/authcli
// (a per-user tmpfs on systemd machines, removed at logout), else a
// directory named for the uid in the temporary directory, as ssh-agent
// does.
func DefaultDir(getenv func(string) string) string {
	if d := getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "authcli")
	}
	tmp := getenv("TMPDIR")
	if tmp == "" || !filepath.IsAbs(tmp) {
		tmp = "/tmp"
	}
	return filepath.Join(tmp, "authcli-"+strconv.Itoa(os.Getuid()))
}

// Supported says whether the agent can run on this system: it needs unix
// sockets whose peer credentials the kernel reports, which authcli reads
// on Linux and macOS. Windows (named pipes) is not done yet.
func Supported() error {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		return fmt.Errorf("%w: the authcli agent cannot run on %s yet", ErrUnsupported, runtime.GOOS)
	}
	return nil
}

// ErrUnsafeDir means the socket directory is not the user's own private
// directory.
var ErrUnsafeDir = errors.New("agent: unsafe socket directory")

// PrepareDir creates dir 0700 (its parent must exist) or checks the
// existing one: a real directory, not a symlink, owned by this user,
// with no access for anyone else. It never loosens or tightens modes
// the user chose: an unsafe directory is an error naming the fix.
func PrepareDir(dir string) error {
	if err := Supported(); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create the agent directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("check the agent directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory (a symlink?); remove it", ErrUnsafeDir, dir)
	}
	if err := checkOwner(fi, dir); err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: %s is accessible by other users (mode %04o); run chmod 700 %s", ErrUnsafeDir, dir, fi.Mode().Perm(), dir)
	}
	return nil
}

// Listen makes the unix socket at path, 0600. A stale socket (nothing
// answers) is replaced; a live one is an error, so two agents never
// fight over one path.
func Listen(path string) (*net.UnixListener, error) {
	if err := PrepareDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("%w: %s exists and is not a socket; remove it", ErrUnsafeDir, path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			_ = c.Close()
			return nil, fmt.Errorf("%w at %s", ErrRunning, path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove the stale agent socket: %w", err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	// The directory is 0700, so the moment between bind and chmod exposes
	// nothing; the mode is for anyone who loosens the directory later.
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("restrict the agent socket: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	return ln, nil
}

// ErrRunning means an agent already answers on the socket.
var ErrRunning = errors.New("agent: an agent is already running")
