package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/authcli/authcli/internal/agent"
	"github.com/authcli/authcli/internal/termtext"
	"github.com/authcli/authcli/internal/vault"
)

type agentStartOptions struct {
	*globalOptions
	Foreground   bool
	Lifetime     time.Duration
	ForwardAllow []string
	Confirm      bool
	Csh, Fish    bool
	Socket       string
	// The detached agent's side of a background start (hidden flags):
	// where it reads the vault secret and reports that it is ready.
	SecretFD, ReadyFD int
}

func newAgentCmd(env *Env, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the per-user agent: unlock the vault once, refresh in one place, forward over SSH",
		Long: `The agent opens the vault once and keeps it in memory (for --lifetime), then
serves tokens to every authcli command that has AUTHCLI_AGENT_SOCK set: they
need no vault key of their own, and the agent runs every refresh itself, one
at a time per identity, ahead of expiry for identities in use.

  eval "$(authcli agent start)"       # like eval "$(ssh-agent -s)"
  authcli token github                # through the agent
  ssh -R /tmp/authcli-$USER.sock:$AUTHCLI_AGENT_FORWARD_SOCK host
  # on host: AUTHCLI_AGENT_SOCK=/tmp/authcli-$USER.sock authcli token github`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newAgentStartCmd(env, g), newAgentStopCmd(env), newAgentStatusCmd(env),
		newAgentLockCmd(env), newAgentUnlockCmd(env))
	return cmd
}

func newAgentStartCmd(env *Env, g *globalOptions) *cobra.Command {
	opts := &agentStartOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "start [--foreground] [--lifetime D] [--forward-allow P,...] [--confirm] [--csh|--fish]",
		Short: "Start the agent and print the shell commands that point authcli at it",
		Long: `Starts the agent in the background (or with --foreground, in this process:
for systemd and tests) and prints the shell commands that set
AUTHCLI_AGENT_SOCK, like ssh-agent -s; run it as eval "$(authcli agent start)".

The agent opens the vault AUTHCLI_VAULT selects. The file vault's key or
passphrase comes from AUTHCLI_VAULT_KEY or AUTHCLI_VAULT_PASSPHRASE in the
environment of this command only, or is asked on the terminal; without
either the agent starts locked until authcli agent unlock.

Forwarded connections (ssh -R of $AUTHCLI_AGENT_FORWARD_SOCK, or of
$AUTHCLI_AGENT_SOCK on Linux) only get tokens: of the --forward-allow
providers when given, each confirmed first with --confirm (through
$AUTHCLI_ASKPASS or $SSH_ASKPASS, else the agent's terminal), and each
logged.`,
		Example: "  eval \"$(authcli agent start --lifetime 8h)\"\n  authcli agent start --foreground --forward-allow github,corp --confirm",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgentStart(cmd.Context(), env, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.Foreground, "foreground", false, "run in this process until stopped (systemd, tests)")
	f.DurationVar(&opts.Lifetime, "lifetime", 0, "lock and forget the vault this long after unlocking (default: until stopped)")
	f.StringSliceVar(&opts.ForwardAllow, "forward-allow", nil, "providers whose tokens forwarded connections may get (default: all)")
	f.BoolVar(&opts.Confirm, "confirm", false, "confirm each forwarded request on the agent's side, like ssh-add -c")
	f.BoolVar(&opts.Csh, "csh", false, "print csh commands")
	f.BoolVar(&opts.Fish, "fish", false, "print fish commands")
	f.StringVar(&opts.Socket, "socket", "", "socket path (default $XDG_RUNTIME_DIR/authcli/agent.sock)")
	f.IntVar(&opts.SecretFD, "secret-fd", 0, "")
	f.IntVar(&opts.ReadyFD, "ready-fd", 0, "")
	_ = f.MarkHidden("secret-fd")
	_ = f.MarkHidden("ready-fd")
	return cmd
}

// agentPaths are the agent's sockets.
type agentPaths struct{ Sock, Forward string }

func agentPathsFor(env *Env, socket string) (agentPaths, error) {
	if socket == "" {
		socket = filepath.Join(agent.DefaultDir(env.Getenv), agent.SocketName)
	}
	abs, err := filepath.Abs(socket)
	if err != nil {
		return agentPaths{}, usageErrorf("--socket %q: %s", socket, sentence(err))
	}
	fwd := filepath.Join(filepath.Dir(abs), agent.ForwardSocketName)
	if filepath.Base(abs) != agent.SocketName {
		fwd = strings.TrimSuffix(abs, ".sock") + "-forward.sock"
	}
	// sockaddr_un holds 108 bytes on Linux, 104 on macOS.
	if len(fwd) > 100 {
		return agentPaths{}, usageErrorf("the socket path %s is too long for a unix socket; choose a shorter one with --socket", fwd)
	}
	return agentPaths{Sock: abs, Forward: fwd}, nil
}

func runAgentStart(ctx context.Context, env *Env, opts *agentStartOptions) error {
	if opts.Lifetime < 0 {
		return usageErrorf("--lifetime cannot be negative")
	}
	if opts.Csh && opts.Fish {
		return usageErrorf("choose one of --csh and --fish")
	}
	for _, p := range opts.ForwardAllow {
		if p == "" {
			return usageErrorf("--forward-allow has an empty provider name")
		}
	}
	if err := agent.Supported(); err != nil {
		return agentListenError(err)
	}
	paths, err := agentPathsFor(env, opts.Socket)
	if err != nil {
		return err
	}
	if opts.Foreground || opts.SecretFD > 0 {
		return serveAgent(ctx, env, opts, paths)
	}
	pid, err := startDetached(env, opts, paths)
	if err != nil {
		return err
	}
	printAgentEnv(env.Out, opts, paths, pid)
	return nil
}

// printAgentEnv writes what ssh-agent -s writes, for eval.
func printAgentEnv(w io.Writer, opts *agentStartOptions, p agentPaths, pid int) {
	set := func(name, value string) string {
		switch {
		case opts.Csh:
			return fmt.Sprintf("setenv %s %s;\n", name, shellQuote(value))
		case opts.Fish:
			return fmt.Sprintf("set -gx %s %s;\n", name, shellQuote(value))
		}
		return fmt.Sprintf("%s=%s; export %s;\n", name, shellQuote(value), name)
	}
	fmt.Fprint(w, set(agent.EnvSock, p.Sock)+set(agent.EnvForwardSock, p.Forward)+
		set("AUTHCLI_AGENT_PID", fmt.Sprint(pid))+fmt.Sprintf("echo Agent pid %d;\n", pid))
}

// agentAt is the agent the stop, status, lock and unlock commands talk
// to: $AUTHCLI_AGENT_SOCK, else the default socket.
func agentAt(env *Env) *agent.Client {
	if c := agentClient(env); c != nil {
		return c
	}
	return &agent.Client{Path: filepath.Join(agent.DefaultDir(env.Getenv), agent.SocketName)}
}

func newAgentStopCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "stop",
		Short: "Stop the agent (prints the shell commands that unset its variables)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := agentAt(env)
			st, err := c.Status(cmd.Context())
			if err != nil {
				return agentCmdError(err)
			}
			if err := c.Stop(cmd.Context()); err != nil {
				return agentCmdError(err)
			}
			// Stopped means the socket is gone: wait for it, bounded.
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if _, err := c.Status(cmd.Context()); err != nil {
					break
				}
			}
			fmt.Fprintf(env.Out, "unset %s; unset %s; unset AUTHCLI_AGENT_PID;\necho Agent pid %d stopped;\n", agent.EnvSock, agent.EnvForwardSock, st.PID)
			return nil
		},
	}
}

func newAgentStatusCmd(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "What the agent holds and for how long (never a secret)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := agentAt(env).Status(cmd.Context())
			if err != nil {
				return agentCmdError(err)
			}
			if asJSON {
				enc := json.NewEncoder(env.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			printAgentStatus(env.Out, st, env.now())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printAgentStatus(w io.Writer, st agent.Status, now time.Time) {
	since := func(t time.Time) string { return now.Sub(t).Round(time.Second).String() }
	fmt.Fprintf(w, "Agent pid %d, running for %s (since %s).\n", st.PID, since(st.Started), st.Started.Format(time.RFC3339))
	switch {
	case st.Locked:
		fmt.Fprintf(w, "Vault: %s, locked; unlock it with: authcli agent unlock\n", orDash(st.Vault))
	case st.LocksAt.IsZero():
		fmt.Fprintf(w, "Vault: %s, unlocked for %s, until the agent stops.\n", orDash(st.Vault), since(st.UnlockedAt))
	default:
		fmt.Fprintf(w, "Vault: %s, unlocked for %s, locks in %s (at %s).\n", orDash(st.Vault), since(st.UnlockedAt),
			st.LocksAt.Sub(now).Round(time.Second), st.LocksAt.Format(time.RFC3339))
	}
	fwd := "tokens of every provider"
	if len(st.Forward) > 0 {
		fwd = "tokens of " + termtext.Line(strings.Join(st.Forward, ", ")) + " only"
	}
	if st.Confirm {
		fwd += ", each request confirmed"
	}
	fmt.Fprintf(w, "Forwarded connections: %s.\n", fwd)
	fmt.Fprintf(w, "Memory: %s.\n", st.Memory)
	fmt.Fprintf(w, "Refreshes run: %d.\n", st.Refreshes)
	if st.Forwarded {
		fmt.Fprintln(w, "This connection is forwarded: the identities in use are not shown.")
		return
	}
	if len(st.Identities) == 0 {
		fmt.Fprintln(w, "No identity used yet.")
		return
	}
	fmt.Fprintln(w, "Identities in use:")
	for _, u := range st.Identities {
		line := "  " + termtext.Line(orDash(u.Provider))
		if u.Account != "" {
			line += " (account " + termtext.Line(u.Account) + ")"
		}
		if u.IDToken {
			line += ", ID token"
		}
		line += ", last used " + since(u.LastUsed) + " ago"
		if !u.Expiry.IsZero() {
			line += ", token expires in " + u.Expiry.Sub(now).Round(time.Second).String()
		}
		if !u.Ahead.IsZero() {
			line += ", refreshed ahead in " + u.Ahead.Sub(now).Round(time.Second).String()
		}
		fmt.Fprintln(w, line)
	}
}

func orDash(s string) string {
	if s == "" {
		return "default"
	}
	return s
}

func newAgentLockCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "lock",
		Short: "Make the agent forget the vault until authcli agent unlock",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := agentAt(env).Lock(cmd.Context()); err != nil {
				return agentCmdError(err)
			}
			fmt.Fprintln(env.Err, "The agent is locked; unlock it with: authcli agent unlock")
			return nil
		},
	}
}

func newAgentUnlockCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "unlock",
		Short: "Give the agent the vault again (asks for the file vault's passphrase)",
		Long: `Has a locked agent open the vault again. For the file vault the key or
passphrase comes from AUTHCLI_VAULT_KEY or AUTHCLI_VAULT_PASSPHRASE, else it
is asked on the terminal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := agentAt(env)
			st, err := c.Status(cmd.Context())
			if err != nil {
				return agentCmdError(err)
			}
			if !st.Locked {
				fmt.Fprintln(env.Err, "The agent is already unlocked.")
				return nil
			}
			var sec agent.Secret
			if st.Vault == "file" {
				if sec, err = vaultSecret(env, "Passphrase of the authcli file vault: "); err != nil {
					return err
				}
				if sec == (agent.Secret{}) {
					return &exitError{code: ExitVault, msg: "the file vault needs its key or passphrase: set AUTHCLI_VAULT_KEY or AUTHCLI_VAULT_PASSPHRASE, or run authcli agent unlock on a terminal"}
				}
			}
			if err := c.Unlock(cmd.Context(), sec); err != nil {
				return agentCmdError(err)
			}
			fmt.Fprintln(env.Err, "The agent is unlocked.")
			return nil
		},
	}
}

// vaultSecret is the file vault's key or passphrase from the environment,
// else asked on the terminal (without echo); zero when neither is there.
func vaultSecret(env *Env, prompt string) (agent.Secret, error) {
	sec := agent.Secret{VaultKey: strings.TrimSpace(env.Getenv(vault.EnvVaultKey)), Passphrase: env.Getenv(vault.EnvVaultPassphrase)}
	if sec != (agent.Secret{}) {
		return sec, nil
	}
	if !env.InTTY || !env.ErrTTY {
		return agent.Secret{}, nil
	}
	p, err := readPassphrase(env, prompt)
	if err != nil {
		return agent.Secret{}, &exitError{code: ExitVault, err: err, msg: "cannot read the passphrase from the terminal: " + sentence(err)}
	}
	return agent.Secret{Passphrase: p}, nil
}

// agentCmdError is agentError for the agent commands themselves.
func agentCmdError(err error) error {
	if e := agentError(err); e != nil {
		return e
	}
	return &exitError{code: ExitFailure, err: err, msg: "the authcli agent failed: " + sentence(err)}
}
