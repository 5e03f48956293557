// Package cli holds authcli's commands: one file per command, each with an
// Options struct filled by flags and a run function that takes it. Process
// state (streams, environment, clock, HTTP client, browser opener) comes in
// through Env so tests drive commands without a real terminal or network.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/provider"
)

// Env is the world a command runs in.
type Env struct {
	In            io.Reader
	Out, Err      io.Writer
	InTTY, ErrTTY bool
	OutTTY        bool
	Getenv        func(string) string
	Now           func() time.Time
	HTTPClient    *http.Client // nil: flow.NewHTTPClient
	Open          flow.Opener  // nil: flow.SystemOpener
	Build         BuildInfo
	// Detach runs refreshes in a process of their own session, which no
	// signal to this one can interrupt (OSEnv, where the OS allows).
	Detach bool
	// args are Run's arguments: the lean authcli hands them to its
	// companion (companion.go).
	args []string
	// signals, when set, receives the terminating signal a command got
	// once it watches for them (watchSignals); nil: no signal handling.
	signals *interrupts
}

// BuildInfo is stamped into the binary at release time.
type BuildInfo struct{ Version, Commit, Date string }

// OSEnv is the real process environment.
func OSEnv(build BuildInfo) *Env {
	return &Env{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		InTTY: isTerminal(os.Stdin), OutTTY: isTerminal(os.Stdout), ErrTTY: isTerminal(os.Stderr),
		Getenv: os.Getenv, Now: time.Now, Build: build,
		Detach: canDetach, signals: &interrupts{},
	}
}

// isTerminal is a cheap character-device check: no terminal probing at
// start-up, which `authcli token` cannot afford.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// globalOptions are the options commands share (docs/CLI.md "Common
// flags"). Only --config and -v are flags of every command; each other
// field is filled by the flag of the same name on the commands that use it
// (sharedFlags), so a command's help lists only what it takes.
type globalOptions struct {
	ConfigPath string
	Account    string
	NoBrowser  bool
	Timeout    time.Duration
	Port       int
	Scopes     []string
	Yes        bool
	Verbose    bool
	Device     bool // login, link, demo: --device
}

// Run executes authcli with args (without the program name) and returns
// the process exit code. Errors are printed here, once, as one sentence.
func Run(ctx context.Context, env *Env, args []string) int {
	return run(ctx, env, args, namedCommand(args))
}

// run is Run with the tree newRoot builds for only.
func run(ctx context.Context, env *Env, args []string, only string) int {
	env.args = args
	root := newRoot(env, only)
	started := false
	// Cobra reports unknown commands and wrong argument counts before any
	// command runs: those are usage errors.
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) {
		started = true
		// The hot commands watch for signals only once they leave their
		// cached path (auth.Service.SlowPath); every other command has an
		// interactive flow or a change to finish, and watches throughout.
		if !leanCommands[cmd.Name()] {
			cmd.SetContext(env.watchSignals(cmd.Context()))
		}
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	if sig := env.signals.received(); sig != 0 {
		err = interruptedError(sig, err)
	}
	if !started {
		var ee *exitError
		if !errors.As(err, &ee) {
			hint := "see authcli --help"
			if cmd != nil && cmd != root {
				hint = "usage: " + cmd.UseLine()
			}
			err = usageErrorf("%s; %s", sentence(err), hint)
		}
	}
	code, msg := describe(err)
	if msg == "" {
		return code // exec: the child already spoke
	}
	if !strings.HasSuffix(msg, "?") {
		msg += "." // "did you mean X?" already ends the sentence
	}
	fmt.Fprintf(env.Err, "authcli: %s\n", msg)
	if g := globalsOf(root); g != nil && g.Verbose {
		if inner := errors.Unwrap(err); inner != nil && inner.Error() != msg {
			fmt.Fprintf(env.Err, "authcli: detail: %s\n", sentence(inner))
		}
	}
	return code
}

// leanCommands are the commands on scripts' hot path.
var leanCommands = map[string]bool{"token": true, "exec": true, refreshWorkerCmd: true}

// interruptedError is what a command stopped by a signal reports: exit
// 128+N, as a shell reports a process killed by signal N.
func interruptedError(sig syscall.Signal, err error) error {
	msg := fmt.Sprintf("interrupted by %s", signalName(sig))
	switch {
	case errors.Is(err, flow.ErrCanceled) || errors.Is(err, flow.ErrTimeout):
		msg += "; the sign-in was canceled and nothing was stored"
	default:
		msg += "; a refresh already under way still completes and is stored"
	}
	return &exitError{code: 128 + int(sig), msg: msg, err: err}
}

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "Ctrl-C (SIGINT)"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return sig.String()
}

// Command is authcli's command tree, for tools that document it
// (scripts/gendocs); Run is what executes it.
func Command(env *Env) *cobra.Command { return newRoot(env, "") }

// subcommands are authcli's commands in the order help lists them, each
// with the name its Use line gives it (TestSubcommandNames), so that Run
// can build one without building the others.
var subcommands = []struct {
	name string
	new  func(*Env, *globalOptions) *cobra.Command
}{
	{"login", newLoginCmd},
	{"link", newLinkCmd},
	{"unlink", newUnlinkCmd},
	{"status", newStatusCmd},
	{"logout", newLogoutCmd},
	{"token", newTokenCmd},
	{"exec", newExecCmd},
	{"demo", newDemoCmd},
	{"providers", newProvidersCmd},
	{"version", func(env *Env, _ *globalOptions) *cobra.Command { return newVersionCmd(env) }},
	{"accounts", newAccountsCmd},
	{refreshWorkerCmd, newRefreshWorkerCmd},
	{"git-credential", newGitCredentialCmd},
	{"setup-git", newSetupGitCmd},
	{"setup-kubectl", newSetupKubectlCmd},
	{"setup-docker", newSetupDockerCmd},
	{"agent", newAgentCmd},
}

// namedCommand is the subcommand args begin with, exactly, or "". Such a
// command line can only ever reach that command and its own subcommands:
// cobra finds it by its first word, parses its flags with its own and the
// root's persistent flags, and consults no sibling (unknown-command
// suggestions are the root's, and only for a first word that is not a
// command). Building the other 16 commands and their flags is then a
// fifth of what `authcli token` does after start-up, and about 40 page
// faults, on every script's hot path (issue 18); TestNamedCommandAgrees
// holds the two trees to the same answers.
func namedCommand(args []string) string {
	if len(args) == 0 {
		return ""
	}
	for _, c := range subcommands {
		if c.name == args[0] {
			return c.name
		}
	}
	return ""
}

// newRoot builds the command tree: every command, or with only set just
// that one (namedCommand).
func newRoot(env *Env, only string) *cobra.Command {
	// Defaults for commands that do not take the flag: bare authcli opens
	// the accounts screen, which signs in with them.
	g := &globalOptions{Timeout: defaultTimeout}
	var showVersion bool
	root := &cobra.Command{
		Use:   "authcli",
		Short: "Sign in to OAuth 2.0 and OpenID Connect providers from the terminal",
		Long: `authcli signs you in to OAuth 2.0 / OpenID Connect providers from the terminal
(browser sign-in with PKCE on a loopback redirect), keeps the tokens safe, and
prints fresh access tokens for scripts.

Try it offline first: authcli demo`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          unknownCommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if showVersion {
				printVersion(env)
				return nil
			}
			if env.InTTY && env.OutTTY {
				return runAccounts(cmd.Context(), env, g)
			}
			return cmd.Help()
		},
	}
	root.SetOut(env.Out)
	root.SetErr(env.Err)
	root.SetIn(env.In)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// The help that lists the flag is the command's own.
		return usageErrorf("%s%s; see %s --help", sentence(err), flagHint(c, err), c.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.ConfigPath, "config", "", "config file (default $AUTHCLI_CONFIG or $XDG_CONFIG_HOME/authcli/config.toml)")
	pf.BoolVarP(&g.Verbose, "verbose", "v", false, "diagnostics on stderr (tokens are always redacted)")
	root.Flags().BoolVar(&showVersion, "version", false, "print the version, commit and build date (as authcli version)")
	root.CompletionOptions.HiddenDefaultCmd = false

	for _, c := range subcommands {
		if only == "" || c.name == only {
			root.AddCommand(c.new(env, g))
		}
	}
	for _, c := range root.Commands() {
		addSharedFlags(c, g, sharedFlags[c.Name()])
	}
	strictCompletion(root)
	return root
}

const defaultTimeout = 5 * time.Minute

// sharedFlags says which of the shared flags each command takes: the
// sign-in flags go to the commands that sign in, --account to those that
// pick or name an account.
var sharedFlags = map[string][]string{
	"login":    {"account", "no-browser", "timeout", "port", "scopes", "yes"},
	"link":     {"account", "no-browser", "timeout", "port", "scopes", "yes"},
	"accounts": {"no-browser", "timeout", "port", "scopes", "yes"},
	"demo":     {"no-browser", "timeout", "port", "scopes"},
	"unlink":   {"account"},
	"logout":   {"account"},
	"token":    {"account"},
	"exec":     {"account"},
	// The credential helpers and what sets them up: the account whose
	// identity a route uses.
	"git-credential": {"account"},
	"setup-git":      {"account"},
	"setup-docker":   {"account"},
	"setup-kubectl":  {"account"},
}

func addSharedFlags(c *cobra.Command, g *globalOptions, names []string) {
	f := c.Flags()
	for _, name := range names {
		switch name {
		case "account":
			f.StringVar(&g.Account, "account", "", "local account to use")
		case "no-browser":
			f.BoolVar(&g.NoBrowser, "no-browser", false, "print the sign-in URL instead of opening a browser")
		case "timeout":
			f.DurationVar(&g.Timeout, "timeout", defaultTimeout, "time allowed for the whole interactive sign-in")
		case "port":
			f.IntVar(&g.Port, "port", 0, "fixed loopback port for the redirect (default: the provider's redirect_port, else any free port)")
		case "scopes":
			f.StringSliceVar(&g.Scopes, "scopes", nil, "scopes to request, comma-separated (default: the provider's)")
		case "yes":
			f.BoolVar(&g.Yes, "yes", false, "confirm linking a new identity without asking")
		default:
			panic("cli: unknown shared flag " + name)
		}
	}
}

// unknownCommand refuses arguments to bare authcli: they can only be a
// mistyped command, so it says which command was probably meant.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q", args[0])
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	if s := config.Suggest(args[0], names); s != "" {
		msg += " (did you mean " + s + "?)"
	}
	return usageErrorf("%s; see %s --help", msg, cmd.CommandPath())
}

// flagHint is " (did you mean --json?)" for an unknown flag close to one
// the command takes.
func flagHint(c *cobra.Command, err error) string {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return ""
	}
	var names []string
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	if s := config.Suggest(name, names); s != "" {
		return " (did you mean --" + s + "?)"
	}
	return ""
}

// strictCompletion makes `authcli completion` without a shell it knows a
// usage error (exit 2), not a help page that exits 0: a script that writes
// the output to a file must not get help text instead of a completion.
func strictCompletion(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	c, _, err := root.Find([]string{"completion"})
	if err != nil || c == root {
		return
	}
	var shells []string
	for _, s := range c.Commands() {
		shells = append(shells, s.Name())
	}
	known := strings.Join(shells, ", ")
	c.Args = func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageErrorf("completion has no script for %q; choose one of %s (authcli completion bash)", args[0], known)
		}
		return nil
	}
	c.RunE = func(*cobra.Command, []string) error {
		return usageErrorf("completion needs a shell: one of %s (authcli completion bash)", known)
	}
}

// globalsOf recovers the shared options after execution, for --verbose
// error details.
func globalsOf(root *cobra.Command) *globalOptions {
	f := root.PersistentFlags().Lookup("verbose")
	if f == nil || f.Value.String() != "true" {
		return nil
	}
	return &globalOptions{Verbose: true}
}

func (g *globalOptions) validate() error {
	if g.Timeout <= 0 {
		return usageErrorf("--timeout must be positive, like 5m or 90s")
	}
	if g.Port < 0 || g.Port > 65535 {
		return usageErrorf("--port must be between 0 and 65535")
	}
	return nil
}

// logf returns a -v logger, or nil when not verbose. Callers never pass it
// a token: what they log are endpoints, ports and outcomes.
func (g *globalOptions) logf(env *Env) func(string, ...any) {
	if !g.Verbose {
		return nil
	}
	return func(format string, args ...any) {
		fmt.Fprintf(env.Err, "authcli: debug: "+format+"\n", args...)
	}
}

// loadConfig reads the config named by --config, $AUTHCLI_CONFIG or the
// XDG default.
func (g *globalOptions) loadConfig(env *Env) (*config.File, error) {
	path := g.ConfigPath
	if path == "" {
		p, err := config.DefaultPath(env.Getenv)
		if err != nil {
			return nil, &exitError{code: ExitUsage, msg: sentence(err), err: err}
		}
		path = p
	}
	return config.Load(path, env.Getenv, provider.Kinds())
}

func (env *Env) httpClient() *http.Client {
	if env.HTTPClient != nil {
		return env.HTTPClient
	}
	return flow.NewHTTPClient(0)
}

func (env *Env) opener() flow.Opener {
	if env.Open != nil {
		return env.Open
	}
	return flow.SystemOpener(env.Getenv, env.Err)
}

func (env *Env) now() time.Time {
	if env.Now != nil {
		return env.Now()
	}
	return time.Now()
}
