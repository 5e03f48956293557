package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/auth"
)

type logoutOptions struct {
	*globalOptions
	Provider string
	All      bool
}

func newLogoutCmd(env *Env, g *globalOptions) *cobra.Command {
	opts := &logoutOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "logout [PROVIDER] [--account NAME] [--all]",
		Short: "Revoke tokens at the provider and delete them locally",
		Long: `Revokes the tokens of one identity (PROVIDER), of every identity of an account
(--account NAME), or of everything (--all) at their providers, and deletes them
locally. The accounts and their links stay: sign in again with authcli login.`,
		Example: "  authcli logout github\n  authcli logout --account work\n  authcli logout --all",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Provider = args[0]
			}
			return runLogout(cmd.Context(), env, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "log out of every identity of every account")
	return cmd
}

func runLogout(ctx context.Context, env *Env, opts *logoutOptions) error {
	if opts.Provider == "" && opts.Account == "" && !opts.All {
		return usageErrorf("say what to log out of: authcli logout PROVIDER, --account NAME, or --all")
	}
	svc, err := newService(env, opts.globalOptions)
	if err != nil {
		return err
	}
	ids, err := svc.Logout(ctx, auth.Logout{Provider: opts.Provider, Account: opts.Account, All: opts.All})
	if len(ids) == 0 {
		if err == nil {
			fmt.Fprintln(env.Err, "Nothing to log out of.")
		}
		return err
	}
	for _, id := range ids {
		fmt.Fprintf(env.Err, "Logged out of %s (%s).\n", id.Provider, oneLine(orSubject(id)))
	}
	warnRevocation(env, err)
	return nil
}

func orSubject(id accounts.Identity) string {
	if id.Email != "" {
		return id.Email
	}
	return id.Subject
}
