package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/authcli/authcli/internal/credhelper/execcred"
	"github.com/authcli/authcli/internal/tokens"
)

// formatExecCredential is `token --format exec-credential`, the output
// kubectl's exec plugins read.
const formatExecCredential = "exec-credential"

// runTokenExecCredential prints an ExecCredential in the version
// $KUBERNETES_EXEC_INFO asks for. When kubectl says the plugin may be
// interactive and the identity needs a sign-in, it signs in first, with
// everything but the credential on stderr.
func runTokenExecCredential(ctx context.Context, env *Env, opts *tokenOptions) error {
	if opts.MinTTL < 0 {
		return usageErrorf("--min-ttl cannot be negative")
	}
	info, err := execcred.ParseInfo(env.Getenv(execcred.EnvVar), env.InTTY && env.ErrTTY)
	if err != nil {
		return usageErrorf("%s; run authcli token from a kubeconfig exec section that asks for %s or %s", sentence(err), execcred.V1, execcred.V1beta1)
	}
	want := tokens.Want{MinTTL: opts.MinTTL, IDToken: opts.IDToken}
	rec, err := freshToken(ctx, env, opts.globalOptions, opts.Provider, want)
	var ee *exitError
	if err != nil && info.Interactive && errors.As(err, &ee) && ee.code == ExitSignIn {
		name := opts.Provider
		if name == "" {
			name = "the default provider"
		}
		fmt.Fprintf(env.Err, "authcli: kubectl needs a token and %s needs a sign-in; signing in now.\n", name)
		quiet := *env
		quiet.Out = env.Err // stdout carries only the credential
		if err := signInAndSave(ctx, &quiet, opts.globalOptions, opts.Provider, ""); err != nil {
			return err
		}
		rec, err = freshToken(ctx, env, opts.globalOptions, opts.Provider, want)
	}
	if err != nil {
		return err
	}
	tok, err := tokenOf(rec, opts.Provider, opts.IDToken)
	if err != nil {
		return err
	}
	return execcred.Write(env.Out, info, tok)
}
