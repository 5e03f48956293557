package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/agent"
	"github.com/authcli/authcli/internal/auth"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/termtext"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// serveAgent is the agent itself: it runs until stopped, a signal, or the
// end of ctx.
func serveAgent(ctx context.Context, env *Env, opts *agentStartOptions, paths agentPaths) (err error) {
	ready := func(string) {}
	if opts.ReadyFD > 0 {
		// The starting process waits on this pipe for "ok" or the reason
		// the agent could not start.
		w := os.NewFile(uintptr(opts.ReadyFD), "ready")
		var once sync.Once
		ready = func(line string) { once.Do(func() { _, _ = io.WriteString(w, line+"\n"); _ = w.Close() }) }
		defer func() {
			if err != nil {
				_, msg := describe(err)
				ready("error: " + msg)
			}
		}()
	}
	// Before any secret is in memory.
	memory := agent.Harden()

	sec, err := agentStartSecret(env, opts)
	if err != nil {
		return err
	}
	// Children of the agent (askpass) must not inherit the vault key.
	_ = os.Unsetenv(vault.EnvVaultKey)
	_ = os.Unsetenv(vault.EnvVaultPassphrase)

	dir, err := config.StateDir(env.Getenv)
	if err != nil {
		return &exitError{code: ExitUsage, msg: sentence(err), err: err}
	}
	kind := env.Getenv(vault.EnvVault)
	if kind == "" {
		kind = "keyring"
	}
	logf := agentLogger(env)
	open := func(s agent.Secret) (vault.Vault, error) {
		getenv := func(name string) string {
			switch name {
			case vault.EnvVaultKey:
				return s.VaultKey
			case vault.EnvVaultPassphrase:
				return s.Passphrase
			}
			return env.Getenv(name)
		}
		v, err := vault.Open(getenv, dir)
		if err != nil {
			return nil, err
		}
		// A wrong key fails here, not at the first token.
		if _, err := v.List(""); err != nil {
			return nil, err
		}
		return v, nil
	}
	v, err := open(sec)
	sec = agent.Secret{}
	switch {
	case errors.Is(err, vault.ErrNoKey):
		logf("started locked: the file vault needs its key or passphrase; run authcli agent unlock")
		v = nil
	case err != nil:
		return vaultError(err)
	}

	// The agent's own commands never go through an agent.
	inner := *env
	inner.Getenv = func(name string) string {
		if name == agent.EnvSock {
			return ""
		}
		return env.Getenv(name)
	}
	g := *opts.globalOptions
	g.Verbose = false // the agent logs outcomes, not each caller's diagnostics
	srv := agent.NewServer(agent.Config{
		Open: open,
		// The refresh runs here, in the agent: it outlives every caller,
		// so no detached worker is needed.
		Fresh: func(ctx context.Context, v vault.Vault, w agent.Want) (tokens.Record, error) {
			svc := &auth.Service{
				Config: func() (*config.File, error) { return g.loadConfig(&inner) },
				Store:  accounts.OpenStore(dir), Vault: v, StateDir: dir,
				HTTP: inner.HTTPClient, Now: inner.Now,
			}
			return svc.Fresh(ctx, auth.Want{Provider: w.Provider, Account: w.Account, Subject: w.Subject, MinTTL: w.MinTTL, IDToken: w.IDToken})
		},
		VaultKind:        kind,
		Lifetime:         opts.Lifetime,
		ForwardAllow:     opts.ForwardAllow,
		ConfirmForwarded: opts.Confirm,
		Confirm:          agentConfirmer(env),
		Describe:         describeForAgent,
		Logf:             logf,
		Now:              env.Now,
		Memory:           memory,
	}, v)

	ln, err := agent.Listen(paths.Sock)
	if err != nil {
		return agentListenError(err)
	}
	fl, err := agent.Listen(paths.Forward)
	if err != nil {
		_ = ln.Close()
		return agentListenError(err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln, false) }()
	go func() { errc <- srv.Serve(fl, true) }()
	logf("listening on %s (forwarding socket %s); %s", paths.Sock, paths.Forward, memory)
	switch {
	case opts.ReadyFD > 0 && v == nil:
		ready("ok locked")
	case opts.ReadyFD > 0:
		ready("ok")
	default:
		printAgentEnv(env.Out, opts, paths, os.Getpid())
		if v == nil {
			fmt.Fprintln(env.Err, startedLocked)
		}
	}
	var serveErr error
	select {
	case <-ctx.Done():
		logf("stopping: %s", context.Cause(ctx))
	case <-srv.Done():
	case serveErr = <-errc:
	}
	_ = srv.Close()
	logf("stopped")
	if serveErr != nil {
		return &exitError{code: ExitFailure, err: serveErr, msg: "the agent stopped serving: " + sentence(serveErr)}
	}
	return nil
}

const startedLocked = "authcli: the agent started locked (the file vault needs its key or passphrase); unlock it with: authcli agent unlock"

// agentStartSecret is the file vault's secret: from the starting process
// (background start), the environment, or the terminal.
func agentStartSecret(env *Env, opts *agentStartOptions) (agent.Secret, error) {
	if opts.SecretFD > 0 {
		f := os.NewFile(uintptr(opts.SecretFD), "secret")
		defer f.Close()
		var sec agent.Secret
		b, err := io.ReadAll(io.LimitReader(f, 64<<10))
		if err != nil {
			return agent.Secret{}, err
		}
		defer clear(b)
		if len(b) > 0 {
			if err := json.Unmarshal(b, &sec); err != nil {
				return agent.Secret{}, fmt.Errorf("read the vault secret from the starting process: %w", err)
			}
		}
		return sec, nil
	}
	if env.Getenv(vault.EnvVault) != "file" {
		return agent.Secret{}, nil
	}
	return vaultSecret(env, "Passphrase of the authcli file vault, for the agent: ")
}

// describeForAgent turns an error of the refresh into the agent's code and
// sentence, so the client exits as the command would have without the
// agent.
func describeForAgent(err error) (string, string) {
	var ee *exitError
	code := ""
	if errors.As(err, &ee) {
		switch ee.code {
		case ExitSignIn:
			code = agent.CodeSignIn
		case ExitUsage:
			code = agent.CodeUsage
		case ExitVault:
			code = agent.CodeVault
		default:
			code = agent.CodeFailed
		}
	}
	c, msg := describe(err)
	if code == "" {
		switch c {
		case ExitSignIn:
			code = agent.CodeSignIn
		case ExitUsage:
			code = agent.CodeUsage
		case ExitVault:
			code = agent.CodeVault
		}
		// vault.ErrNotFound and the like keep the agent's own code.
		if errors.Is(err, vault.ErrNotFound) {
			code = ""
		}
	}
	return code, msg
}

func agentListenError(err error) error {
	switch {
	case errors.Is(err, agent.ErrUnsupported):
		return &exitError{code: ExitFailure, err: err, msg: "the authcli agent cannot run on this operating system yet (it needs unix sockets with peer credentials: Linux or macOS); use the vault directly instead"}
	case errors.Is(err, agent.ErrRunning):
		return &exitError{code: ExitFailure, err: err, msg: strings.TrimPrefix(sentence(err), "agent: ") + "; stop it with authcli agent stop, or choose another --socket"}
	}
	return &exitError{code: ExitFailure, err: err, msg: "the agent cannot listen: " + strings.TrimPrefix(sentence(err), "agent: ")}
}

// agentLogger writes the agent's log lines to stderr (the journal under
// systemd, agent.log for a background agent), stamped.
func agentLogger(env *Env) func(string, ...any) {
	var mu sync.Mutex
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(env.Err, "%s authcli agent: %s\n", env.now().UTC().Format(time.RFC3339), termtext.Line(fmt.Sprintf(format, args...)))
	}
}

// agentConfirmer asks the agent's user about a forwarded request, like
// ssh-add -c: through $AUTHCLI_ASKPASS or $SSH_ASKPASS (exit 0 is yes;
// SSH_ASKPASS_PROMPT=confirm as OpenSSH sets it), else on the agent's
// terminal. Nil when neither exists: every such request is denied.
func agentConfirmer(env *Env) func(context.Context, string) (bool, error) {
	askpass := env.Getenv("AUTHCLI_ASKPASS")
	if askpass == "" {
		askpass = env.Getenv("SSH_ASKPASS")
	}
	if askpass != "" {
		return func(ctx context.Context, prompt string) (bool, error) {
			cmd := exec.CommandContext(ctx, askpass, prompt)
			cmd.Env = append(vault.WithoutSecrets(os.Environ()), "SSH_ASKPASS_PROMPT=confirm")
			err := cmd.Run()
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return false, nil
			}
			return err == nil, err
		}
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil
	}
	var mu sync.Mutex
	r := bufio.NewReader(tty)
	return func(ctx context.Context, prompt string) (bool, error) {
		mu.Lock() // one question on the terminal at a time
		defer mu.Unlock()
		fmt.Fprintf(tty, "%s [y/N] ", prompt)
		line, err := r.ReadString('\n')
		if err != nil {
			return false, err
		}
		a := strings.ToLower(strings.TrimSpace(line))
		return a == "y" || a == "yes", nil
	}
}
