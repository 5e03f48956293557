//go:build linux || darwin

package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/authcli/authcli/internal/agent"
	"github.com/authcli/authcli/internal/vault"
)

// startDetached starts the agent as its own session (setsid), no
// terminal, its log in agent.log next to the socket, and waits until it
// listens or says why it cannot. The vault secret travels over a pipe,
// never in the agent's argv or environment.
func startDetached(env *Env, opts *agentStartOptions, paths agentPaths) (int, error) {
	if err := agent.PrepareDir(filepath.Dir(paths.Sock)); err != nil {
		return 0, agentListenError(err)
	}
	var sec agent.Secret
	if env.Getenv(vault.EnvVault) == "file" {
		var err error
		if sec, err = vaultSecret(env, "Passphrase of the authcli file vault, for the agent: "); err != nil {
			return 0, err
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, &exitError{code: ExitFailure, err: err, msg: "cannot find the authcli executable to start the agent: " + sentence(err)}
	}
	args := []string{"agent", "start", "--foreground", "--socket", paths.Sock, "--secret-fd", "3", "--ready-fd", "4"}
	if opts.Lifetime > 0 {
		args = append(args, "--lifetime", opts.Lifetime.String())
	}
	if len(opts.ForwardAllow) > 0 {
		args = append(args, "--forward-allow", strings.Join(opts.ForwardAllow, ","))
	}
	if opts.Confirm {
		args = append(args, "--confirm")
	}
	if opts.ConfigPath != "" {
		abs, _ := filepath.Abs(opts.ConfigPath)
		args = append(args, "--config", abs)
	}
	logPath := filepath.Join(filepath.Dir(paths.Sock), "agent.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return 0, &exitError{code: ExitFailure, err: err, msg: "cannot open the agent's log: " + sentence(err)}
	}
	defer logFile.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	secretR, secretW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer secretR.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		secretW.Close()
		return 0, err
	}
	defer readyR.Close()

	cmd := exec.Command(exe, args...)
	cmd.Env = withoutAgent(vault.WithoutSecrets(os.Environ()))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logFile, logFile
	cmd.ExtraFiles = []*os.File{secretR, readyW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// The agent is not this process's child for long: it outlives us.
	cmd.Dir = "/"
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		secretW.Close()
		return 0, &exitError{code: ExitFailure, err: err, msg: "cannot start the agent: " + sentence(err)}
	}
	pid := cmd.Process.Pid
	b, _ := json.Marshal(sec)
	_, _ = secretW.Write(b)
	clear(b)
	secretW.Close()

	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(readyR).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	var got string
	select {
	case got = <-line:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		return 0, &exitError{code: ExitFailure, msg: "the agent did not start within 60s; see " + logPath}
	}
	if got == "ok locked" {
		fmt.Fprintln(env.Err, startedLocked)
		got = "ok"
	}
	if got != "ok" {
		_, _ = cmd.Process.Wait()
		msg := strings.TrimPrefix(got, "error: ")
		if msg == "" {
			msg = "the agent exited while starting; see " + logPath
		}
		return 0, &exitError{code: ExitFailure, msg: msg}
	}
	_ = cmd.Process.Release()
	return pid, nil
}

func withoutAgent(environ []string) []string {
	out := environ[:0:0]
	for _, kv := range environ {
		if !strings.HasPrefix(kv, agent.EnvSock+"=") && !strings.HasPrefix(kv, agent.EnvForwardSock+"=") && !strings.HasPrefix(kv, "AUTHCLI_AGENT_PID=") {
			out = append(out, kv)
		}
	}
	return out
}

// readPassphrase reads one line from the terminal with echo off.
func readPassphrase(env *Env, prompt string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", err
	}
	defer tty.Close()
	fd := int(tty.Fd())
	old, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return "", err
	}
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &noEcho); err != nil {
		return "", err
	}
	defer func() { _ = unix.IoctlSetTermios(fd, ioctlSetTermios, old) }()
	fmt.Fprint(env.Err, prompt)
	line, err := bufio.NewReader(tty).ReadString('\n')
	fmt.Fprintln(env.Err)
	if err != nil && line == "" {
		return "", err
	}
	p := strings.TrimRight(line, "\r\n")
	if p == "" {
		return "", errors.New("empty passphrase")
	}
	return p, nil
}
