package cli

import (
	"context"
	"fmt"

	"github.com/authcli/authcli/internal/auth"
	"github.com/authcli/authcli/internal/credhelper/execcred"
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
	want := auth.Want{Provider: opts.Provider, Account: opts.Account, Subject: opts.Subject, MinTTL: opts.MinTTL, IDToken: opts.IDToken}
	rec, err := freshToken(ctx, env, opts.globalOptions, want)
	if err != nil && info.Interactive && exitCode(err) == ExitSignIn {
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
		rec, err = freshToken(ctx, env, opts.globalOptions, want)
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

func exitCode(err error) int {
	code, _ := describe(err)
	return code
}
