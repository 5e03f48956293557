package cli

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"time"

	"github.com/spf13/cobra"

	"github.com/authcli/authcli/internal/auth"
	"github.com/authcli/authcli/internal/vault"
)

type execOptions struct {
	*globalOptions
	Provider string
	Subject  string
	EnvVar   string
}

// isEnvName reports whether s is a portable environment variable name
// ([A-Za-z_][A-Za-z0-9_]*). A loop, not a package-level regexp: compiling
// one at start-up would cost every authcli process, `token` included.
func isEnvName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

func newExecCmd(env *Env, g *globalOptions) *cobra.Command {
	opts := &execOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "exec [--provider P] [--env VAR] -- COMMAND [ARG...]",
		Short: "Run a command with a fresh access token in its environment",
		Long: `Runs COMMAND with a fresh access token in the environment variable VAR
(default AUTHCLI_ACCESS_TOKEN), never in its arguments, and exits with the
command's exit code (128+N when a signal N ended it). SIGINT, SIGTERM,
SIGHUP and SIGQUIT sent to authcli are passed on to the command.`,
		Example: "  authcli exec --provider corp -- terraform plan\n  authcli exec --env GITHUB_TOKEN --provider github -- gh repo list",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExec(cmd.Context(), env, opts, args)
		},
	}
	cmd.Flags().StringVar(&opts.Provider, "provider", "", "provider whose token to use (default: default_provider)")
	cmd.Flags().StringVar(&opts.Subject, "subject", "", "subject of the identity, when the account has several of that provider")
	cmd.Flags().StringVar(&opts.EnvVar, "env", "AUTHCLI_ACCESS_TOKEN", "environment variable that receives the token")
	return cmd
}

func runExec(ctx context.Context, env *Env, opts *execOptions, args []string) error {
	if !isEnvName(opts.EnvVar) {
		return usageErrorf("--env %q is not a valid environment variable name", opts.EnvVar)
	}
	rec, err := freshToken(ctx, env, opts.globalOptions, auth.Want{Provider: opts.Provider, Account: opts.Account, Subject: opts.Subject, MinTTL: time.Minute})
	if err != nil {
		return err
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		return usageErrorf("cannot run %s: %s", args[0], sentence(err))
	}
	cmd := exec.Command(path, args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = env.In, env.Out, env.Err
	cmd.Env = append(vault.WithoutSecrets(os.Environ()), opts.EnvVar+"="+rec.AccessToken)
	// Caught before the start so that none arrives in between unforwarded:
	// `docker stop` and systemd end a service by signalling authcli, and
	// the command it runs must hear it.
	attach, stop := forwardSignals()
	err = cmd.Start()
	if err == nil {
		attach(cmd.Process)
		err = cmd.Wait()
	}
	stop()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		// The child's exit code is ours; it already said what went wrong.
		// A child killed by signal N exits 128+N, as shells report it.
		code := ee.ExitCode()
		if n, ok := killedBy(ee.ProcessState); ok {
			code = 128 + n
		}
		return &exitError{code: code, err: err}
	}
	if err != nil {
		return &exitError{code: ExitFailure, err: err, msg: "cannot run " + args[0] + ": " + sentence(err)}
	}
	return nil
}
